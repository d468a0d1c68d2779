import { isDatabaseUnavailable } from '@crucible/db';

/**
 * What a training run reports (metric rows, events, checkpoints, usage lines) goes through this outbox: writes run
 * one at a time in the order they were made, and a write that fails because the database (or storage) is away is
 * kept and retried with backoff until it lands. Issue 11, finding 4: a 10-second Postgres outage used to drop every
 * write made during it (metric steps 11-22 and the step-16 checkpoint lost) while the job still ended `succeeded`.
 *
 * Every write is idempotent (upserts by (job, step), usage by idempotency key), so retrying one that in fact
 * reached the database before its connection dropped changes nothing.
 *
 * A write that keeps failing for another reason (a bug, a constraint) is given up after `maxAttempts` and recorded
 * in `lost()`: the caller must not end the job `succeeded` without saying so.
 */

export type TOutboxOptions = {
  log?: (message: string) => void;
  /** First retry delay; doubles up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Attempts of a write that fails for a reason other than an outage. */
  maxAttempts?: number;
};

type TItem = { what: string; run: () => Promise<unknown> };

/** Errors worth waiting out: the database or object storage not answering. */
export function isTransient(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  const e = error as { code?: string; name?: string; message?: string } | null;
  if (e?.code === 'unavailable' || e?.name === 'S3Error') return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|EAI_AGAIN/.test(e?.message ?? '');
}

export function createOutbox(o: TOutboxOptions = {}) {
  const minDelay = o.minDelayMs ?? 250;
  const maxDelay = o.maxDelayMs ?? 5_000;
  const maxAttempts = o.maxAttempts ?? 5;
  const queue: TItem[] = [];
  const lost: { what: string; error: string }[] = [];
  let pumping = false;
  let retrying = 0;
  let closed = false;
  const waiters: (() => void)[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function pump() {
    while (queue.length && !closed) {
      const item = queue[0];
      let delay = minDelay;
      for (let attempt = 1; ; attempt++) {
        try {
          await item.run();
          break;
        } catch (error) {
          const transient = isTransient(error);
          if (!transient && attempt >= maxAttempts) {
            lost.push({ what: item.what, error: (error as Error).message });
            o.log?.(`gave up writing ${item.what}: ${(error as Error).message}`);
            break;
          }
          if (attempt === 1) o.log?.(`writing ${item.what} failed (${(error as Error).message}); retrying`);
          retrying = attempt;
          await sleep(delay);
          delay = Math.min(maxDelay, delay * 2);
          if (closed) return;
        }
      }
      retrying = 0;
      queue.shift();
    }
    pumping = false;
    for (const w of waiters.splice(0)) w();
  }

  return {
    /** Queues a write; it runs after every write queued before it. */
    add(what: string, run: () => Promise<unknown>): void {
      if (closed) return;
      queue.push({ what, run });
      if (!pumping) {
        pumping = true;
        void pump();
      }
    },
    /** Writes not yet in the database. */
    get pending(): number {
      return queue.length;
    },
    /** How many times the write at the head has been retried (0 while writes go through). */
    get retrying(): number {
      return retrying;
    },
    /** Writes given up (not an outage): the job must not end quietly as if they had landed. */
    lost(): { what: string; error: string }[] {
      return [...lost];
    },
    /** Resolves true once every queued write has landed (or been given up), false when `timeoutMs` passes first. */
    async drain(timeoutMs: number): Promise<boolean> {
      if (!queue.length) return true;
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise<boolean>((resolve) => waiters.push(() => resolve(true)));
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const ok = await Promise.race([done, timeout]);
      clearTimeout(timer);
      return ok;
    },
    /** Stops retrying; what is still queued stays unwritten (the run resumes from storage on another attempt). */
    close(): void {
      closed = true;
      for (const w of waiters.splice(0)) w();
    },
  };
}

export type TOutbox = ReturnType<typeof createOutbox>;
