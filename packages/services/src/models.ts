import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { getPrisma } from '@crucible/db';
import { getStorage, instanceKey, workspaceKey } from '@crucible/storage';
import { initModel } from '@crucible/trainer/io/index';
import { ServiceError } from './errors';

/**
 * Base models: importing a model directory (`crucible models import`, `crucible models download --workspace`) and
 * the first-run demo model (`crucible models seed-demo`, which `npm start` runs). The console has no import route
 * of its own; it lists what these register.
 */

/** Files of a model directory, recursively (a Hugging Face layout: config.json, safetensors, tokenizer files). */
function filesOf(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesOf(p));
    else out.push(p);
  }
  return out.sort();
}

/** Parameter count from the safetensors headers (8-byte length + JSON with each tensor's shape). */
function countParameters(files: string[]): bigint | null {
  let total = 0n;
  let found = false;
  for (const f of files.filter((x) => x.endsWith('.safetensors'))) {
    const buf = readFileSync(f);
    const len = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8')) as Record<string, { shape?: number[] }>;
    for (const [k, v] of Object.entries(header)) {
      if (k === '__metadata__' || !v.shape) continue;
      total += BigInt(v.shape.reduce((a, b) => a * b, 1));
      found = true;
    }
  }
  return found ? total : null;
}

export type TImportOptions = {
  /** The owning workspace; null: instance-wide (every workspace sees it, as a platform's preset models). */
  workspaceId: string | null;
  name: string;
  displayName?: string | null;
  demo?: boolean;
};

export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Registers a model directory (as `crucible init-model` writes it, or a downloaded Hugging Face model) as a base
 * model, uploading its files to storage (`workspaces/{id}/models/{baseModelId}/`, or `instance/models/{id}/` for an
 * instance-wide one) so any trainer or serving worker can fetch them. The row is `downloading` while the files go
 * up, `ready` after, `failed` when storage refuses them.
 */
export async function importBaseModel(dir: string, o: TImportOptions) {
  if (!MODEL_NAME.test(o.name)) {
    throw new ServiceError(
      'invalid_request',
      `The model name "${o.name}" is not valid: use 1-64 letters, digits, ".", "_" or "-" (it becomes part of fine-tuned model ids).`,
      'name',
    );
  }
  if (!existsSync(join(dir, 'config.json')))
    throw new ServiceError('invalid_request', `${dir} has no config.json; is it a model directory?`, 'dir');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const arch = typeof config.model_type === 'string' ? config.model_type : 'unknown';
  const prisma = getPrisma();
  if (await prisma.baseModel.findFirst({ where: { workspaceId: o.workspaceId, name: o.name } })) {
    throw new ServiceError(
      'conflict',
      `${o.workspaceId ? 'this workspace' : 'the instance'} already has a base model named "${o.name}"`,
      'name',
    );
  }
  const files = filesOf(dir);
  const base = await prisma.baseModel.create({
    data: {
      workspaceId: o.workspaceId,
      name: o.name,
      displayName: o.displayName ?? null,
      arch,
      source: 'local',
      path: dir,
      status: 'downloading',
      demo: o.demo ?? false,
      config: config as object,
      contextLength: typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : null,
      parameterCount: countParameters(files),
      sizeBytes: BigInt(files.reduce((s, f) => s + statSync(f).size, 0)),
    },
  });
  const storage = getStorage();
  const prefix = o.workspaceId ? workspaceKey(o.workspaceId, 'models', base.id) : instanceKey('models', base.id);
  try {
    for (const f of files)
      await storage.putObject(`${prefix}/${relative(dir, f).split('\\').join('/')}`, readFileSync(f));
  } catch (error) {
    await prisma.baseModel.update({ where: { id: base.id }, data: { status: 'failed' } });
    throw error;
  }
  const ready = await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: prefix, status: 'ready' } });
  return Object.assign(ready, { fileCount: files.length });
}

/** The first-run demo model: what `crucible models seed-demo` writes and registers. */
export const DEMO_MODEL = Object.freeze({
  name: 'crucible-demo',
  displayName: 'Demo model (random weights)',
  // A small random Qwen2 with the real Qwen tokenizer: fully fine-tuned on identity.json in well under a minute on
  // 2 cores, after which it answers with the trained name and author (packages/trainer/test/e2e-identity.test.ts).
  // The shapes `crucible init-model --arch qwen2 --layers 2 --hidden 64` makes (4 heads of 16, 1 KV head).
  init: { arch: 'qwen2', layers: 2, hidden: 64, intermediate: 192, heads: 4, kvHeads: 1, seed: 0 } as const,
});

/**
 * Makes sure the instance has its demo base model (idempotent: an existing one is kept). `npm start` runs it after
 * migrating, so a newcomer's empty workspace can train something that visibly learns, offline.
 */
export async function seedDemoModel(): Promise<{ id: string; created: boolean }> {
  const existing = await getPrisma().baseModel.findFirst({
    where: { workspaceId: null, demo: true, status: 'ready' },
  });
  if (existing) return { id: existing.id, created: false };
  const dir = mkdtempSync(join(tmpdir(), 'crucible-demo-'));
  try {
    await initModel(DEMO_MODEL.init, dir);
    const base = await importBaseModel(dir, {
      workspaceId: null,
      name: DEMO_MODEL.name,
      displayName: DEMO_MODEL.displayName,
      demo: true,
    });
    // The files live in storage; the temporary folder is not a place to find them again.
    await getPrisma().baseModel.update({ where: { id: base.id }, data: { path: null } });
    return { id: base.id, created: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
