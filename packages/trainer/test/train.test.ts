import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '@crucible/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { collate, planSteps } from '../src/train/batches';
import { listCheckpoints } from '../src/train/checkpoint';
import { formatTimedelta } from '../src/train/logging';
import { type TrainArgs, trainLoop } from '../src/train/loop';
import { epochPermutation } from '../src/train/rng';
import { host } from './host';
import { createBigram, patternData } from './train-bigram';

const V = 11;
const backend = createBackend('reference');
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'crucible-train-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const baseArgs: TrainArgs = {
  perDeviceTrainBatchSize: 1,
  perDeviceEvalBatchSize: 1,
  gradientAccumulationSteps: 1,
  numTrainEpochs: 3,
  maxSteps: -1,
  learningRate: 0.05,
  lrSchedulerType: 'cosine',
  warmupRatio: 0.1,
  warmupSteps: 0,
  weightDecay: 0,
  maxGradNorm: 1,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  loggingSteps: 2,
  evalStrategy: 'no',
  saveStrategy: 'no',
  saveSteps: 500,
  seed: 42,
};

describe('step plan (Trainer.set_initial_training_values)', () => {
  it('counts updates per epoch with a partial last accumulation, and epochs from max_steps', () => {
    // 91 identity rows (LLaMA-Factory's identity.json), batch 1, accumulation 4: 23 updates per epoch.
    expect(planSteps(91, 1, 4, 3, -1)).toEqual({
      batchesPerEpoch: 91,
      updatesPerEpoch: 23,
      totalSteps: 69,
      numEpochs: 3,
    });
    expect(planSteps(10, 3, 2, 2.5, -1)).toEqual({
      batchesPerEpoch: 4,
      updatesPerEpoch: 2,
      totalSteps: 5,
      numEpochs: 3,
    });
    expect(planSteps(10, 3, 2, 3, 5)).toEqual({ batchesPerEpoch: 4, updatesPerEpoch: 2, totalSteps: 5, numEpochs: 3 });
    expect(planSteps(3, 8, 8, 1, -1).totalSteps).toBe(1);
  });

  it('each epoch draws a different permutation; the same seed draws the same one', () => {
    const a = epochPermutation(20, 42, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(epochPermutation(20, 42, 0)).toEqual(a);
    expect(epochPermutation(20, 42, 1)).not.toEqual(a);
    expect(epochPermutation(20, 7, 0)).not.toEqual(a);
  });

  it('collate right-pads ids with the pad id and labels with -100', () => {
    const b = collate(
      [
        { inputIds: [1, 2, 3], labels: [-100, 2, 3] },
        { inputIds: [4], labels: [4] },
      ],
      9,
    );
    expect([b.B, b.T]).toEqual([2, 3]);
    expect([...b.inputIds]).toEqual([1, 2, 3, 4, 9, 9]);
    expect([...b.labels]).toEqual([-100, 2, 3, 4, -100, -100]);
    expect([...b.keyLen]).toEqual([3, 1]);
  });

  it('formats times like Python timedelta', () => {
    expect(formatTimedelta(65.9)).toBe('0:01:05');
    expect(formatTimedelta(90061)).toBe('1 day, 1:01:01');
  });
});

describe('training loop', () => {
  it('accumulating 4 micro-batches of 1 equals one batch of 4 (loss over all labelled tokens, padding ignored)', async () => {
    const data = patternData(16, V);
    const a = createBigram(V);
    const b = createBigram(V);
    const common = { backend, train: data, padId: 0, configHash: 'x' };
    const ra = await trainLoop({
      ...common,
      model: a,
      outputDir: tmp(),
      args: { ...baseArgs, perDeviceTrainBatchSize: 1, gradientAccumulationSteps: 4 },
    });
    const rb = await trainLoop({
      ...common,
      model: b,
      outputDir: tmp(),
      args: { ...baseArgs, perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 1 },
    });
    expect(ra.totalSteps).toBe(12);
    expect(rb.totalSteps).toBe(12);
    // Tolerance: float32 grads summed in a different order (4 calls vs 1); the updates agree to 1e-5.
    ra.lossHistory.forEach((h, i) => {
      expect(h.loss).toBeCloseTo(rb.lossHistory[i].loss, 5);
    });
    const pa = host(backend, a.trainableParams()[0].data);
    const pb = host(backend, b.trainableParams()[0].data);
    for (let i = 0; i < pa.length; i++) expect(Math.abs(pa[i] - pb[i])).toBeLessThan(1e-5);
  });

  it('step loss is the token-weighted mean over the accumulated batch, not the mean of micro-batch means', async () => {
    const data = patternData(6, V);
    const model = createBigram(V);
    // Expected first step loss, computed before training from the untouched model on the first update's rows.
    const order = epochPermutation(6, 42, 0);
    let sum = 0;
    let n = 0;
    for (const i of order.slice(0, 3)) {
      const r = model.loss(collate([data[i]], 0));
      sum += r.lossSum;
      n += r.nTokens;
    }
    const res = await trainLoop({
      model,
      backend,
      train: data,
      padId: 0,
      configHash: 'x',
      outputDir: tmp(),
      args: { ...baseArgs, gradientAccumulationSteps: 3, maxSteps: 1 },
    });
    expect(res.lossHistory[0].loss).toBeCloseTo(sum / n, 10);
  });

  it('loss falls, logs every logging_steps with LLaMA-Factory fields, evaluates every eval_steps', async () => {
    const data = patternData(40, V);
    const out = tmp();
    const events: string[] = [];
    const res = await trainLoop({
      model: createBigram(V),
      backend,
      train: data.slice(0, 36),
      eval: data.slice(36),
      padId: 0,
      configHash: 'x',
      outputDir: out,
      onEvent: (e) => events.push(e.type),
      args: {
        ...baseArgs,
        perDeviceTrainBatchSize: 2,
        gradientAccumulationSteps: 2,
        loggingSteps: 3,
        evalStrategy: 'steps',
        evalSteps: 9,
      },
    });
    expect(res.totalSteps).toBe(27);
    const lines = readFileSync(join(out, 'trainer_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const trainLines = lines.filter((l) => 'loss' in l);
    const evalLines = lines.filter((l) => 'eval_loss' in l);
    expect(trainLines.map((l) => l.current_steps)).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(evalLines.map((l) => l.current_steps)).toEqual([9, 18, 27]);
    for (const l of trainLines) {
      for (const k of [
        'current_steps',
        'total_steps',
        'loss',
        'lr',
        'epoch',
        'percentage',
        'elapsed_time',
        'remaining_time',
        'throughput',
        'total_tokens',
      ]) {
        expect(l).toHaveProperty(k);
      }
      // The logged loss is the mean of the step losses since the previous log.
      const steps = res.lossHistory.filter((h) => h.step > l.current_steps - 3 && h.step <= l.current_steps);
      expect(l.loss).toBeCloseTo(steps.reduce((a, h) => a + h.loss, 0) / 3, 4);
    }
    expect(trainLines[2].epoch).toBeCloseTo(1, 2);
    expect(trainLines.at(-1).percentage).toBe(100);
    expect(trainLines[0].elapsed_time).toMatch(/^\d+:\d\d:\d\d$/);
    expect(trainLines.at(-1).loss).toBeLessThan(trainLines[0].loss * 0.8);
    expect(evalLines.at(-1).eval_loss).toBeLessThan(evalLines[0].eval_loss);
    expect(events.filter((e) => e === 'metrics')).toHaveLength(27);
    // cosine with warmup 10% of 27 = 3 steps: the lr logged after step 3 is the full base lr.
    expect(trainLines[0].lr).toBeCloseTo(0.05, 10);
  });

  it('stops between optimizer steps when the signal aborts', async () => {
    const ac = new AbortController();
    let seen = 0;
    const res = await trainLoop({
      model: createBigram(V),
      backend,
      train: patternData(20, V),
      padId: 0,
      configHash: 'x',
      outputDir: tmp(),
      signal: ac.signal,
      args: baseArgs,
      onEvent: (e) => {
        if (e.type === 'metrics' && ++seen === 5) ac.abort();
      },
    });
    expect(res.status).toBe('cancelled');
    expect(res.globalStep).toBe(5);
  });
});

describe('save_total_limit', () => {
  it('keeps the newest N checkpoint folders after each save and reports every pruned one', async () => {
    const out = tmp();
    const events: { type: string; step?: number }[] = [];
    await trainLoop({
      model: createBigram(V),
      backend,
      train: patternData(10, V),
      padId: 0,
      configHash: 'x',
      outputDir: out,
      onEvent: (e) => {
        if (e.type === 'checkpoint' || e.type === 'checkpoint-pruned') events.push({ type: e.type, step: e.step });
      },
      args: { ...baseArgs, numTrainEpochs: 1, saveStrategy: 'steps', saveSteps: 2, saveTotalLimit: 2 },
    });
    // 10 steps, a save every 2: checkpoints 2..10; after each save only the newest two remain.
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([8, 10]);
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([2, 4, 6, 8, 10]);
    expect(events.filter((e) => e.type === 'checkpoint-pruned').map((e) => e.step)).toEqual([2, 4, 6]);
    // A pruned checkpoint is reported right after the save that pushed it out.
    expect(events.findIndex((e) => e.type === 'checkpoint-pruned' && e.step === 2)).toBe(
      events.findIndex((e) => e.type === 'checkpoint' && e.step === 6) + 1,
    );
  });

  it('without a limit every checkpoint stays', async () => {
    const out = tmp();
    await trainLoop({
      model: createBigram(V),
      backend,
      train: patternData(6, V),
      padId: 0,
      configHash: 'x',
      outputDir: out,
      args: { ...baseArgs, numTrainEpochs: 1, saveStrategy: 'steps', saveSteps: 2 },
    });
    expect(listCheckpoints(out).map((c) => c.step)).toEqual([2, 4, 6]);
  });
});

describe('plot_loss PNG', () => {
  it('writes a valid PNG (signature, chunk CRCs, inflatable RGB rows) with the curve drawn in blue', async () => {
    const { lossChartPng, smooth } = await import('../src/train/plot');
    const { inflateSync, crc32 } = await import('node:zlib');
    const png = lossChartPng(
      [{ points: [1, 2, 3, 4, 5].map((x) => ({ x, y: 3 / x })), color: [31, 119, 180], faint: [174, 199, 232] }],
      200,
      120,
    );
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    let off = 8;
    const idat: Buffer[] = [];
    const types: string[] = [];
    while (off < png.length) {
      const len = png.readUInt32BE(off);
      const type = png.toString('ascii', off + 4, off + 8);
      types.push(type);
      expect(png.readUInt32BE(off + 8 + len)).toBe(crc32(png.subarray(off + 4, off + 8 + len)));
      if (type === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
      off += 12 + len;
    }
    expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([200, 120]);
    const raw = inflateSync(Buffer.concat(idat));
    expect(raw.length).toBe((200 * 3 + 1) * 120);
    let blue = 0;
    for (let y = 0; y < 120; y++)
      for (let x = 0; x < 200; x++) {
        const i = y * 601 + 1 + x * 3;
        if (raw[i] === 31 && raw[i + 1] === 119 && raw[i + 2] === 180) blue++;
      }
    expect(blue).toBeGreaterThan(50);
    // LLaMA-Factory's smoothing: first value kept, then an EMA towards the data.
    const s = smooth([4, 2, 2]);
    expect(s[0]).toBe(4);
    expect(s[2]).toBeLessThan(s[1]);
  });
});
