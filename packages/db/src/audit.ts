import type { AuditLog, Prisma } from '@prisma/client';
import { z } from 'zod';
import { getPrisma, type TDb } from './client';
import { DbError } from './errors';

export const ZAuditInput = z.object({
  /** null/absent for instance-level events (a user created by the admin CLI). */
  workspaceId: z.string().min(1).nullish(),
  actorUserId: z.string().min(1).nullish(),
  actorApiKeyId: z.string().min(1).nullish(),
  /** `noun.verb`: "workspace.create", "member.role_change", "job.cancel", "api_key.revoke" ... */
  action: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'an action such as "member.role_change"'),
  targetType: z.string().min(1).nullish(),
  targetId: z.string().min(1).nullish(),
  data: z.record(z.string(), z.unknown()).nullish(),
  ip: z.string().max(100).nullish(),
  userAgent: z.string().max(1000).nullish(),
});
export type TAuditInput = z.input<typeof ZAuditInput>;

/** Writes one audit-log line. Call it in the same transaction as the change it records, where there is one. */
export async function recordAudit(input: TAuditInput, db: TDb = getPrisma()): Promise<AuditLog> {
  const parsed = ZAuditInput.safeParse(input);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; ');
    throw new DbError('invalid_input', `Audit entry refused: ${detail}`);
  }
  const { data, ...rest } = parsed.data;
  return db.auditLog.create({ data: { ...rest, data: (data ?? undefined) as Prisma.InputJsonValue | undefined } });
}
