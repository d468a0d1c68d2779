import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrismaClient } from '@crucible/db';
import type { Storage } from '@crucible/storage';
import { uploadDir } from '@crucible/storage';
import { initModel } from '@crucible/trainer';

/** A 2-layer Qwen2 with hidden 32 and the real Qwen tokenizer, written once per test file. */
export async function tinyModelDir(root: string): Promise<string> {
  const dir = join(root, 'tiny-qwen');
  await initModel({ arch: 'qwen2', layers: 2, hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, seed: 7 }, dir);
  return dir;
}

/** Arithmetic chats: short, distinct, and learnable by a tiny model. */
function chatRows(n: number): string {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i * 7) % 10;
    const b = (i * 3 + 1) % 10;
    rows.push(
      JSON.stringify({
        messages: [
          { role: 'user', content: `What is ${a} plus ${b}?` },
          { role: 'assistant', content: `${a} plus ${b} is ${a + b}.` },
        ],
      }),
    );
  }
  return `${rows.join('\n')}\n`;
}

export type TFixture = Awaited<ReturnType<typeof makeFixture>>;

/** A workspace with the tiny model imported into storage and a published dataset version of `rows` chats. */
export async function makeFixture(
  prisma: PrismaClient,
  storage: Storage,
  modelDir: string,
  rows: number,
  status: 'published' | 'draft' = 'published',
) {
  const tag = randomUUID().slice(0, 8);
  const ws = await prisma.workspace.create({ data: { name: `WS ${tag}`, slug: `ws-${tag}` } });
  const base = await prisma.baseModel.create({
    data: { workspaceId: ws.id, name: `tiny-${tag}`, arch: 'qwen2', source: 'local' },
  });
  const modelKey = `workspaces/${ws.id}/models/${base.id}`;
  await uploadDir(storage, modelDir, modelKey);
  await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: modelKey } });
  const ds = await prisma.dataset.create({ data: { workspaceId: ws.id, name: 'sums' } });
  const objectKey = `workspaces/${ws.id}/datasets/${ds.id}/v1.jsonl`;
  await storage.putObject(objectKey, Buffer.from(chatRows(rows)));
  const version = await prisma.datasetVersion.create({
    data: {
      workspaceId: ws.id,
      datasetId: ds.id,
      number: 1,
      status,
      format: 'chatml',
      objectKey,
      sha256: '0'.repeat(64),
      rowCount: rows,
    },
  });
  return { ws, base, ds, version };
}

export function tempRoot(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
