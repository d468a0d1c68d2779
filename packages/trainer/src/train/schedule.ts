/**
 * Learning-rate schedules with Hugging Face `transformers.get_scheduler` semantics. A schedule is a pure function of
 * the number of optimizer steps already taken (torch LambdaLR's `last_epoch`): the update that makes step k+1 uses
 * lr = base * factor(k), so the very first update of a warmup schedule has lr 0, exactly as in the HF Trainer.
 */

export type TScheduleType = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';

export const SCHEDULE_TYPES: readonly TScheduleType[] = ['constant', 'constant_with_warmup', 'linear', 'cosine'];

export type ScheduleOptions = {
  type: TScheduleType;
  baseLr: number;
  totalSteps: number;
  warmupSteps: number;
  /** Cosine only; HF's default 0.5 is a half cosine from base to 0. */
  numCycles?: number;
};

/** TrainingArguments.get_warmup_steps: explicit warmup_steps win, else ceil(ratio * total). */
export function warmupStepsFor(totalSteps: number, warmupRatio = 0, warmupSteps = 0): number {
  return warmupSteps > 0 ? warmupSteps : Math.ceil(totalSteps * warmupRatio);
}

/** The multiplier of the base lr after `step` optimizer steps (0-based). */
export function lrFactor(opts: ScheduleOptions, step: number): number {
  const { type, totalSteps, warmupSteps } = opts;
  // HF's get_scheduler builds "constant" without warmup even when warmup is configured.
  if (type === 'constant') return 1;
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  if (type === 'constant_with_warmup') return 1;
  if (type === 'linear') return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  const cycles = opts.numCycles ?? 0.5;
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
}

export function lrAt(opts: ScheduleOptions, step: number): number {
  return opts.baseLr * lrFactor(opts, step);
}
