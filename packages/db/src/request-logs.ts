import type { Prisma } from '@prisma/client';
import { getPrisma, type TDb } from './client';

/**
 * Request logs (issue 16): what a chat request said and got, kept beside its RequestLog row (the metering row stays
 * for stats and billing) when its deployment keeps requests, when it said `store: true`, or when a member rated a
 * playground turn; deleted when it expires.
 */

/** How long kept content lives when no deployment says otherwise (OpenAI keeps stored completions 30 days). */
export const DEFAULT_LOG_RETENTION_DAYS = 30;

export type TLoggedMessage = { role: string; content: string };

export type TRequestContentInput = {
  requestId: string;
  workspaceId: string;
  source: 'deployment' | 'store' | 'playground';
  messages: TLoggedMessage[];
  answer: string;
  metadata?: Record<string, string> | null;
  retentionDays: number;
  rating?: 'up' | 'down' | null;
  ratedById?: string | null;
  now?: Date;
};

const DAY_MS = 86_400_000;

/** Keeps a request's messages and answer (its RequestLog row must exist); a second call for one request is a no-op. */
export async function storeRequestContent(r: TRequestContentInput, db: TDb = getPrisma()) {
  const now = r.now ?? new Date();
  const data = {
    requestId: r.requestId,
    workspaceId: r.workspaceId,
    source: r.source,
    messages: r.messages as Prisma.InputJsonValue,
    answer: r.answer,
    metadata: (r.metadata ?? {}) as Prisma.InputJsonValue,
    searchText: [...r.messages.map((m) => m.content), r.answer].join('\n'),
    rating: r.rating ?? null,
    ratedById: r.rating ? (r.ratedById ?? null) : null,
    ratedAt: r.rating ? now : null,
    expiresAt: new Date(now.getTime() + r.retentionDays * DAY_MS),
  };
  return db.requestLogContent.upsert({ where: { requestId: r.requestId }, create: data, update: {} });
}

/** Deletes every kept request content whose retention has run out (the housekeeping worker's repeatable job). */
export async function deleteExpiredRequestContent(now: Date = new Date(), db: TDb = getPrisma()): Promise<number> {
  const { count } = await db.requestLogContent.deleteMany({ where: { expiresAt: { lte: now } } });
  return count;
}
