import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { getPrisma } from '@crucible/db';
import { getStorage, workspaceKey } from '@crucible/storage';
import { parseFlags, required, UsageError } from '../admin/args';
import type { TIo } from '../admin/io';

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

/**
 * `crucible models import DIR --workspace S --name N`: registers a model directory (as `crucible init-model`
 * writes it, or a downloaded Hugging Face model) as a base model of a workspace, uploading its files to
 * `workspaces/{id}/models/{baseModelId}/` so any trainer worker can fetch them.
 */
export async function modelsImport(args: string[], io: TIo): Promise<number> {
  const [dirArg, ...rest] = args;
  if (!dirArg || dirArg.startsWith('--')) throw new UsageError('the model directory is required');
  const flags = parseFlags(rest, ['workspace', 'name', 'display-name']);
  const slug = required(flags, 'workspace');
  const name = required(flags, 'name');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new UsageError('--name: 1-64 letters, digits, ".", "_" or "-" (it becomes part of fine-tuned model ids)');
  }
  const dir = resolve(dirArg);
  if (!existsSync(join(dir, 'config.json'))) {
    io.err(`crucible models import: ${dir} has no config.json; is it a model directory?\n`);
    return 1;
  }
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const arch = typeof config.model_type === 'string' ? config.model_type : 'unknown';
  const prisma = getPrisma();
  const ws = await prisma.workspace.findUnique({ where: { slug } });
  if (!ws) {
    io.err(`crucible models import: no workspace "${slug}"\n`);
    return 1;
  }
  if (await prisma.baseModel.findFirst({ where: { workspaceId: ws.id, name } })) {
    io.err(`crucible models import: workspace ${slug} already has a base model named "${name}"\n`);
    return 1;
  }
  const files = filesOf(dir);
  const base = await prisma.baseModel.create({
    data: {
      workspaceId: ws.id,
      name,
      displayName: flags['display-name'] ?? null,
      arch,
      source: 'local',
      path: dir,
      status: 'downloading',
      config: config as object,
      contextLength: typeof config.max_position_embeddings === 'number' ? config.max_position_embeddings : null,
      parameterCount: countParameters(files),
      sizeBytes: BigInt(files.reduce((s, f) => s + statSync(f).size, 0)),
    },
  });
  const storage = getStorage();
  const prefix = workspaceKey(ws.id, 'models', base.id);
  try {
    for (const f of files)
      await storage.putObject(`${prefix}/${relative(dir, f).split('\\').join('/')}`, readFileSync(f));
  } catch (error) {
    await prisma.baseModel.update({ where: { id: base.id }, data: { status: 'failed' } });
    throw error;
  }
  await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: prefix, status: 'ready' } });
  io.out(`imported ${name} (${arch}, ${files.length} files) into workspace ${slug} as base model ${base.id}\n`);
  return 0;
}
