import { z } from 'zod';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/crucible';

export const ZDbEnv = z.object({
  DATABASE_URL: z
    .string()
    .trim()
    .default(DEFAULT_DATABASE_URL)
    .transform((v) => v || DEFAULT_DATABASE_URL)
    .pipe(
      z.string().regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgresql:// URL, e.g. ' + DEFAULT_DATABASE_URL),
    ),
});
export type TDbEnv = z.infer<typeof ZDbEnv>;

/** Reads and validates what @crucible/db needs from the environment; fails with a sentence, not a stack. */
export function readDbEnv(env: NodeJS.ProcessEnv = process.env): TDbEnv {
  const parsed = ZDbEnv.safeParse({ DATABASE_URL: env.DATABASE_URL });
  if (!parsed.success) {
    throw new Error(`Invalid database configuration: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  return parsed.data;
}
