import { getPrisma, type Prisma } from '@crucible/db';
import { z } from 'zod';
import { fromZodError } from '../errors';
import { BODY_LIMITS, readJson } from '../http';
import { findLog, messagesOf, metadataOf, type TLogRow, ZMetadata } from '../request-logs/logs';
import { gatewayCaller } from './auth';
import { GatewayError, openaiRoute } from './errors';

/**
 * OpenAI's stored chat completions (issue 16) over the workspace's request logs: `GET /v1/chat/completions` lists
 * (`model`, `metadata[k]=v`, `after`, `limit`, `order`), `GET /v1/chat/completions/{id}` reads, `POST` updates its
 * metadata, `DELETE` deletes it, `GET /v1/chat/completions/{id}/messages` lists its messages. Every kept request is
 * listed, whether `store: true` or its deployment's setting kept it. Another workspace's id is 404, as a missing one.
 */

const notFound = (id: string) =>
  new GatewayError(
    404,
    'invalid_request_error',
    'not_found',
    `No stored chat completion found with id '${id}'.`,
    'completion_id',
  );

function invalid(error: z.ZodError): GatewayError {
  const e = fromZodError(error);
  return new GatewayError(400, 'invalid_request_error', 'invalid_value', e.message, e.param);
}

/** A kept request as OpenAI's chat completion object. */
function completionObject(row: TLogRow) {
  const r = row.request;
  return {
    id: row.requestId,
    object: 'chat.completion' as const,
    created: Math.floor(r.createdAt.getTime() / 1000),
    model: r.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: row.answer, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: r.finishReason ?? 'stop',
      },
    ],
    usage: {
      prompt_tokens: r.promptTokens,
      completion_tokens: r.completionTokens,
      total_tokens: r.promptTokens + r.completionTokens,
    },
    metadata: metadataOf(row),
    service_tier: null,
    system_fingerprint: null,
  };
}

const ZPage = {
  after: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('asc'),
};
const ZListQuery = z.object({ ...ZPage, model: z.string().min(1).optional() });
const ZMessagesQuery = z.object(ZPage);

/** `metadata[key]=value` pairs of the query string, as OpenAI's clients send the metadata filter. */
function metadataFilter(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) {
    const m = /^metadata\[(.+)\]$/.exec(k);
    if (m) out[m[1]] = v;
  }
  return out;
}

function page<T extends { id: string }>(items: T[], limit: number) {
  const data = items.slice(0, limit);
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: items.length > limit,
  };
}

export const listStoredCompletions = openaiRoute(async (req) => {
  const caller = await gatewayCaller(req);
  const params = new URL(req.url).searchParams;
  const q = ZListQuery.safeParse(Object.fromEntries([...params].filter(([k]) => !k.startsWith('metadata['))));
  if (!q.success) throw invalid(q.error);
  const { after, limit, order, model } = q.data;
  const where: Prisma.RequestLogContentWhereInput = {
    workspaceId: caller.workspaceId,
    ...(model ? { request: { model } } : {}),
    AND: Object.entries(metadataFilter(params)).map(([key, value]) => ({ metadata: { path: [key], equals: value } })),
  };
  if (after) {
    const cursor = await findLog(caller.workspaceId, after);
    if (!cursor) throw notFound(after);
    // Ordered by the request's time, then id: the rows past the cursor in that order.
    const at = cursor.request.createdAt;
    const past = order === 'asc' ? 'gt' : 'lt';
    (where.AND as Prisma.RequestLogContentWhereInput[]).push({
      OR: [{ request: { createdAt: { [past]: at } } }, { request: { createdAt: at }, requestId: { [past]: after } }],
    });
  }
  const rows = await getPrisma().requestLogContent.findMany({
    where,
    include: { request: true },
    orderBy: [{ request: { createdAt: order } }, { requestId: order }],
    take: limit + 1,
  });
  return Response.json(page(rows.map(completionObject), limit));
});

async function requireStored(req: Request, id: string) {
  const caller = await gatewayCaller(req);
  const row = await findLog(caller.workspaceId, id);
  if (!row) throw notFound(id);
  return row;
}

export const retrieveStoredCompletion = openaiRoute(async (req, { completionId }) =>
  Response.json(completionObject(await requireStored(req, completionId))),
);

const ZUpdate = z.object({ metadata: ZMetadata.nullable() });

/** POST /v1/chat/completions/{id}: replaces its metadata (the only change OpenAI allows). */
export const updateStoredCompletion = openaiRoute(async (req, { completionId }) => {
  const row = await requireStored(req, completionId);
  const raw = await readJson(req, BODY_LIMITS.json);
  const body = ZUpdate.safeParse(raw ?? {});
  if (!body.success) throw invalid(body.error);
  const updated = await getPrisma().requestLogContent.update({
    where: { requestId: row.requestId },
    data: { metadata: body.data.metadata ?? {} },
    include: { request: true },
  });
  return Response.json(completionObject(updated));
});

/** DELETE /v1/chat/completions/{id}: the kept messages and answer go; the request's metering row stays (billing). */
export const deleteStoredCompletion = openaiRoute(async (req, { completionId }) => {
  const row = await requireStored(req, completionId);
  await getPrisma().requestLogContent.delete({ where: { requestId: row.requestId } });
  return Response.json({ object: 'chat.completion.deleted', id: row.requestId, deleted: true });
});

/** GET /v1/chat/completions/{id}/messages: the request's messages, ids `{id}-{index}`. */
export const listStoredCompletionMessages = openaiRoute(async (req, { completionId }) => {
  const row = await requireStored(req, completionId);
  const q = ZMessagesQuery.safeParse(Object.fromEntries(new URL(req.url).searchParams));
  if (!q.success) throw invalid(q.error);
  const { after, limit, order } = q.data;
  const all = messagesOf(row).map((m, i) => ({
    id: `${row.requestId}-${i}`,
    role: m.role,
    content: m.content,
    name: null,
    content_parts: null,
  }));
  const ordered = order === 'asc' ? all : [...all].reverse();
  let start = 0;
  if (after) {
    start = ordered.findIndex((m) => m.id === after) + 1;
    if (start === 0) {
      throw new GatewayError(
        400,
        'invalid_request_error',
        'invalid_value',
        `No message ${after} in this completion.`,
        'after',
      );
    }
  }
  return Response.json(page(ordered.slice(start, start + limit + 1), limit));
});
