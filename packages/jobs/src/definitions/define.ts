import type { z } from 'zod';
import type { TQueueName } from '../constants';

/** What a handler gets besides its payload. */
export type TJobContext = {
  /** BullMQ's id of this entry (not the domain id, which is in the payload). */
  jobId: string;
  /** The worker running it (as in its heartbeat), to record on the domain row. */
  workerId: string;
  /** 1 for the first try, 2 for the first retry, ... */
  attempt: number;
  /**
   * Aborted when the worker shuts down and the grace period is over: stop, leave state consistent, return.
   * The job has already been handed back to the queue and will run again elsewhere.
   */
  signal: AbortSignal;
  /** A log line, prefixed with the worker's name and kept on the job entry. */
  log: (message: string) => void;
  updateProgress: (progress: number | object) => Promise<void>;
};

export type TJobHandler<TPayload> = (payload: TPayload, ctx: TJobContext) => Promise<unknown>;

/**
 * A job type: id, version and schema are the contract between the producer (console) and the worker. The
 * handler is imported lazily and only by the worker that runs it, so the console never loads worker code
 * (and its bundle never sees the training core).
 */
export type TJobDefinition<TSchema extends z.ZodType = z.ZodType> = {
  readonly id: string;
  /** Bump when the payload changes incompatibly; a worker refuses versions it does not know. */
  readonly version: number;
  readonly queue: TQueueName;
  readonly schema: TSchema;
  readonly handler?: () => Promise<{ default: TJobHandler<z.output<TSchema>> }>;
};

/** Any job definition, whatever its payload (for lists of them, such as a worker's jobs). */
export type TAnyJobDefinition = Omit<TJobDefinition, 'handler'> & {
  // `never` because handler parameters are contravariant: a handler of any payload fits here.
  readonly handler?: () => Promise<{ default: TJobHandler<never> }>;
};

export type TJobPayload<TDef extends TAnyJobDefinition> = z.input<TDef['schema']>;

const ID = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;

export function defineJob<TSchema extends z.ZodType>(def: TJobDefinition<TSchema>): Readonly<TJobDefinition<TSchema>> {
  if (!ID.test(def.id)) throw new Error(`job id "${def.id}" must be dotted lower-case words, e.g. "training.run"`);
  if (!Number.isInteger(def.version) || def.version < 1)
    throw new Error(`job "${def.id}": version must be an integer >= 1`);
  return Object.freeze({ ...def });
}

/** The BullMQ job name: id and version, so a worker can tell an old payload shape from a new one. */
export const jobName = (def: Pick<TJobDefinition, 'id' | 'version'>) => `${def.id}@${def.version}`;
