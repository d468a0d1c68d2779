import { createUserWithPassword, setInstanceRole } from '@crucible/auth';
import { z } from 'zod';
import { parseFlags, required, UsageError } from './args';
import type { TIo } from './io';

const ZArgs = z.object({
  email: z.email('--email must be an email address'),
  password: z.string().min(8, '--password must have at least 8 characters'),
  name: z.string().min(1).optional(),
});

/** `crucible user create --email E --password P [--name N] [--admin]` (--admin: an instance admin) */
export async function userCreate(args: string[], io: TIo): Promise<number> {
  const flags = parseFlags(args, ['email', 'password', 'name'], ['admin']);
  const parsed = ZArgs.safeParse({
    email: required(flags, 'email'),
    password: required(flags, 'password'),
    name: flags.name,
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]?.message ?? 'invalid arguments');
  const user = await createUserWithPassword(parsed.data);
  io.out(`created user ${user.email} (${user.id})\n`);
  if (flags.admin) {
    await setInstanceRole(user.email, 'admin');
    io.out(`${user.email} is an instance admin (sees every workspace's billing, manages instance prices)\n`);
  }
  return 0;
}

const ZEmail = z.object({ email: z.email('--email must be an email address') });

/** `crucible user promote --email E`: make an existing user an instance admin. */
export async function userPromote(args: string[], io: TIo): Promise<number> {
  return setRole(args, io, 'admin');
}

/** `crucible user demote --email E`: an instance admin becomes a plain user again. */
export async function userDemote(args: string[], io: TIo): Promise<number> {
  return setRole(args, io, 'user');
}

async function setRole(args: string[], io: TIo, role: 'admin' | 'user'): Promise<number> {
  const parsed = ZEmail.safeParse({ email: required(parseFlags(args, ['email']), 'email') });
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]?.message ?? 'invalid arguments');
  const user = await setInstanceRole(parsed.data.email, role);
  io.out(
    role === 'admin' ? `${user.email} is now an instance admin\n` : `${user.email} is no longer an instance admin\n`,
  );
  return 0;
}
