import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { StorageError } from './errors';
import { assertValidKey } from './keys';

/**
 * Signed tokens for the local driver's presigned URLs: `base64url(json claims).base64url(hmac-sha256)`.
 * The claims carry everything the route needs (key, size limit, content type, expiry), so the route keeps no
 * state, exactly like an S3 presigned URL.
 */

export const ZStorageTokenClaims = z.object({
  v: z.literal(1),
  /** put: a whole object; part: one part of a multipart upload (uploadId, partNumber); get: a download */
  op: z.enum(['put', 'part', 'get']),
  key: z.string(),
  /** expiry, seconds since the epoch */
  exp: z.number().int(),
  maxBytes: z.number().int().nonnegative().optional(),
  contentType: z.string().optional(),
  /** get: serve as an attachment with this file name */
  filename: z.string().max(255).optional(),
  uploadId: z.string().max(100).optional(),
  partNumber: z.number().int().positive().optional(),
});
export type TStorageTokenClaims = z.infer<typeof ZStorageTokenClaims>;

// A key derived for this one purpose, so a token can never double as a session or any other signature made
// with the same app secret.
const signingKey = (secret: string) => createHmac('sha256', secret).update('crucible/storage-token/v1').digest();

const mac = (secret: string, payload: string) =>
  createHmac('sha256', signingKey(secret)).update(payload).digest('base64url');

export function signStorageToken(secret: string, claims: TStorageTokenClaims): string {
  assertValidKey(claims.key);
  const payload = Buffer.from(JSON.stringify(ZStorageTokenClaims.parse(claims))).toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

/** Verifies signature, expiry and operation; returns the claims or throws token_invalid / token_expired. */
export function verifyStorageToken(
  secret: string,
  token: string | null | undefined,
  op: TStorageTokenClaims['op'] | TStorageTokenClaims['op'][],
  now: number = Date.now(),
): TStorageTokenClaims {
  const invalid = () => new StorageError('token_invalid', 'The storage link is not valid.');
  if (!token) throw invalid();
  const dot = token.indexOf('.');
  if (dot <= 0) throw invalid();
  const payload = token.slice(0, dot);
  // Compare the encoded strings, not decoded bytes: base64 decoders ignore the last character's spare bits,
  // so several spellings decode to the same MAC and a byte comparison would accept all of them.
  const given = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(mac(secret, payload));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let claims: TStorageTokenClaims;
  try {
    claims = ZStorageTokenClaims.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    throw invalid();
  }
  const ops = Array.isArray(op) ? op : [op];
  if (!ops.includes(claims.op))
    throw new StorageError(
      'token_invalid',
      `The storage link is not valid for ${ops.includes('get') ? 'downloads' : 'uploads'}.`,
    );
  if (claims.exp * 1000 < now) throw new StorageError('token_expired', 'The storage link has expired.');
  assertValidKey(claims.key);
  return claims;
}
