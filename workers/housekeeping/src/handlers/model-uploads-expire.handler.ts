import type { TJobContext, TModelUploadsExpirePayload } from '@crucible/jobs';
import { expireModelUploads } from '@crucible/services/model-uploads';

/**
 * `model-uploads.expire` (repeatable): cancels model archive uploads left unfinished past MODEL_UPLOAD_EXPIRE_DAYS,
 * so storage drops their parts. A failed run is simply done again by the next one.
 */
export default async function runModelUploadsExpireJob(_payload: TModelUploadsExpirePayload, ctx: TJobContext) {
  const cancelled = await expireModelUploads(new Date());
  if (cancelled) ctx.log(`model uploads: cancelled ${cancelled} upload(s) left unfinished`);
  return { cancelled };
}
