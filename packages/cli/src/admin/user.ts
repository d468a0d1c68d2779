import { createUserWithPassword } from '@crucible/auth';
import { z } from 'zod';
import { parseFlags, required, UsageError } from './args';
import type { TIo } from './io';

const ZArgs = z.object({
  email: z.email('--email must be an email address'),
  password: z.string().min(8, '--password must have at least 8 characters'),
  name: z.string().min(1).optional(),
});

/** `crucible user create --email E --password P [--name N]` */
export async function userCreate(args: string[], io: TIo): Promise<number> {
  const flags = parseFlags(args, ['email', 'password', 'name']);
  const parsed = ZArgs.safeParse({
    email: required(flags, 'email'),
    password: required(flags, 'password'),
    name: flags.name,
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]?.message ?? 'invalid arguments');
  const user = await createUserWithPassword(parsed.data);
  io.out(`created user ${user.email} (${user.id})\n`);
  return 0;
}
