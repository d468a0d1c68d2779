// @vitest-environment node
import { describe, expect, it } from 'vitest';
import type { TResolvedModel } from '../../lib/server/gateway/models';
import { isStale, rankWorkers, type TServingWorker, trackRequest } from '../../lib/server/gateway/workers';

/** The gateway's choice of serving worker (lib/server/gateway/workers.ts), on registry entries written by hand. */

const model: TResolvedModel = {
  openaiId: 'ft:x',
  kind: 'fine_tuned',
  modelId: 'ft1',
  baseModelId: 'b1',
  fineTunedModelId: 'ft1',
  deploymentId: 'd1',
  logRequests: false,
  logRetentionDays: null,
};
const fresh = () => new Date().toISOString();
const w = (id: string, over: Partial<TServingWorker> = {}): TServingWorker => ({
  workerId: id,
  url: `http://${id}`,
  bases: [],
  adapters: [],
  deployments: [],
  updatedAt: fresh(),
  heartbeatMs: 5000,
  ...over,
});

describe('rankWorkers', () => {
  it('prefers a ready replica of the deployment, then the adapter, then the base, then anyone', () => {
    const ranked = rankWorkers(model, [
      w('any'),
      w('base', { bases: ['b1'] }),
      w('adapter', { bases: ['b1'], adapters: ['ft1'] }),
      w('replica', { deployments: ['d1'], replicas: { d1: 1 } }),
    ]);
    expect(ranked.map((x) => x.workerId)).toEqual(['replica', 'adapter', 'base', 'any']);
  });

  it('sends the next request to the least loaded replica per replica, counting requests this console has open', () => {
    const two = w('two', { deployments: ['d1'], replicas: { d1: 2 } });
    const one = w('one', { deployments: ['d1'], replicas: { d1: 1 } });
    const picks: string[] = [];
    const done: (() => void)[] = [];
    for (let i = 0; i < 6; i++) {
      const [first] = rankWorkers(model, [two, one]);
      picks.push(first.workerId);
      done.push(trackRequest(first.workerId));
    }
    // 2 replicas take twice the requests of 1: loads end at 4/2 and 2/1
    expect(picks.filter((p) => p === 'two')).toHaveLength(4);
    expect(picks.filter((p) => p === 'one')).toHaveLength(2);
    for (const d of done) d();
    done[0](); // releasing twice counts once
  });

  it('also weighs what the worker itself last reported as busy', () => {
    const [first] = rankWorkers(model, [
      w('busy', { deployments: ['d1'], replicas: { d1: 1 }, busy: 3 }),
      w('idle', { deployments: ['d1'], replicas: { d1: 1 }, busy: 0 }),
    ]);
    expect(first.workerId).toBe('idle');
  });

  it('tries a worker whose entry stopped being refreshed (hung) after every fresh one', () => {
    const hung = w('hung', {
      deployments: ['d1'],
      replicas: { d1: 4 },
      updatedAt: new Date(Date.now() - 16_000).toISOString(),
    });
    expect(isStale(hung)).toBe(true);
    expect(isStale(w('ok'))).toBe(false);
    expect(rankWorkers(model, [hung, w('any')]).map((x) => x.workerId)).toEqual(['any', 'hung']);
  });
});
