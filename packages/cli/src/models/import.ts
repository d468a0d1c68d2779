import { resolve } from 'node:path';
import { getPrisma } from '@crucible/db';
import { DEMO_MODEL, importBaseModel, seedDemoModel } from '@crucible/services/models';
import { parseFlags, Refused, required, UsageError } from '../admin/args';
import type { TIo } from '../admin/io';

/**
 * `crucible models import DIR (--workspace S | --instance) --name N`: a workspace's own base model, or (--instance)
 * one every workspace may use. The import itself is @crucible/services' importBaseModel.
 */
export async function modelsImport(args: string[], io: TIo): Promise<number> {
  const [dirArg, ...rest] = args;
  if (!dirArg || dirArg.startsWith('--')) throw new UsageError('the model directory is required');
  const flags = parseFlags(rest, ['workspace', 'name', 'display-name'], ['instance']);
  const name = required(flags, 'name');
  const instance = 'instance' in flags;
  if (instance === Boolean(flags.workspace))
    throw new UsageError('give --workspace S, or --instance for every workspace');
  const dir = resolve(dirArg);
  let workspaceId: string | null = null;
  if (!instance) {
    const ws = await getPrisma().workspace.findUnique({ where: { slug: flags.workspace } });
    if (!ws) throw new Refused(`no workspace "${flags.workspace}"`);
    workspaceId = ws.id;
  }
  const base = await importBaseModel(dir, { workspaceId, name, displayName: flags['display-name'] });
  const where = instance ? 'the instance (every workspace)' : `workspace ${flags.workspace}`;
  io.out(`imported ${name} (${base.arch}, ${base.fileCount} files) into ${where} as base model ${base.id}\n`);
  return 0;
}

/** `crucible models seed-demo`: @crucible/services' seedDemoModel. */
export async function modelsSeedDemo(io: TIo): Promise<number> {
  const r = await seedDemoModel();
  io.out(
    r.created ? `made the demo model (${DEMO_MODEL.displayName}) ${r.id}\n` : `the demo model is there (${r.id})\n`,
  );
  return 0;
}
