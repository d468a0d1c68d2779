import { z } from 'zod';
import { JobError } from './errors';

const withDefault = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : v.trim()));

export const ZJobsEnv = z.object({
  REDIS_URL: withDefault('redis://127.0.0.1:6379').pipe(
    z.string().regex(/^rediss?:\/\//, 'REDIS_URL must start with redis:// or rediss://'),
  ),
  REDIS_PREFIX: withDefault('crucible').pipe(
    z.string().regex(/^[A-Za-z0-9_.-]+$/, 'REDIS_PREFIX may only contain letters, digits, "_", "." and "-"'),
  ),
});
export type TJobsEnv = z.infer<typeof ZJobsEnv>;

/**
 * Validates settings from the environment against `schema`; a wrong setting fails with one sentence naming each
 * variable ("Invalid <what> configuration: NAME: problem; ..."), not a stack. Every worker's settings go through it.
 */
export function parseSettings<S extends z.ZodType>(
  schema: S,
  what: string,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new JobError('config_invalid', `Invalid ${what} configuration: ${lines.join('; ')}`);
  }
  return parsed.data;
}

/** Validates the queue env; a wrong setting fails with a sentence naming the variable. */
export function loadJobsEnv(env: Record<string, string | undefined> = process.env): TJobsEnv {
  return parseSettings(ZJobsEnv, 'queue', env);
}
