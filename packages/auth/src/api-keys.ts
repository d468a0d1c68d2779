import { createHash, randomBytes } from 'node:crypto';
import { getPrisma } from '@crucible/db';

/**
 * Workspace API keys.
 *
 * Why not better-auth's api-key plugin: its only 1.7 release
 * (@better-auth/api-key 1.7.5) pins exact peer versions (@better-auth/utils
 * 0.4.2, better-call 1.4.0) that conflict with better-auth 1.7.25's own
 * dependencies, so `npm install` refuses it (ERESOLVE) without
 * --legacy-peer-deps for the whole monorepo. This module keeps the plugin's
 * table (`apikey`) and its storage format exactly — SHA-256 of the key,
 * base64url without padding, in `key`; the first characters in `start`; the
 * owner in `referenceId` — so switching to the plugin later (with
 * `references: 'organization'`) needs no data migration.
 *
 * Ownership: a key belongs to a workspace, not to a person. `referenceId` is
 * the workspace id (what the plugin does for organization-owned keys);
 * `metadata.createdBy` records who made it. Removing the member who created a
 * key does not revoke it; revoking it does.
 */
export const API_KEY_PREFIX = 'crk_';
/** Characters kept in clear (`start`) so people can tell their keys apart. */
const START_CHARS = 12;
const LAST_USED_RESOLUTION_MS = 60_000;

export type TApiKeySummary = {
  id: string;
  name: string | null;
  /** The first characters of the key, e.g. `crk_AbC12345`; never the whole key. */
  start: string | null;
  prefix: string | null;
  workspaceId: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  createdBy: string | null;
};

export type TCreatedApiKey = TApiKeySummary & {
  /** The key itself. Returned once, at creation; only its hash is stored. */
  key: string;
};

/** Same hash as better-auth's api-key plugin (defaultKeyHasher). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(API_KEY_PREFIX) && value.length > API_KEY_PREFIX.length + 16;
}

type TApiKeyRow = {
  id: string;
  name: string | null;
  start: string | null;
  prefix: string | null;
  referenceId: string;
  createdAt: Date;
  lastRequest: Date | null;
  expiresAt: Date | null;
  metadata: unknown;
  enabled: boolean | null;
};

function parseMetadata(metadata: unknown): Record<string, unknown> {
  if (metadata && typeof metadata === 'object') return metadata as Record<string, unknown>;
  if (typeof metadata === 'string') {
    try {
      const parsed = JSON.parse(metadata) as unknown;
      if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
    } catch {
      // not JSON: treat as no metadata
    }
  }
  return {};
}

function toSummary(row: TApiKeyRow): TApiKeySummary {
  const createdBy = parseMetadata(row.metadata).createdBy;
  return {
    id: row.id,
    name: row.name,
    start: row.start,
    prefix: row.prefix,
    workspaceId: row.referenceId,
    createdAt: row.createdAt,
    lastUsedAt: row.lastRequest,
    expiresAt: row.expiresAt,
    createdBy: typeof createdBy === 'string' ? createdBy : null,
  };
}

export async function createWorkspaceApiKey(input: {
  workspaceId: string;
  name?: string | null;
  createdBy?: string | null;
  expiresAt?: Date | null;
}): Promise<TCreatedApiKey> {
  const prisma = getPrisma();
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  const now = new Date();
  const row = (await prisma.apikey.create({
    data: {
      name: input.name ?? null,
      start: key.slice(0, START_CHARS),
      prefix: API_KEY_PREFIX,
      key: hashApiKey(key),
      referenceId: input.workspaceId,
      enabled: true,
      // Our own API routes are the rate limit's business, not the key row's.
      rateLimitEnabled: false,
      requestCount: 0,
      expiresAt: input.expiresAt ?? null,
      metadata: JSON.stringify({ createdBy: input.createdBy ?? null }),
      createdAt: now,
      updatedAt: now,
    },
  })) as TApiKeyRow;
  return { ...toSummary(row), key };
}

export async function listWorkspaceApiKeys(workspaceId: string): Promise<TApiKeySummary[]> {
  const rows = (await getPrisma().apikey.findMany({
    where: { referenceId: workspaceId, enabled: true },
    orderBy: { createdAt: 'desc' },
  })) as TApiKeyRow[];
  return rows.map(toSummary);
}

/** Deletes the key; returns false when no such key exists in this workspace. */
export async function revokeWorkspaceApiKey(workspaceId: string, keyId: string): Promise<boolean> {
  const result = await getPrisma().apikey.deleteMany({ where: { id: keyId, referenceId: workspaceId } });
  return result.count > 0;
}

/**
 * The key's summary when `key` is a live key, else null. Records the time of
 * use (`lastRequest`), which the console shows as "last used".
 */
export async function verifyApiKey(key: string): Promise<TApiKeySummary | null> {
  if (!looksLikeApiKey(key)) return null;
  const prisma = getPrisma();
  const row = (await prisma.apikey.findFirst({ where: { key: hashApiKey(key) } })) as TApiKeyRow | null;
  if (!row || row.enabled === false) return null;
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return null;
  // "Last used" to the minute is enough; not writing on every request keeps a busy key (the chat gateway) cheap.
  const now = new Date();
  if (!row.lastRequest || now.getTime() - row.lastRequest.getTime() >= LAST_USED_RESOLUTION_MS) {
    await prisma.apikey.update({ where: { id: row.id }, data: { lastRequest: now } });
    return toSummary({ ...row, lastRequest: now });
  }
  return toSummary(row);
}
