/** Errors as typed codes with a human sentence: callers branch on `code`, people read `message`. */
export type TJobErrorCode =
  | 'invalid_payload' // the payload does not match the job's schema (at enqueue or in the worker)
  | 'unknown_job' // a worker got a job name/version it has no declaration for
  | 'not_found' // the row the job refers to does not exist
  | 'config_invalid' // the queue env does not validate
  | 'queue_unavailable' // Redis did not take the job in time
  | 'handler_failed'; // anything else a handler reports

export class JobError extends Error {
  readonly code: TJobErrorCode;
  /** false: retrying cannot help (bad input, missing row); the job fails at once instead of using its attempts. */
  readonly retryable: boolean;

  constructor(code: TJobErrorCode, message: string, options?: { retryable?: boolean; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'JobError';
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

export const isJobError = (error: unknown, code?: TJobErrorCode): error is JobError =>
  error instanceof JobError && (code === undefined || error.code === code);
