/**
 * Job events as stable codes with parameters (issue 13, item 11). Whoever writes an event (the console's job
 * creation and cancel, the CLI, the trainer worker) builds it here: the row keeps `code` + `params`, so the console
 * renders it in the reader's language from its message catalogue (`jobEvents.<code>` in apps/console/messages), and
 * `message` keeps the English sentence the REST API, the OpenAI-compatible API and the CLI print. Events written
 * before codes existed have no code; the console shows their stored text.
 *
 * Browser-safe: imports nothing, so the console's client code and tests can read the list of codes.
 */

type TParams = Record<string, string | number>;

const fixed = (n: number | undefined, digits: number) => (typeof n === 'number' ? n.toFixed(digits) : '');

/** Every event code and its English sentence. A new code needs an entry here and in both console catalogues. */
export const JOB_EVENTS = Object.freeze({
  job_created: () => 'Job created; waiting for a trainer worker.',
  job_created_cli: () => 'Job created from the CLI.',
  cancel_requested: () => 'Cancel requested.',
  cancel_requested_cli: () => 'Cancel requested (CLI).',
  cancelled_before_start: () => 'Cancelled before training started.',
  worker_claimed: (p: { worker: string; attempt: number }) => `Worker ${p.worker} took the job (attempt ${p.attempt}).`,
  resuming_from_checkpoint: (p: { step: number }) => `Resuming from the checkpoint at step ${p.step}.`,
  training_progress: (p: { step: number; totalSteps: number; loss?: string; evalLoss?: string; lr?: string }) =>
    [
      `Step ${p.step}/${p.totalSteps}`,
      p.loss ? `loss ${p.loss}` : '',
      p.evalLoss ? `eval loss ${p.evalLoss}` : '',
      p.lr ? `lr ${p.lr}` : '',
    ]
      .filter(Boolean)
      .join(', '),
  checkpoint_saved: (p: { step: number }) => `Checkpoint saved at step ${p.step}.`,
  trainer_examples: (p: { train: number; eval: number; backend: string }) =>
    `${p.train} training and ${p.eval} evaluation examples; backend ${p.backend}`,
  trainer_backend: (p: { summary: string; projections: string; embedding: string; lmHead: string; gc: string }) =>
    `${p.summary}; frozen weights: projections ${p.projections}, embedding ${p.embedding}, lm_head ${p.lmHead}; gradient checkpointing ${p.gc}`,
  trainer_continuing_adapter: (p: { path: string }) => `continuing adapter ${p.path}`,
  trainer_resuming: (p: { path: string }) => `resuming from ${p.path}`,
  trainer_cancelled: (p: { step: number; checkpoint: number }) =>
    `cancelled after step ${p.step}; checkpoint-${p.checkpoint} can be resumed`,
  trainer_cancelled_no_checkpoint: (p: { step: number }) =>
    `cancelled after step ${p.step}; no checkpoint was saved, so a new run starts from the beginning`,
  trainer_rows_dropped: (p: { dataset: string; count: number }) =>
    `warning: dataset ${p.dataset}: dropped ${p.count} invalid rows (as LLaMA-Factory does).`,
  trainer_placeholders: (p: { dataset: string }) =>
    `warning: dataset ${p.dataset} still holds {{name}}/{{author}}: set identity_name/identity_author (or CRUCIBLE_IDENTITY_NAME/AUTHOR).`,
  trainer_unlabelled: (p: { count: number }) =>
    `warning: ${p.count} training examples have no labelled tokens after cutoff_len.`,
  /** A line of the training core this list does not know yet: shown as it was written. */
  trainer_log: (p: { text: string }) => p.text,
  records_lost: (p: { count: number; details: string }) =>
    `${p.count} record(s) of this run could not be saved: ${p.details}`,
  cancelled: (p: { step: number }) => `Cancelled at step ${p.step}; the tokens trained so far are charged.`,
  // A job handed back or retried resumes from its newest checkpoint, or starts again when none was saved yet.
  handed_back: (p: { worker: string; step: number }) =>
    `Worker ${p.worker} is shutting down; the job goes back to the queue and resumes from its checkpoint at step ${p.step}.`,
  handed_back_restart: (p: { worker: string }) =>
    `Worker ${p.worker} is shutting down; the job goes back to the queue and starts again from the beginning (no checkpoint was saved yet).`,
  process_killed_retry: (p: { signal: string; step: number }) =>
    `The training process was killed (${p.signal}); the job goes back to the queue and resumes from its checkpoint at step ${p.step}.`,
  process_killed_restart: (p: { signal: string }) =>
    `The training process was killed (${p.signal}); the job goes back to the queue and starts again from the beginning (no checkpoint was saved yet).`,
  process_exited_retry: (p: { exitCode: number; step: number }) =>
    `The training process exited with code ${p.exitCode}; the job goes back to the queue and resumes from its checkpoint at step ${p.step}.`,
  process_exited_restart: (p: { exitCode: number }) =>
    `The training process exited with code ${p.exitCode}; the job goes back to the queue and starts again from the beginning (no checkpoint was saved yet).`,
  /** `errorCode` is the job's error code (JOB_ERROR_CODES); `message` the English detail stored on the job. */
  job_failed: (p: { errorCode: string; message: string }) => p.message,
  training_finished: (p: { steps: number; trainLoss: string; model: string }) =>
    `Training finished: ${p.steps} steps, train loss ${p.trainLoss}. Model ${p.model} is ready.`,
} satisfies Record<string, (p: never) => string>);

export type TJobEventCode = keyof typeof JOB_EVENTS;
export type TJobEventParams<C extends TJobEventCode> = Parameters<(typeof JOB_EVENTS)[C]>[0] extends undefined
  ? Record<string, never>
  : Parameters<(typeof JOB_EVENTS)[C]>[0];

export const JOB_EVENT_CODES = Object.keys(JOB_EVENTS) as TJobEventCode[];

/**
 * One example of every event, as the writers build them: the catalogue tests render each in every language and the
 * zh-CN browser test seeds a job with all of them. A new code is a type error here until it has an example.
 */
export const JOB_EVENT_EXAMPLES: { [C in TJobEventCode]: TJobEventParams<C> } = {
  job_created: {},
  job_created_cli: {},
  cancel_requested: {},
  cancel_requested_cli: {},
  cancelled_before_start: {},
  worker_claimed: { worker: 'trainer-1', attempt: 1 },
  resuming_from_checkpoint: { step: 20 },
  training_progress: { step: 3, totalSteps: 10, loss: '1.2345', evalLoss: '1.5000', lr: '5.00e-05' },
  checkpoint_saved: { step: 10 },
  trainer_examples: { train: 90, eval: 10, backend: 'cpu' },
  trainer_backend: {
    summary: 'cpu: 2 threads, sgemm avx2, bf16 widened',
    projections: 'f32',
    embedding: 'f32',
    lmHead: 'f32',
    gc: 'off',
  },
  trainer_continuing_adapter: { path: '/srv/adapters/v1' },
  trainer_resuming: { path: 'output/checkpoint-10' },
  trainer_cancelled: { step: 4, checkpoint: 4 },
  trainer_cancelled_no_checkpoint: { step: 2 },
  trainer_rows_dropped: { dataset: 'train', count: 2 },
  trainer_placeholders: { dataset: 'train' },
  trainer_unlabelled: { count: 3 },
  trainer_log: { text: 'a line of the training core not mapped yet' },
  records_lost: { count: 2, details: 'metrics of step 3 (database unavailable)' },
  cancelled: { step: 5 },
  handed_back: { worker: 'trainer-1', step: 10 },
  handed_back_restart: { worker: 'trainer-1' },
  process_killed_retry: { signal: 'SIGKILL', step: 10 },
  process_killed_restart: { signal: 'SIGKILL' },
  process_exited_retry: { exitCode: 137, step: 10 },
  process_exited_restart: { exitCode: 137 },
  job_failed: { errorCode: 'out_of_memory', message: 'The worker ran out of memory while training.' },
  training_finished: { steps: 12, trainLoss: '0.1234', model: 'ft:qwen2-tiny:ws::abcd1234' },
};

/**
 * The error codes a failed job can carry (TrainingJob.errorCode; the job_failed event's errorCode): the console
 * names each in the reader's language (`jobErrors.<code>`).
 */
export const JOB_ERROR_CODES = [
  'model_not_found',
  'invalid_file',
  'file_not_found',
  'invalid_training_file',
  'invalid_model',
  'invalid_hyperparameters',
  'checkpoint_unusable',
  'out_of_memory',
  'training_failed',
  'queue_unavailable',
] as const;

/** The row fields of one event: English `message` for the APIs, `code` + `params` for the console. */
export function jobEvent<C extends TJobEventCode>(
  code: C,
  ...[params]: TJobEventParams<C> extends Record<string, never> ? [] : [TJobEventParams<C>]
): { code: C; params: TParams; message: string } {
  const p = (params ?? {}) as TParams;
  const english = (JOB_EVENTS[code] as (p: TParams) => string)(p);
  return { code, params: p, message: english };
}

/** Loss and learning rate as the progress event writes them (so both languages show the same digits). */
export const formatLoss = (n: number | undefined) => fixed(n, 4);
export const formatLr = (n: number | undefined) => (typeof n === 'number' ? n.toExponential(2) : '');

/**
 * A line the training core logs (packages/trainer: run.ts, data/datasets.ts) as an event code. The core's lines are
 * shared with its own CLI, so they stay text there; this is the one place that knows their shape. An unknown line
 * becomes `trainer_log` with its text (and shows in English until it is added here).
 */
export function trainerLogEvent(line: string): ReturnType<typeof jobEvent> {
  const text = line.replace(/^\[crucible\] /, '');
  let m = /^(\d+) training and (\d+) evaluation examples; backend (.+)$/.exec(text);
  if (m) return jobEvent('trainer_examples', { train: Number(m[1]), eval: Number(m[2]), backend: m[3]! });
  m = /^(.+); frozen weights: projections (\S+), embedding (\S+), lm_head (\S+); gradient checkpointing (on|off)$/.exec(
    text,
  );
  if (m) {
    return jobEvent('trainer_backend', {
      summary: m[1]!,
      projections: m[2]!,
      embedding: m[3]!,
      lmHead: m[4]!,
      gc: m[5]!,
    });
  }
  m = /^continuing adapter (.+?)(?: \(r \d+, alpha .*\))?$/.exec(text);
  if (m) return jobEvent('trainer_continuing_adapter', { path: m[1]! });
  m = /^resuming from (.+)$/.exec(text);
  if (m) return jobEvent('trainer_resuming', { path: m[1]! });
  m = /^cancelled after step (\d+); checkpoint-(\d+) .*can be resumed$/.exec(text);
  if (m) return jobEvent('trainer_cancelled', { step: Number(m[1]), checkpoint: Number(m[2]) });
  m = /^cancelled after step (\d+); no checkpoint was saved/.exec(text);
  if (m) return jobEvent('trainer_cancelled_no_checkpoint', { step: Number(m[1]) });
  m = /^warning: dataset (.+): dropped (\d+) invalid rows/.exec(text);
  if (m) return jobEvent('trainer_rows_dropped', { dataset: m[1]!, count: Number(m[2]) });
  m = /^warning: dataset (.+) still holds \{\{name\}\}\/\{\{author\}\}/.exec(text);
  if (m) return jobEvent('trainer_placeholders', { dataset: m[1]! });
  m = /^warning: (\d+) training examples have no labelled tokens/.exec(text);
  if (m) return jobEvent('trainer_unlabelled', { count: Number(m[1]) });
  return jobEvent('trainer_log', { text });
}
