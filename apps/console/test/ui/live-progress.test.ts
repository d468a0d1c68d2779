import { describe, expect, it } from 'vitest';
import { costKind, liveProgress } from '@/components/fine-tuning/live-progress';

describe('job progress card (issue 13, item 9)', () => {
  it('takes the step from the streamed metrics when the job row lags behind the chart', () => {
    // The row said step 0 while the chart had 14 steps: the card showed "Step 0, 0%".
    const p = liveProgress({ status: 'running', progress: { step: 0, totalSteps: 36, percentage: 0 } }, { step: 14 });
    expect(p.step).toBe(14);
    expect(p.percentage).toBeCloseTo((100 * 14) / 36);
    // 16/36 on the card while the chart showed 27.
    const q = liveProgress(
      { status: 'running', progress: { step: 16, totalSteps: 36, percentage: 44.4, epoch: 1.3 } },
      { step: 27, epoch: 2.25 },
    );
    expect(q).toMatchObject({ step: 27, totalSteps: 36, epoch: 2.25 });
    expect(q.percentage).toBe(75);
  });

  it('keeps the row when it is ahead, never passes the total, and shows 100% once succeeded', () => {
    expect(liveProgress({ status: 'running', progress: { step: 20, totalSteps: 36 } }, { step: 12 }).step).toBe(20);
    expect(liveProgress({ status: 'running', progress: { step: 36, totalSteps: 36 } }, { step: 40 }).step).toBe(36);
    expect(liveProgress({ status: 'succeeded', progress: { step: 30, totalSteps: 36 } }, undefined).percentage).toBe(
      100,
    );
    expect(liveProgress({ status: 'queued', progress: null }, undefined)).toEqual({
      step: 0,
      totalSteps: null,
      epoch: null,
      percentage: null,
    });
  });

  it('says whether the cost is the estimate, the running charge or the final charge', () => {
    const cost = { amount: '0.01', currency: 'USD' };
    expect(costKind({ status: 'running', cost: { ...cost, estimated: true } })).toBe('estimated');
    expect(costKind({ status: 'running', cost: { ...cost, estimated: false } })).toBe('soFar');
    expect(costKind({ status: 'succeeded', cost: { ...cost, estimated: false } })).toBe('final');
    expect(costKind({ status: 'cancelled', cost: { ...cost, estimated: false } })).toBe('final');
    expect(costKind({ status: 'queued', cost: null })).toBeNull();
  });
});
