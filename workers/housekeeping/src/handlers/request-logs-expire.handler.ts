import { deleteExpiredRequestContent } from '@crucible/db';
import type { TJobContext, TRequestLogsExpirePayload } from '@crucible/jobs';

/**
 * `request-logs.expire` (repeatable): deletes the kept chat requests whose retention ran out (their metering rows
 * stay). A failed run is simply done again by the next one.
 */
export default async function runRequestLogsExpireJob(_payload: TRequestLogsExpirePayload, ctx: TJobContext) {
  const deleted = await deleteExpiredRequestContent(new Date());
  if (deleted) ctx.log(`request logs: deleted ${deleted} expired log(s)`);
  return { deleted };
}
