// @vitest-environment node
/**
 * Issue 13, "Data must never be lost or hidden", through the REST handlers with real Postgres and real storage
 * (S3 when S3_ENDPOINT is set):
 * - item 6: the rows of an import that have errors are kept with the version, can be listed with their line and
 *   problems, fixed in place or deleted; an edit keeps every row it was not told to delete (it used to make a new
 *   version from the valid rows only, silently dropping the rest) and says what it did;
 * - item 7: the version diff is paged and lists, for a changed row, only the fields that changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropTestStorage,
  startHousekeeping,
  stopHousekeeping,
  uploadAndImport,
  useTestStorage,
} from './datasets-helpers';
import { addMember, call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

const SLUG = 'ds-invalid';
const V = '/api/workspaces/[slug]/datasets/[datasetId]/versions/[versionId]';

let owner: TCaller;
let viewer: TCaller & { email: string };

beforeAll(async () => {
  useTestStorage();
  await startTestDatabase();
  await startHousekeeping();
  owner = await signUp('inv-owner');
  viewer = await signUp('inv-viewer');
  await makeWorkspace(owner, SLUG);
  await addMember(owner, SLUG, viewer, 'viewer');
}, 120_000);

afterAll(async () => {
  await stopHousekeeping();
  await stopTestDatabase();
  await dropTestStorage();
});

const chat = (q: string, a: string) => ({
  messages: [
    { role: 'user', content: q },
    { role: 'assistant', content: a },
  ],
});

// Line 1 valid, 2 broken JSON, 3 unknown role, 4 no assistant reply, 5 valid.
const FILE = [
  JSON.stringify(chat('hi', 'hello')),
  '{"messages":[{"role":"user","content":"hi"',
  JSON.stringify({
    messages: [
      { role: 'robot', content: 'x' },
      { role: 'assistant', content: 'y' },
    ],
  }),
  JSON.stringify({ messages: [{ role: 'user', content: 'only a question' }] }),
  JSON.stringify(chat('bye', 'goodbye')),
].join('\n');

type TInvalid = {
  index: number;
  line: number;
  before: number;
  text: string | null;
  problems: { code: string; field?: string; message: string; severity: string }[];
};

async function invalidOf(datasetId: string, versionId: string, caller = viewer) {
  const res = await call('GET', `${V}/invalid-rows`, { caller, params: { slug: SLUG, datasetId, versionId } });
  expect(res.status).toBe(200);
  return res.body as { total: number; data: TInvalid[]; unavailable?: string };
}

async function rowsOf(datasetId: string, versionId: string) {
  const res = await call('GET', `${V}/rows`, { caller: viewer, params: { slug: SLUG, datasetId, versionId } });
  expect(res.status).toBe(200);
  return (res.body.data as { row: { messages: { content: string }[] } }[]).map((r) => r.row);
}

describe('rows with errors are kept, shown, fixed and deleted — never dropped silently', () => {
  let datasetId: string;
  let v1: { id: string; number: number; rowCount: number; errorCount: number };

  it('lists the invalid rows of an import with their line, text and the problem naming the field and the fix', async () => {
    const res = await uploadAndImport(owner, SLUG, 'broken.jsonl', FILE);
    expect(res.status).toBe(201);
    datasetId = res.datasetId;
    v1 = res.body.version;
    expect(v1.rowCount).toBe(2);
    const inv = await invalidOf(datasetId, v1.id);
    expect(inv.total).toBe(3);
    expect(inv.data.map((r) => [r.index, r.line, r.before])).toEqual([
      [0, 2, 1],
      [1, 3, 1],
      [2, 4, 1],
    ]);
    expect(inv.data[0].text).toBe('{"messages":[{"role":"user","content":"hi"');
    expect(inv.data[0].problems[0].code).toBe('invalid_json');
    const role = inv.data[1].problems[0];
    expect(role).toMatchObject({ code: 'unrecognized_role', severity: 'error' });
    expect(role.field).toContain('messages[0]');
    expect(role.message).toContain('Fix the role');
    expect(JSON.parse(inv.data[2].text ?? '')).toEqual({ messages: [{ role: 'user', content: 'only a question' }] });
  });

  it('keeps every invalid row when a row is added (it used to drop them and report no errors)', async () => {
    const res = await call('POST', `${V}/edits`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: v1.id },
      body: { add: [chat('new', 'row')] },
    });
    expect(res.status).toBe(201);
    expect(res.body.rowCount).toBe(3);
    expect(res.body.errorCount).toBe(v1.errorCount);
    expect(res.body.edit).toEqual({
      updated: 0,
      deleted: 0,
      added: 1,
      fixed: 0,
      invalidDeleted: 0,
      invalidKept: 3,
      dropped: 0,
    });
    const inv = await invalidOf(datasetId, res.body.id);
    expect(inv.data.map((r) => [r.line, r.problems[0].code])).toEqual([
      [2, 'invalid_json'],
      [3, 'unrecognized_role'],
      [4, 'example_missing_assistant_message'],
    ]);
    const pub = await call('POST', `${V}/publish`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: res.body.id },
    });
    expect(pub.status).toBe(409);
    expect(pub.body.error.message).toContain('3 row(s)');
  });

  it('fixes one invalid row in place, deletes another, keeps the third and says so', async () => {
    const fixed = {
      messages: [
        { role: 'user', content: 'only a question' },
        { role: 'assistant', content: 'now with an answer' },
      ],
    };
    const res = await call('POST', `${V}/edits`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: v1.id },
      body: { fixInvalid: [{ index: 2, row: fixed }], deleteInvalid: [0] },
    });
    expect(res.status).toBe(201);
    expect(res.body.edit).toMatchObject({ fixed: 1, invalidDeleted: 1, invalidKept: 1 });
    expect(res.body.rowCount).toBe(3);
    // The fixed row is back where it was in the file: after line 1's row, before line 5's.
    const rows = await rowsOf(datasetId, res.body.id);
    expect(rows.map((r) => r.messages[0].content)).toEqual(['hi', 'only a question', 'bye']);
    expect(rows[1]).toEqual(fixed);
    const inv = await invalidOf(datasetId, res.body.id);
    expect(inv.total).toBe(1);
    expect(inv.data[0]).toMatchObject({ index: 0, line: 3, before: 1 });
    expect(res.body.errorCount).toBe(1);
    expect(res.body.validationReport.problems.map((p: { code: string }) => p.code)).toEqual(['unrecognized_role']);

    // The last one fixed in its own (alpaca) format: a version with no rows with errors, which publishes.
    const clean = await call('POST', `${V}/edits`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: res.body.id },
      body: { fixInvalid: [{ index: 0, row: { instruction: 'x', output: 'y' } }] },
    });
    expect(clean.status).toBe(201);
    expect(clean.body).toMatchObject({ rowCount: 4, errorCount: 0 });
    expect((await invalidOf(datasetId, clean.body.id)).total).toBe(0);
    expect((await rowsOf(datasetId, clean.body.id)).map((r) => r.messages[0].content)).toEqual([
      'hi',
      'x',
      'only a question',
      'bye',
    ]);
    const pub = await call('POST', `${V}/publish`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: clean.body.id },
    });
    expect(pub.status).toBe(200);
  });

  it('refuses a fix that is still invalid, naming the problem, and makes no version', async () => {
    const before = await call('GET', '/api/workspaces/[slug]/datasets/[datasetId]/versions', {
      caller: viewer,
      params: { slug: SLUG, datasetId },
    });
    const res = await call('POST', `${V}/edits`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: v1.id },
      body: { fixInvalid: [{ index: 1, row: { messages: [{ role: 'robot', content: 'x' }] } }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('fixInvalid.0.row');
    expect(res.body.error.message).toContain('unrecognized_role');
    expect(res.body.problems.map((p: { code: string }) => p.code)).toContain('unrecognized_role');
    const after = await call('GET', '/api/workspaces/[slug]/datasets/[datasetId]/versions', {
      caller: viewer,
      params: { slug: SLUG, datasetId },
    });
    expect(after.body.data.length).toBe(before.body.data.length);
    const missing = await call('POST', `${V}/edits`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: v1.id },
      body: { deleteInvalid: [3] },
    });
    expect(missing.status).toBe(400);
  });

  it('a viewer may list invalid rows but not edit them', async () => {
    await invalidOf(datasetId, v1.id, viewer);
    const res = await call('POST', `${V}/edits`, {
      caller: viewer,
      params: { slug: SLUG, datasetId, versionId: v1.id },
      body: { deleteInvalid: [0] },
    });
    expect(res.status).toBe(403);
  });

  it('a version whose invalid rows were not kept (imported before) is edited only once the loss is confirmed', async () => {
    const { getPrisma } = await import('@crucible/db');
    const { getStorage } = await import('@crucible/storage');
    const res = await uploadAndImport(owner, SLUG, 'old.jsonl', FILE);
    const v = await getPrisma().datasetVersion.findUniqueOrThrow({ where: { id: res.body.version.id } });
    // What an import made before this change looks like: the invalid rows are only counted.
    await getStorage().deleteObject(v.objectKey.replace(/\.jsonl$/, '.invalid.jsonl'));
    const params = { slug: SLUG, datasetId: res.datasetId, versionId: v.id };
    const inv = await invalidOf(res.datasetId, v.id);
    expect(inv.total).toBe(3);
    expect(inv.unavailable).toContain('3 invalid row(s)');
    const refused = await call('POST', `${V}/edits`, { caller: owner, params, body: { add: [chat('a', 'b')] } });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('confirmDroppedRows: 3');
    const ok = await call('POST', `${V}/edits`, {
      caller: owner,
      params,
      body: { add: [chat('a', 'b')], confirmDroppedRows: 3 },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.edit).toMatchObject({ added: 1, dropped: 3, invalidKept: 0 });
  });

  it('replacing placeholders keeps the invalid rows too', async () => {
    const file = `${JSON.stringify(chat('I am {{name}}', 'ok'))}\n${JSON.stringify({ messages: [{ role: 'user', content: '{{name}}?' }] })}\n`;
    const res = await uploadAndImport(owner, SLUG, 'ph.jsonl', file);
    const made = await call('POST', `${V}/placeholders`, {
      caller: owner,
      params: { slug: SLUG, datasetId: res.datasetId, versionId: res.body.version.id },
      body: { values: { name: 'Crux' } },
    });
    expect(made.status).toBe(201);
    const inv = await invalidOf(res.datasetId, made.body.id);
    expect(inv.total).toBe(1);
    expect(JSON.parse(inv.data[0].text ?? '')).toEqual({ messages: [{ role: 'user', content: 'Crux?' }] });
    expect(made.body.errorCount).toBe(1);
  });
});

describe('the version diff is paged and field by field', () => {
  it('pages 23 changed rows 20 at a time, each with only its changed field', async () => {
    const rows = Array.from({ length: 45 }, (_, i) => chat(`question ${i}`, `answer ${i}`));
    const res = await uploadAndImport(owner, SLUG, 'many.jsonl', rows.map((r) => JSON.stringify(r)).join('\n'));
    const v1 = res.body.version;
    const update = rows.flatMap((r, i) =>
      i % 2 === 0
        ? [{ index: i, row: { messages: [r.messages[0], { role: 'assistant', content: `ANSWER ${i}` }] } }]
        : [],
    );
    const v2 = await call('POST', `${V}/edits`, {
      caller: owner,
      params: { slug: SLUG, datasetId: res.datasetId, versionId: v1.id },
      body: { update, delete: [1], add: [chat('extra', 'row')] },
    });
    expect(v2.status).toBe(201);
    const params = { slug: SLUG, datasetId: res.datasetId, versionId: v2.body.id };
    const first = await call('GET', `${V}/diff`, { caller: viewer, params });
    expect(first.status).toBe(200);
    expect(first.body.counts).toEqual({ added: 1, removed: 1, changed: 23 });
    expect(first.body.unchanged).toBe(21);
    expect(first.body.changed).toHaveLength(20);
    expect(first.body.changed[0]).toEqual({
      key: expect.any(String),
      indexA: 0,
      indexB: 0,
      fields: [{ path: 'messages[1].content', before: 'answer 0', after: 'ANSWER 0' }],
      fieldsTruncated: false,
    });
    expect(first.body.changed[0].before).toBeUndefined();

    const { diffDatasetVersion } = await import('../../lib/server/routes/datasets-versions');
    const page = async (query: string) => {
      const url = `http://localhost:3000/api/workspaces/${SLUG}/datasets/${res.datasetId}/versions/${v2.body.id}/diff?${query}`;
      const r = await diffDatasetVersion(new Request(url, { headers: { cookie: viewer.cookie ?? '' } }), params);
      return { status: r.status, body: await r.json() };
    };
    const second = await page('kind=changed&offset=20&limit=20');
    expect(second.status).toBe(200);
    expect(second.body.changed.map((c: { indexA: number }) => c.indexA)).toEqual([40, 42, 44]);
    expect(second.body.changed[2].fields).toEqual([
      { path: 'messages[1].content', before: 'answer 44', after: 'ANSWER 44' },
    ]);
    expect(second.body.added).toEqual([]);
    expect(second.body.counts.changed).toBe(23);
    const removed = await page('kind=removed');
    expect(removed.body.removed.map((r: { index: number }) => r.index)).toEqual([1]);
    expect(removed.body.changed).toEqual([]);
    expect((await page('kind=everything')).status).toBe(400);
  });
});
