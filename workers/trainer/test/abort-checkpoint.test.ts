import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '@crucible/tensor';
import { checkpointDir, type TrainArgs, trainLoop } from '@crucible/trainer';
import { afterAll, describe, expect, it } from 'vitest';
import { createBigram, patternData } from '../../../packages/trainer/test/train-bigram';

// The hooks this worker added to the training core: checkpointOnAbort (SIGTERM hand-back) and saveAtEpochEnd.
// A run stopped mid-epoch with checkpointOnAbort and resumed from that checkpoint must equal the straight run.
const V = 13;
const backend = createBackend('reference');
const root = mkdtempSync(join(tmpdir(), 'crucible-abort-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const args: TrainArgs = {
  perDeviceTrainBatchSize: 2,
  perDeviceEvalBatchSize: 2,
  gradientAccumulationSteps: 1,
  numTrainEpochs: 2,
  maxSteps: -1,
  learningRate: 0.05,
  lrSchedulerType: 'cosine',
  warmupRatio: 0.1,
  warmupSteps: 0,
  weightDecay: 0.01,
  maxGradNorm: 1,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  loggingSteps: 2,
  evalStrategy: 'no',
  evalSteps: 100,
  saveStrategy: 'steps',
  saveSteps: 3,
  seed: 11,
};
const data = patternData(16, V); // 8 steps per epoch, 16 in all

describe('checkpointOnAbort / saveAtEpochEnd', () => {
  it.each([4, 5, 7])('a hand-back at step %i resumes to the straight run exactly', async (stopAt) => {
    for (const d of [`s${stopAt}`, `r${stopAt}`]) mkdirSync(join(root, d), { recursive: true });
    const straight = createBigram(V, 1, 0.1);
    const a = await trainLoop({
      model: straight,
      backend,
      train: data,
      padId: 0,
      configHash: 'h',
      outputDir: join(root, `s${stopAt}`),
      args,
      saveAtEpochEnd: true,
    });
    const dir = join(root, `r${stopAt}`);
    const ac = new AbortController();
    const first = await trainLoop({
      model: createBigram(V, 1, 0.1),
      backend,
      train: data,
      padId: 0,
      configHash: 'h',
      outputDir: dir,
      args,
      signal: ac.signal,
      checkpointOnAbort: () => true,
      saveAtEpochEnd: true,
      onEvent: (e) => e.type === 'metrics' && e.step === stopAt && ac.abort(),
    });
    expect(first.status).toBe('cancelled');
    expect(first.globalStep).toBe(stopAt);
    const resumed = createBigram(V, 99, 0.1);
    const b = await trainLoop({
      model: resumed,
      backend,
      train: data,
      padId: 0,
      configHash: 'h',
      outputDir: dir,
      args,
      saveAtEpochEnd: true,
      resumeFrom: checkpointDir(dir, stopAt),
    });
    expect(b.lossHistory).toEqual(a.lossHistory);
    straight.trainableParams().forEach((p, i) => {
      expect(resumed.trainableParams()[i].data).toEqual(p.data);
    });
  });
});
