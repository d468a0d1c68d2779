import {
  closeSync,
  createReadStream,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Transform } from 'node:stream';
import { getPrisma } from '@crucible/db';
import { getStorage, instanceKey, type Storage, workspaceKey } from '@crucible/storage';
import { initModel } from '@crucible/trainer/io/index';
import { ServiceError } from './errors';
import { checkModelName } from './model-name';

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
    const fd = openSync(f, 'r');
    try {
      const head = Buffer.alloc(8);
      readSync(fd, head, 0, 8, 0);
      const len = Number(head.readBigUInt64LE(0));
      const json = Buffer.alloc(len);
      readSync(fd, json, 0, len, 8);
      const header = JSON.parse(json.toString('utf8')) as Record<string, { shape?: number[] }>;
      for (const [k, v] of Object.entries(header)) {
        if (k === '__metadata__' || !v.shape) continue;
        total += BigInt(v.shape.reduce((a, b) => a * b, 1));
        found = true;
      }
    } finally {
      closeSync(fd);
    }
  }
  return found ? total : null;
}

/** The chat template a model directory carries: chat_template.jinja, else tokenizer_config.json's chat_template. */
function chatTemplateOf(dir: string): string | null {
  const jinja = join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return readFileSync(jinja, 'utf8');
  try {
    const tc = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    if (typeof tc.chat_template === 'string') return tc.chat_template;
    // a list of named templates (some repos): the default one
    if (Array.isArray(tc.chat_template)) {
      const named = tc.chat_template as { name?: string; template?: string }[];
      return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
    }
  } catch {
    // no tokenizer_config.json: no template
  }
  return null;
}

/** What a base model row records about a model directory: its config and what it implies, before any upload. */
export function describeModelDir(dir: string) {
  if (!existsSync(join(dir, 'config.json')))
    throw new ServiceError('invalid_request', `${dir} has no config.json; is it a model directory?`, 'dir');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const files = filesOf(dir);
  const textConfig = (config.text_config ?? {}) as Record<string, unknown>;
  const maxPos = config.max_position_embeddings ?? textConfig.max_position_embeddings;
  return {
    files,
    data: {
      arch: typeof config.model_type === 'string' ? config.model_type : 'unknown',
      config: config as object,
      contextLength: typeof maxPos === 'number' ? maxPos : null,
      parameterCount: countParameters(files),
      sizeBytes: BigInt(files.reduce((s, f) => s + statSync(f).size, 0)),
      chatTemplate: chatTemplateOf(dir),
    },
  };
}

/** Where a base model's files live in storage. */
export const baseModelPrefix = (b: { id: string; workspaceId: string | null }) =>
  b.workspaceId ? workspaceKey(b.workspaceId, 'models', b.id) : instanceKey('models', b.id);

/**
 * Uploads a model directory's files under `prefix`, streaming (a shard is gigabytes); `onBytes` hears the bytes
 * sent so far as they go, and may throw to stop.
 */
export async function storeModelFiles(
  storage: Storage,
  dir: string,
  files: string[],
  prefix: string,
  onBytes?: (sent: number, file: string) => void,
): Promise<void> {
  let sent = 0;
  for (const f of files) {
    const name = relative(dir, f).split('\\').join('/');
    const size = statSync(f).size;
    // Counted on the way through (a 'data' listener on the file stream itself would start it flowing before
    // storage reads it, and an S3 upload that first looks up its bucket would miss the first bytes).
    let inFile = 0;
    const stream = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        inFile += chunk.length;
        try {
          onBytes?.(sent + inFile, name); // may throw to stop the upload (the model was deleted meanwhile)
        } catch (error) {
          done(error as Error);
          return;
        }
        done(null, chunk);
      },
    });
    const source = createReadStream(f);
    source.on('error', (error) => stream.destroy(error));
    source.pipe(stream);
    await storage.putObject(`${prefix}/${name}`, stream, { size });
    sent += size;
    onBytes?.(sent, name);
  }
}

export type TImportOptions = {
  /** The owning workspace; null: instance-wide (every workspace sees it, as a platform's preset models). */
  workspaceId: string | null;
  name: string;
  displayName?: string | null;
  demo?: boolean;
};

/**
 * Registers a model directory (as `crucible init-model` writes it, or a downloaded Hugging Face model) as a base
 * model, uploading its files to storage (`workspaces/{id}/models/{baseModelId}/`, or `instance/models/{id}/` for an
 * instance-wide one) so any trainer or serving worker can fetch them. The row is `downloading` while the files go
 * up, `ready` after, `failed` when storage refuses them.
 */
export async function importBaseModel(dir: string, o: TImportOptions) {
  checkModelName(o.name);
  const described = describeModelDir(dir);
  const prisma = getPrisma();
  if (await prisma.baseModel.findFirst({ where: { workspaceId: o.workspaceId, name: o.name } })) {
    throw new ServiceError(
      'conflict',
      `${o.workspaceId ? 'this workspace' : 'the instance'} already has a base model named "${o.name}"`,
      'name',
    );
  }
  const base = await prisma.baseModel.create({
    data: {
      workspaceId: o.workspaceId,
      name: o.name,
      displayName: o.displayName ?? null,
      source: 'local',
      path: dir,
      status: 'downloading',
      demo: o.demo ?? false,
      ...described.data,
    },
  });
  const prefix = baseModelPrefix(base);
  try {
    await storeModelFiles(getStorage(), dir, described.files, prefix);
  } catch (error) {
    await prisma.baseModel.update({ where: { id: base.id }, data: { status: 'failed' } });
    throw error;
  }
  const ready = await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: prefix, status: 'ready' } });
  return Object.assign(ready, { fileCount: described.files.length });
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
