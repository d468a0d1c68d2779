import type { APIRequestContext } from 'playwright-core';

// Shared by the browser tests that train: a dataset published through the REST API the datasets page uses (the tiny
// base model they train is workers.ts's addTinyBaseModel).

/** Creates a dataset, uploads the rows through the presigned target, imports (waiting) and publishes v1. */
export async function publishDataset(request: APIRequestContext, slug: string, name: string, jsonl: string) {
  const base = `/api/workspaces/${slug}/datasets`;
  const ok = async (response: Awaited<ReturnType<APIRequestContext['post']>>, what: string) => {
    if (!response.ok()) throw new Error(`${what}: ${response.status()} ${await response.text()}`);
    return (await response.json()) as unknown;
  };
  const dataset = (await ok(await request.post(base, { data: { name } }), 'create dataset')) as { id: string };
  const start = (await ok(
    await request.post(`${base}/${dataset.id}/uploads`, {
      data: { fileName: `${name}.jsonl`, size: Buffer.byteLength(jsonl) },
    }),
    'start upload',
  )) as { uploadId: string; upload: { url: string; method: string; headers?: Record<string, string> } };
  const target = start.upload;
  const sent = await request.fetch(target.url, {
    method: target.method,
    headers: target.headers,
    data: Buffer.from(jsonl),
  });
  if (sent.status() >= 300) throw new Error(`upload: ${sent.status()} ${await sent.text()}`);
  const imported = (await ok(
    await request.post(`${base}/${dataset.id}/imports`, { data: { uploadId: start.uploadId, wait: true } }),
    'import',
  )) as { version: { id: string } };
  const versionId = imported.version.id;
  await ok(await request.post(`${base}/${dataset.id}/versions/${versionId}/publish`), 'publish');
  return { datasetId: dataset.id, versionId };
}
