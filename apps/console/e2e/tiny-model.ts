import path from 'node:path';
import { createPrisma } from '@crucible/db';
import { getStorage, uploadDir } from '@crucible/storage';
import { initModel } from '@crucible/trainer';
import type { APIRequestContext } from 'playwright-core';
import { inject } from 'vitest';

// Shared by the browser tests that train: a tiny random Qwen2 registered as a workspace's base model, and a dataset
// published through the REST API the datasets page uses.

/**
 * Registers `crucible init-model`'s 2-layer Qwen2 (hidden 32) as the workspace's base model "tiny-qwen", stored
 * under the workspace's models prefix the way an import registers it. `folder` names its files under `scratch`.
 */
export async function registerTinyModel(slug: string, scratch: string, folder: string): Promise<void> {
  const prisma = createPrisma(inject('databaseUrl'));
  try {
    const workspace = await prisma.workspace.findUniqueOrThrow({ where: { slug } });
    const modelDir = path.join(scratch, folder);
    await initModel(
      { arch: 'qwen2', layers: 2, hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, seed: 7 },
      modelDir,
    );
    const model = await prisma.baseModel.create({
      data: { workspaceId: workspace.id, name: 'tiny-qwen', arch: 'qwen2', source: 'local' },
    });
    const objectKey = `workspaces/${workspace.id}/models/${model.id}`;
    await uploadDir(getStorage(), modelDir, objectKey);
    await prisma.baseModel.update({ where: { id: model.id }, data: { objectKey } });
  } finally {
    await prisma.$disconnect();
  }
}

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
