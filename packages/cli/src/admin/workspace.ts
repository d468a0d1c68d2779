import { createWorkspace } from '@crucible/auth';
import { z } from 'zod';
import { parseFlags, required, UsageError } from './args';
import type { TIo } from './io';

// Same rule as the console's ZWorkspaceSlug (apps/console/lib/schemas.ts).
const ZArgs = z.object({
  name: z.string().trim().min(1).max(64),
  slug: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,46}[a-z0-9]$/, '--slug: 2–48 lower-case letters, digits or inner hyphens'),
  owner: z.email('--owner must be the email of an existing user'),
});

/** `crucible workspace create --name N --slug S --owner E` */
export async function workspaceCreate(args: string[], io: TIo): Promise<number> {
  const flags = parseFlags(args, ['name', 'slug', 'owner']);
  const parsed = ZArgs.safeParse({
    name: required(flags, 'name'),
    slug: required(flags, 'slug'),
    owner: required(flags, 'owner'),
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues[0]?.message ?? 'invalid arguments');
  const ws = await createWorkspace({ name: parsed.data.name, slug: parsed.data.slug, ownerEmail: parsed.data.owner });
  io.out(`created workspace ${ws.slug} (${ws.id}) owned by ${parsed.data.owner}\n`);
  return 0;
}
