import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { getPrisma } from '@crucible/db';
import { ServiceError } from './errors';

/**
 * A workspace's secrets at rest (issue 14: the access token of a gated Hugging Face or ModelScope repo). AES-256-GCM
 * with a 96-bit random IV per value; the key is derived from the instance secret (BETTER_AUTH_SECRET, which
 * `npm start` keeps in .data/secret and hands to the console and every worker) with HKDF-SHA256 for this purpose
 * only, so it is never the key that signs sessions or storage links. The workspace id and the secret's kind are the
 * additional authenticated data: a value copied into another workspace's row does not decrypt. The console encrypts,
 * the housekeeping worker decrypts when it downloads; no route ever returns the value.
 */

export const HUB_TOKEN_KINDS = { huggingface: 'huggingface_token', modelscope: 'modelscope_token' } as const;
export type THubName = keyof typeof HUB_TOKEN_KINDS;

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function instanceSecret(env: NodeJS.ProcessEnv): string {
  const secret = env.BETTER_AUTH_SECRET;
  if (!secret) {
    throw new ServiceError(
      'unavailable',
      'Secrets cannot be stored or read: the instance secret BETTER_AUTH_SECRET is not set (npm start sets it from .data/secret; the console and the workers must share it).',
    );
  }
  return secret;
}

const keyOf = (secret: string) =>
  Buffer.from(hkdfSync('sha256', secret, 'crucible', 'crucible/workspace-secrets/v1', 32));

const aadOf = (workspaceId: string, kind: string) => Buffer.from(`${workspaceId}\u0000${kind}`);

export function encryptSecret(
  plain: string,
  at: { workspaceId: string; kind: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(instanceSecret(env)), iv);
  cipher.setAAD(aadOf(at.workspaceId, at.kind));
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url')}`;
}

export function decryptSecret(
  stored: string,
  at: { workspaceId: string; kind: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  const [version, body] = stored.split(':');
  const raw = Buffer.from(body ?? '', 'base64url');
  if (version !== VERSION || raw.length < IV_BYTES + TAG_BYTES) {
    throw new ServiceError(
      'invalid_request',
      'The stored secret is not in a format this version reads; save it again.',
    );
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(instanceSecret(env)), raw.subarray(0, IV_BYTES));
    decipher.setAAD(aadOf(at.workspaceId, at.kind));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new ServiceError(
      'invalid_request',
      'The stored access token cannot be decrypted: the instance secret (BETTER_AUTH_SECRET) changed since it was saved, or this process has another one than the console; save the token again.',
    );
  }
}

/** Saves (or replaces) the workspace's access token for a hub, encrypted. */
export async function saveHubToken(workspaceId: string, hub: THubName, token: string, userId: string | null) {
  const kind = HUB_TOKEN_KINDS[hub];
  const ciphertext = encryptSecret(token, { workspaceId, kind });
  const hint = token.slice(-4);
  await getPrisma().workspaceSecret.upsert({
    where: { workspaceId_kind: { workspaceId, kind } },
    create: { workspaceId, kind, ciphertext, hint, createdById: userId },
    update: { ciphertext, hint, createdById: userId },
  });
}

/** Which hubs the workspace has a token for (never the tokens): `{huggingface: "…abcd" | null, ...}`. */
export async function hubTokenHints(workspaceId: string): Promise<Record<THubName, string | null>> {
  const rows = await getPrisma().workspaceSecret.findMany({
    where: { workspaceId, kind: { in: Object.values(HUB_TOKEN_KINDS) } },
    select: { kind: true, hint: true },
  });
  const hint = (kind: string) => rows.find((r) => r.kind === kind)?.hint ?? null;
  return { huggingface: hint(HUB_TOKEN_KINDS.huggingface), modelscope: hint(HUB_TOKEN_KINDS.modelscope) };
}

export async function deleteHubToken(workspaceId: string, hub: THubName): Promise<boolean> {
  const r = await getPrisma().workspaceSecret.deleteMany({ where: { workspaceId, kind: HUB_TOKEN_KINDS[hub] } });
  return r.count > 0;
}

/** The decrypted token, for the worker that downloads (and marks it used); null when none is stored. */
export async function readHubToken(workspaceId: string, hub: THubName): Promise<string | null> {
  const kind = HUB_TOKEN_KINDS[hub];
  const row = await getPrisma().workspaceSecret.findUnique({ where: { workspaceId_kind: { workspaceId, kind } } });
  if (!row) return null;
  const token = decryptSecret(row.ciphertext, { workspaceId, kind });
  await getPrisma()
    .workspaceSecret.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } })
    .catch(() => undefined);
  return token;
}
