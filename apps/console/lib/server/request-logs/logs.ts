import { getPrisma, type Prisma } from '@crucible/db';
import { z } from 'zod';

// Request logs as stored (issue 16): a RequestLogContent row (messages, answer, metadata, rating, expiry) beside the
// request's RequestLog row (model, deployment, tokens, latency, finish reason). The Logs page's REST routes
// (routes/request-logs.ts) and OpenAI's stored-completions API (gateway/stored.ts) both read them through here.

/** OpenAI's `metadata`: at most 16 pairs, keys up to 64 characters, values up to 512. */
export const ZMetadata = z
  .record(
    z.string().min(1).max(64, 'Metadata keys are at most 64 characters.'),
    z.string().max(512, 'Metadata values are at most 512 characters.'),
  )
  .refine((m) => Object.keys(m).length <= 16, 'Metadata holds at most 16 key-value pairs.');

export type TLogRow = Prisma.RequestLogContentGetPayload<{ include: { request: true } }>;

export type TStoredMessage = { role: string; content: string };

export const messagesOf = (row: Pick<TLogRow, 'messages'>) => row.messages as TStoredMessage[];
export const metadataOf = (row: Pick<TLogRow, 'metadata'>) => (row.metadata ?? {}) as Record<string, string>;

/** One kept request of the workspace, or null (another workspace's is null too). */
export function findLog(workspaceId: string, requestId: string): Promise<TLogRow | null> {
  return getPrisma().requestLogContent.findFirst({ where: { requestId, workspaceId }, include: { request: true } });
}
