import { Prisma, type UsageRecord } from '@prisma/client';
import { z } from 'zod';
import { getPrisma, type TDb } from './client';
import { DbError } from './errors';

/**
 * Money and quantities are decimals, never binary floats: pass a decimal string ("0.0125"), a Prisma.Decimal, a
 * bigint, or a JS number only when it is an integer (a fractional number has already lost exactness).
 */
const ZDecimal = z
  .union([
    z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string such as "12.50"'),
    z.bigint(),
    z.number().int('a whole number; pass fractional amounts as a decimal string').safe(),
    z.instanceof(Prisma.Decimal),
  ])
  .transform((v) => new Prisma.Decimal(typeof v === 'bigint' ? v.toString() : v));

export const ZUsageRecordInput = z.object({
  workspaceId: z.string().min(1),
  category: z.enum(['training', 'inference', 'deployment', 'storage']),
  /** What was metered: "training_tokens" | "input_tokens" | "output_tokens" | "deployment_hours" | ... */
  meter: z.string().min(1).max(64),
  quantity: ZDecimal,
  /** The unit the price is quoted in: "1K tokens" | "hour" | "GB-month". */
  unit: z.string().min(1).max(32),
  unitPrice: ZDecimal.optional(),
  amount: ZDecimal,
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD or CNY'),
  /** Same event, same key: e.g. `training:{jobId}:step:{step}`, `inference:{requestId}`, `deployment:{id}:hour:{n}`. */
  idempotencyKey: z.string().min(1).max(300),
  priceItemId: z.string().optional(),
  jobId: z.string().optional(),
  deploymentId: z.string().optional(),
  modelId: z.string().optional(),
  apiKeyId: z.string().optional(),
  userId: z.string().optional(),
  description: z.string().max(500).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  occurredAt: z.date().optional(),
});
export type TUsageRecordInput = z.input<typeof ZUsageRecordInput>;

export type TAppendUsageResult = {
  record: UsageRecord;
  /** false when the idempotency key was already in the ledger: the existing line is returned, nothing is charged. */
  created: boolean;
};

/**
 * Appends one line to the usage ledger, exactly once per idempotency key. A retried job step, a redelivered queue
 * message or a re-sent request returns the line already there and never charges twice. It uses
 * INSERT ... ON CONFLICT DO NOTHING rather than catching a unique violation, so it is safe inside a transaction
 * (a failed statement would abort the whole transaction in Postgres).
 */
export async function appendUsage(input: TUsageRecordInput, db: TDb = getPrisma()): Promise<TAppendUsageResult> {
  const parsed = ZUsageRecordInput.safeParse(input);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ');
    throw new DbError('invalid_input', `Usage record refused: ${detail}`);
  }
  const { metadata, ...data } = parsed.data;
  const { count } = await db.usageRecord.createMany({
    data: [{ ...data, metadata: metadata as Prisma.InputJsonValue | undefined }],
    skipDuplicates: true,
  });
  const record = await db.usageRecord.findUniqueOrThrow({ where: { idempotencyKey: data.idempotencyKey } });
  if (count === 0 && (record.workspaceId !== data.workspaceId || record.category !== data.category)) {
    throw new DbError(
      'idempotency_conflict',
      `Idempotency key "${data.idempotencyKey}" is already used by a ${record.category} charge of another workspace or category; keys must name one event.`,
    );
  }
  return { record, created: count === 1 };
}
