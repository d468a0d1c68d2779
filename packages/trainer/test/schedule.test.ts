import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lrAt, scheduleProblem, type TScheduleType, warmupStepsFor } from '../src/train/schedule';

/** Learning rates Transformers' get_scheduler produced (test/golden/make_schedules.py, committed). */
const golden = JSON.parse(readFileSync(new URL('./golden/schedules.json', import.meta.url), 'utf8')) as {
  transformers: string;
  cases: {
    type: TScheduleType;
    totalSteps: number;
    warmupSteps: number;
    kwargs: Record<string, unknown>;
    baseLr: number;
    lrs: number[];
  }[];
};

// Written from transformers/optimization.py (the lr_lambda closures) independently of src/train/schedule.ts.
function hfLambda(name: string, cur: number, warm: number, total: number): number {
  switch (name) {
    case 'constant':
      return 1.0;
    case 'constant_with_warmup':
      return cur < warm ? cur / Math.max(1.0, warm) : 1.0;
    case 'linear':
      if (cur < warm) return cur / Math.max(1, warm);
      return Math.max(0.0, (total - cur) / Math.max(1, total - warm));
    case 'cosine': {
      if (cur < warm) return cur / Math.max(1, warm);
      const progress = (cur - warm) / Math.max(1, total - warm);
      return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * progress)));
    }
  }
  throw new Error(name);
}

describe('learning-rate schedules (HF get_scheduler)', () => {
  it('warmup steps: explicit steps win, otherwise ceil(ratio * total)', () => {
    expect(warmupStepsFor(75, 0.1)).toBe(8); // LLaMA-Factory identity run: 3 epochs x 25 steps
    expect(warmupStepsFor(100, 0.1)).toBe(10);
    expect(warmupStepsFor(100, 0.1, 3)).toBe(3);
    expect(warmupStepsFor(7, 0)).toBe(0);
  });

  for (const name of ['constant', 'constant_with_warmup', 'linear', 'cosine'] as const) {
    for (const [total, warm] of [
      [75, 8],
      [10, 0],
      [5, 5],
      [1, 1],
    ]) {
      it(`${name} total=${total} warmup=${warm} matches the HF lambdas at every step`, () => {
        for (let s = 0; s <= total; s++) {
          const got = lrAt({ type: name, baseLr: 1e-4, totalSteps: total, warmupSteps: warm }, s);
          expect(got).toBeCloseTo(1e-4 * hfLambda(name, s, warm, total), 15);
        }
      });
    }
  }

  it('known values: cosine halfway is half the base lr, linear ends at zero, warmup starts at zero', () => {
    const cos = { type: 'cosine' as const, baseLr: 2e-4, totalSteps: 110, warmupSteps: 10 };
    expect(lrAt(cos, 0)).toBe(0);
    expect(lrAt(cos, 5)).toBeCloseTo(1e-4, 15);
    expect(lrAt(cos, 10)).toBeCloseTo(2e-4, 15);
    expect(lrAt(cos, 60)).toBeCloseTo(1e-4, 15);
    expect(lrAt(cos, 110)).toBeCloseTo(0, 15);
    const lin = { type: 'linear' as const, baseLr: 1, totalSteps: 20, warmupSteps: 4 };
    expect(lrAt(lin, 12)).toBeCloseTo(0.5, 15);
    expect(lrAt(lin, 20)).toBe(0);
    expect(lrAt({ type: 'constant', baseLr: 3, totalSteps: 20, warmupSteps: 4 }, 0)).toBe(3);
  });
});

describe(`every other schedule, against Transformers ${golden.transformers} (get_scheduler with lr_scheduler_kwargs)`, () => {
  // Same formulas in float64: only the order of operations may differ, so 1e-12 relative (plus 1e-20 absolute for 0).
  for (const c of golden.cases) {
    it(`${c.type} total=${c.totalSteps} warmup=${c.warmupSteps} ${JSON.stringify(c.kwargs)}`, () => {
      expect(scheduleProblem(c.type, c.kwargs, c.baseLr)).toBeNull();
      c.lrs.forEach((want, step) => {
        const got = lrAt(
          { type: c.type, baseLr: c.baseLr, totalSteps: c.totalSteps, warmupSteps: c.warmupSteps, kwargs: c.kwargs },
          step,
        );
        if (!(Math.abs(got - want) <= 1e-12 * Math.abs(want) + 1e-20)) {
          throw new Error(`step ${step}: ${got}, Transformers ${want}`);
        }
      });
    });
  }

  it('refuses options a schedule does not take, and the combinations Transformers refuses', () => {
    expect(scheduleProblem('linear', { num_cycles: 2 }, 1e-4)).toMatch(/not an option of the "linear" schedule/);
    expect(scheduleProblem('polynomial', { lr_end: 1e-3 }, 1e-4)).toBe(
      'lr_end (0.001) must be smaller than initial lr (0.0001)',
    );
    expect(scheduleProblem('cosine_with_min_lr', {}, 1e-4)).toMatch(/One of min_lr or min_lr_rate/);
    expect(scheduleProblem('cosine_with_min_lr', { min_lr: 1e-6, min_lr_rate: 0.1 }, 1e-4)).toMatch(/Only one of/);
    expect(scheduleProblem('warmup_stable_decay', {}, 1e-4)).toMatch(/num_decay_steps/);
    expect(scheduleProblem('warmup_stable_decay', { num_decay_steps: 3, decay_type: 'exp' }, 1e-4)).toMatch(
      /Unknown decay type: exp/,
    );
  });
});
