import { createApiKey } from '@crucible/auth';
import { parseFlags, required } from './args';
import type { TIo } from './io';

/**
 * `crucible key create --workspace S [--name N]`. The key is printed once,
 * alone on the last line of stdout, so scripts can take it with `tail -n 1`;
 * only its hash is stored.
 */
export async function keyCreate(args: string[], io: TIo): Promise<number> {
  const flags = parseFlags(args, ['workspace', 'name']);
  const workspaceSlug = required(flags, 'workspace');
  const created = await createApiKey({ workspaceSlug, name: flags.name ?? 'cli' });
  io.out(`created API key "${created.name}" (${created.id}) for workspace ${workspaceSlug}; it is shown only once:\n`);
  io.out(`${created.key}\n`);
  return 0;
}
