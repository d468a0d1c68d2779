import { UsageError } from './args';
import { processIo, type TIo } from './io';
import { keyCreate } from './key';
import { userCreate, userDemote, userPromote } from './user';
import { workspaceCreate } from './workspace';

export { keyCreate, type TIo, UsageError, userCreate, userDemote, userPromote, workspaceCreate };

const USAGE = `usage:
  crucible user create --email E --password P [--name N] [--admin]
  crucible user promote --email E      (instance admin: every workspace's billing, instance prices)
  crucible user demote --email E
  crucible workspace create --name N --slug S --owner E
  crucible key create --workspace S [--name N]
`;

const COMMANDS: Record<string, (args: string[], io: TIo) => Promise<number>> = {
  'user create': userCreate,
  'user promote': userPromote,
  'user demote': userDemote,
  'workspace create': workspaceCreate,
  'key create': keyCreate,
};

/**
 * The admin commands of `npx crucible`; they use DATABASE_URL like the
 * console. Returns the exit code: 0 done, 1 refused (the reason on stderr),
 * 2 usage error.
 */
export async function runAdminCommand(
  argv: string[],
  io: TIo = processIo,
  opts: { closeDatabase?: boolean } = {},
): Promise<number> {
  const [noun, verb, ...rest] = argv;
  const command = COMMANDS[`${noun} ${verb}`];
  if (!command) {
    io.err(`crucible: unknown admin command "${[noun, verb].filter(Boolean).join(' ')}"\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    const err = error as Error & { code?: string };
    if (error instanceof UsageError) {
      io.err(`crucible ${noun} ${verb}: ${err.message}\n${USAGE}`);
      return 2;
    }
    // AdminError from @crucible/auth: a refusal with a sentence (duplicate email, unknown workspace...).
    if (err?.name === 'AdminError') {
      io.err(`crucible ${noun} ${verb}: ${err.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    if (opts.closeDatabase !== false) await closeDatabase();
  }
}

/** Lets the process exit: an open Prisma pool would keep `npx crucible` alive after it finished. */
async function closeDatabase(): Promise<void> {
  const { disconnectAll } = await import('@crucible/db');
  await disconnectAll();
}
