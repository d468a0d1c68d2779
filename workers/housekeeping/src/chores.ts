import { scheduleRepeatable, type TAnyJobDefinition, type TQueueTarget } from '@crucible/jobs';

/**
 * Registers one of the housekeeping queue's repeatable chores (billing accrual, request-log and upload expiry): first
 * run at once, then every `everyMs`. Every housekeeping worker calls it at boot and the one scheduler id keeps one
 * schedule; priority 1, so a run goes ahead of imports and exports waiting on the queue.
 */
export async function scheduleChore(
  def: TAnyJobDefinition,
  schedulerId: string,
  everyMs: number,
  target: TQueueTarget = {},
): Promise<void> {
  await scheduleRepeatable(def, {}, { schedulerId, everyMs }, { ...target, job: { priority: 1 } });
}
