/**
 * Learning-rate schedules with Hugging Face `transformers.get_scheduler` semantics. A schedule is a pure function of
 * the number of optimizer steps already taken (torch LambdaLR's `last_epoch`): the update that makes step k+1 uses
 * lr = base * factor(k), so the very first update of a warmup schedule has lr 0, exactly as in the HF Trainer.
 * Options a schedule takes beyond warmup and total steps come from `lr_scheduler_kwargs`, with Transformers'
 * names and defaults.
 */

export const SCHEDULE_TYPES = [
  'constant',
  'constant_with_warmup',
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'inverse_sqrt',
  'cosine_with_min_lr',
  'warmup_stable_decay',
] as const;
export type TScheduleType = (typeof SCHEDULE_TYPES)[number];

/** The `lr_scheduler_kwargs` each schedule accepts (Transformers raises a TypeError on any other key). */
export const SCHEDULE_KWARGS: Record<TScheduleType, readonly string[]> = {
  constant: [],
  constant_with_warmup: [],
  linear: [],
  cosine: ['num_cycles'],
  cosine_with_restarts: ['num_cycles'],
  polynomial: ['lr_end', 'power'],
  inverse_sqrt: [],
  cosine_with_min_lr: ['num_cycles', 'min_lr', 'min_lr_rate'],
  warmup_stable_decay: [
    'num_decay_steps',
    'num_stable_steps',
    'warmup_type',
    'decay_type',
    'min_lr_ratio',
    'num_cycles',
  ],
};

export type ScheduleOptions = {
  type: TScheduleType;
  baseLr: number;
  totalSteps: number;
  warmupSteps: number;
  /** Cosine only (kept for callers that set it directly); `kwargs.num_cycles` is the config's way. */
  numCycles?: number;
  kwargs?: Record<string, unknown>;
};

export class ScheduleError extends Error {}

/** TrainingArguments.get_warmup_steps: explicit warmup_steps win, else ceil(ratio * total). */
export function warmupStepsFor(totalSteps: number, warmupRatio = 0, warmupSteps = 0): number {
  return warmupSteps > 0 ? warmupSteps : Math.ceil(totalSteps * warmupRatio);
}

const SHAPES = ['linear', 'cosine', '1-sqrt'] as const;

/**
 * Checks `lr_scheduler_kwargs` for a schedule as get_scheduler would (unknown keys, required and exclusive options,
 * value ranges); returns the message Transformers raises, or null.
 */
export function scheduleProblem(type: TScheduleType, kwargs: Record<string, unknown>, baseLr: number): string | null {
  const allowed = SCHEDULE_KWARGS[type];
  for (const k of Object.keys(kwargs)) {
    if (!allowed.includes(k)) {
      return `lr_scheduler_kwargs.${k} is not an option of the "${type}" schedule (it takes ${allowed.length ? allowed.join(', ') : 'none'}).`;
    }
  }
  for (const [k, v] of Object.entries(kwargs)) {
    if (k === 'warmup_type' || k === 'decay_type') {
      if (!SHAPES.includes(v as (typeof SHAPES)[number])) {
        return `Unknown ${k === 'warmup_type' ? 'warmup' : 'decay'} type: ${String(v)}, expected 'linear', 'cosine' or '1-sqrt'`;
      }
    } else if (typeof v !== 'number' || !Number.isFinite(v)) {
      return `lr_scheduler_kwargs.${k} must be a number (got ${JSON.stringify(v)}).`;
    }
  }
  if (type === 'polynomial' && !(baseLr > ((kwargs.lr_end as number | undefined) ?? 1e-7))) {
    return `lr_end (${(kwargs.lr_end as number | undefined) ?? 1e-7}) must be smaller than initial lr (${baseLr})`;
  }
  if (type === 'cosine_with_min_lr') {
    if (kwargs.min_lr !== undefined && kwargs.min_lr_rate !== undefined)
      return 'Only one of min_lr or min_lr_rate should be set';
    if (kwargs.min_lr === undefined && kwargs.min_lr_rate === undefined) {
      return 'One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`';
    }
  }
  if (type === 'warmup_stable_decay' && kwargs.num_decay_steps === undefined) {
    return 'The "warmup_stable_decay" schedule needs lr_scheduler_kwargs.num_decay_steps.';
  }
  return null;
}

const num = (kw: Record<string, unknown>, k: string, dflt: number): number => (kw[k] as number | undefined) ?? dflt;
const warmupFactor = (step: number, warm: number) => step / Math.max(1, warm);

/** The multiplier of the base lr after `step` optimizer steps (0-based). */
export function lrFactor(opts: ScheduleOptions, step: number): number {
  const { type, totalSteps: total, warmupSteps: warm, baseLr } = opts;
  const kw = opts.kwargs ?? {};
  // HF's get_scheduler builds "constant" without warmup even when warmup is configured.
  if (type === 'constant') return 1;
  if (type === 'warmup_stable_decay') return wsdFactor(step, warm, total, kw);
  if (step < warm) return warmupFactor(step, warm);
  const progress = (step - warm) / Math.max(1, total - warm);
  switch (type) {
    case 'constant_with_warmup':
      return 1;
    case 'linear':
      return Math.max(0, (total - step) / Math.max(1, total - warm));
    case 'cosine': {
      const cycles = num(kw, 'num_cycles', opts.numCycles ?? 0.5);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
    }
    case 'cosine_with_restarts': {
      if (progress >= 1) return 0;
      const cycles = num(kw, 'num_cycles', 1);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((cycles * progress) % 1))));
    }
    case 'polynomial': {
      const end = num(kw, 'lr_end', 1e-7);
      if (step > total) return end / baseLr;
      const remaining = 1 - (step - warm) / Math.max(1, total - warm);
      return ((baseLr - end) * remaining ** num(kw, 'power', 1) + end) / baseLr;
    }
    case 'inverse_sqrt': {
      // Transformers: timescale defaults to the warmup steps, or 10,000 without warmup.
      const timescale = warm || 10_000;
      return 1 / Math.sqrt((step + timescale - warm) / timescale);
    }
    case 'cosine_with_min_lr': {
      const rate = kw.min_lr !== undefined ? (kw.min_lr as number) / baseLr : num(kw, 'min_lr_rate', 0);
      const f = 0.5 * (1 + Math.cos(Math.PI * num(kw, 'num_cycles', 0.5) * 2 * progress));
      return Math.max(0, f * (1 - rate) + rate);
    }
  }
  throw new ScheduleError(`unknown schedule ${String(type)}`);
}

/** Warmup, a stable stretch at the base lr, then a decay to min_lr_ratio (Transformers' get_wsd_schedule). */
function wsdFactor(step: number, warm: number, total: number, kw: Record<string, unknown>): number {
  const decay = num(kw, 'num_decay_steps', 0);
  const stable = kw.num_stable_steps !== undefined ? (kw.num_stable_steps as number) : total - warm - decay;
  const minRatio = num(kw, 'min_lr_ratio', 0);
  const shape = (kind: string, p: number, rising: boolean): number => {
    if (kind === 'linear') return rising ? p : 1 - p;
    if (kind === 'cosine') {
      return rising
        ? 0.5 * (1 - Math.cos(Math.PI * p))
        : 0.5 * (1 + Math.cos(Math.PI * num(kw, 'num_cycles', 0.5) * 2 * p));
    }
    return rising ? 1 - Math.sqrt(1 - p) : 1 - Math.sqrt(p);
  };
  if (step < warm) {
    const f = shape((kw.warmup_type as string | undefined) ?? 'linear', step / Math.max(1, warm), true);
    return Math.max(0, f * (1 - minRatio) + minRatio);
  }
  if (step < warm + stable) return 1;
  if (step < warm + stable + decay) {
    const p = (step - warm - stable) / Math.max(1, decay);
    const f = shape((kw.decay_type as string | undefined) ?? 'cosine', p, false);
    return Math.max(0, f * (1 - minRatio) + minRatio);
  }
  return minRatio;
}

export function lrAt(opts: ScheduleOptions, step: number): number {
  return opts.baseLr * lrFactor(opts, step);
}
