// @vitest-environment node
/**
 * "Download JSONL" saved a file named `download` (issue 13, item 13): every way out of storage names the file after
 * the dataset and version, in the dataset's own script (RFC 6266 filename* next to an ASCII fallback).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionFileName } from '../../lib/server/datasets/versions';
import { fileContent } from '../../lib/server/routes/files';
import {
  dropTestStorage,
  startHousekeeping,
  stopHousekeeping,
  uploadAndImport,
  useTestStorage,
} from './datasets-helpers';
import { call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

let owner: TCaller;
const SLUG = 'dl-names';
const NAME = '客服 FAQ/2026';
const ROW = `${JSON.stringify({
  messages: [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'hello' },
  ],
})}\n`;

beforeAll(async () => {
  useTestStorage();
  await startTestDatabase();
  await startHousekeeping();
  owner = await signUp('dl-owner');
  await makeWorkspace(owner, SLUG);
}, 60_000);
afterAll(async () => {
  await stopHousekeeping();
  await stopTestDatabase();
  await dropTestStorage();
});

/** The Content-Disposition a presigned link answers with (local route or S3). */
async function dispositionOf(url: string): Promise<string | null> {
  if (url.startsWith('http://localhost')) {
    const { storageDownload } = await import('../../lib/server/routes/datasets-storage');
    const res = await storageDownload(new Request(url), {});
    await res.arrayBuffer();
    return res.headers.get('content-disposition');
  }
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.headers.get('content-disposition');
}

describe('download file names', () => {
  it('names the JSONL after the dataset and version, keeping the name’s own letters', async () => {
    const ds = await call('POST', '/api/workspaces/[slug]/datasets', {
      caller: owner,
      params: { slug: SLUG },
      body: { name: NAME },
    });
    expect(ds.status).toBe(201);
    const imported = await uploadAndImport(owner, SLUG, 'chat.jsonl', ROW, {}, ds.body.id);
    const versionId = imported.body.version.id as string;
    const link = await call('GET', '/api/workspaces/[slug]/datasets/[datasetId]/versions/[versionId]/download', {
      caller: owner,
      params: { slug: SLUG, datasetId: ds.body.id, versionId },
    });
    expect(link.status).toBe(200);
    expect(link.body.fileName).toBe('客服 FAQ_2026-v1.jsonl');
    const cd = await dispositionOf(link.body.url);
    expect(cd).toContain(`filename*=UTF-8''${encodeURIComponent('客服 FAQ_2026-v1.jsonl')}`);
    expect(cd).not.toMatch(/filename="download"/);

    // the OpenAI Files API content route: it had no Content-Disposition at all
    const key = await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: owner,
      params: { slug: SLUG },
      body: { name: 'dl' },
    });
    const res = await fileContent(
      new Request(`http://localhost:3000/v1/files/file-${versionId}/content`, {
        headers: { authorization: `Bearer ${key.body.key}` },
      }),
      { fileId: `file-${versionId}` },
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(ROW);
    expect(res.headers.get('content-disposition')).toContain(`filename*=UTF-8''chat.jsonl`);
  }, 60_000);

  it('replaces only what file systems refuse', () => {
    expect(versionFileName('support set', 3)).toBe('support set-v3.jsonl');
    expect(versionFileName('a/b\\c:d*e?"f"<g>|h', 1)).toBe('a_b_c_d_e_f_g_h-v1.jsonl');
    expect(versionFileName('tab\there', 2)).toBe('tab_here-v2.jsonl');
    expect(versionFileName('///', 1)).toBe('_-v1.jsonl');
    expect(versionFileName('', 1)).toBe('dataset-v1.jsonl');
  });
});
