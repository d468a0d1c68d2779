/**
 * Stage dpo beyond the loss: the config keys and their checks, LLaMA-Factory's ranking datasets (the shared
 * dpo_en_demo fixture with its own dataset_info.json entry, an alpaca ranking file), the pairwise cutoff, the row
 * checks, and whole runs on a random Qwen2: at step 1 the policy IS the reference (LoRA B starts at zero; a full run's
 * reference is a frozen copy), so sigmoid's loss is exactly ln 2 with zero rewards, which fails if the reference were
 * anything else.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuAvailable } from '@crucible/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../src/config/index';
import { countTrainTokens } from '../src/data/count';
import { loadKtoDatasets } from '../src/data/feedback';
import { resolveDataset } from '../src/data/formats';
import { convertPairRow, encodePair, loadPairDatasets } from '../src/data/pairwise';
import { getTemplate, inferSeqlen, type Template } from '../src/data/template';
import { initModel } from '../src/io/init-model';
import { loadTokenizer, type Tokenizer } from '../src/io/tokenizer';
import { prefOptionsOf } from '../src/train/preference';
import { runTraining } from '../src/train/run';

const fixtures = fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'crucible-dpo-'));
const modelDir = join(root, 'model');
let tokenizer: Tokenizer;
let template: Template;

beforeAll(async () => {
  await initModel({ arch: 'qwen2', layers: 2, hidden: 32, intermediate: 64, heads: 4, kvHeads: 2, seed: 3 }, modelDir);
  tokenizer = await loadTokenizer(modelDir);
  template = getTemplate('qwen', tokenizer, modelDir);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base = { model_name_or_path: modelDir, output_dir: join(root, 'out'), stage: 'dpo', template: 'qwen' };
const quiet = () => {};

describe('stage dpo config', () => {
  it("has LLaMA-Factory's keys and defaults", () => {
    expect(prefOptionsOf(parseTrainConfig(base, 'c.yaml', quiet))).toEqual({
      beta: 0.1,
      loss: 'sigmoid',
      ftx: 0,
      simpoGamma: 0.5,
      labelSmoothing: 0,
    });
    expect(
      prefOptionsOf(
        parseTrainConfig(
          { ...base, pref_beta: '0.5', pref_loss: 'simpo', pref_ftx: 1, simpo_gamma: 1.5 },
          'c.yaml',
          quiet,
        ),
      ),
    ).toEqual({ beta: 0.5, loss: 'simpo', ftx: 1, simpoGamma: 1.5, labelSmoothing: 0 });
  });
  it('warns when an sft config carries dpo keys', () => {
    const said: string[] = [];
    parseTrainConfig({ ...base, stage: 'sft', pref_beta: 0.2 }, 'c.yaml', (m) => said.push(m));
    expect(said.join('\n')).toMatch(/pref_beta \(stage dpo and kto\) only apply to other stages/);
  });
  it('refuses label smoothing for a loss other than sigmoid, and a loss it does not know', () => {
    expect(() =>
      parseTrainConfig({ ...base, pref_loss: 'ipo', dpo_label_smoothing: 0.1 }, 'c.yaml', quiet),
    ).toThrowError(/dpo_label_smoothing.*only valid for sigmoid/);
    expect(() => parseTrainConfig({ ...base, pref_loss: 'kto_pair' }, 'c.yaml', quiet)).toThrowError(
      /`pref_loss` must be one of "sigmoid", "hinge", "ipo", "orpo", "simpo"/,
    );
  });
  it('refuses packing for dpo', () => {
    expect(() => parseTrainConfig({ ...base, packing: true }, 'c.yaml', quiet)).toThrowError(/packing/);
  });
});

describe('ranking datasets', () => {
  it('loads the shared dpo_en_demo fixture as it is (sharegpt, chosen/rejected messages)', async () => {
    const cfg = parseTrainConfig(
      { ...base, dataset: 'dpo_en_demo', dataset_dir: fixtures, cutoff_len: 128 },
      'c.yaml',
      quiet,
    );
    const { train, eval: ev } = await loadPairDatasets(cfg, tokenizer, modelDir);
    expect(train.length).toBe(300);
    expect(ev.length).toBe(0);
    for (let i = 0; i < train.length; i++) {
      const chosen = {
        inputIds: Array.from(train.at(i).chosen.inputIds),
        labels: Array.from(train.at(i).chosen.labels),
      };
      const rejected = {
        inputIds: Array.from(train.at(i).rejected.inputIds),
        labels: Array.from(train.at(i).rejected.labels),
      };
      expect(chosen.inputIds.length).toBeLessThanOrEqual(128);
      expect(rejected.inputIds.length).toBeLessThanOrEqual(128);
      // one prompt, masked in both; each answer labelled
      const promptLen = Array.from(chosen.labels).findIndex((l) => l !== -100);
      expect(promptLen).toBeGreaterThan(0);
      expect(Array.from(rejected.labels).findIndex((l) => l !== -100)).toBe(promptLen);
      expect(Array.from(chosen.inputIds.slice(0, promptLen))).toEqual(
        Array.from(rejected.inputIds.slice(0, promptLen)),
      );
      expect(Array.from(chosen.labels.slice(promptLen))).toEqual(Array.from(chosen.inputIds.slice(promptLen)));
    }
    // the first row: its prompt is the qwen template around the human turn
    const first = JSON.parse(readFileSync(join(fixtures, 'dpo_en_demo.json'), 'utf8'))[0];
    const p = { inputIds: Array.from(train.at(0).chosen.inputIds), labels: Array.from(train.at(0).chosen.labels) };
    const promptLen = Array.from(p.labels).findIndex((l) => l !== -100);
    expect(tokenizer.decode(Array.from(p.inputIds.slice(0, promptLen)))).toContain(
      first.conversations[0].value.slice(0, 40),
    );
  });

  it('splits cutoff_len between the prompt and the longer answer (infer_seqlen) and cuts both answers alike', () => {
    const row = {
      prompt: [{ role: 'user' as const, content: 'word '.repeat(60) }],
      chosen: { role: 'assistant' as const, content: 'yes '.repeat(80) },
      rejected: { role: 'assistant' as const, content: 'no' },
      system: '',
      tools: '',
    };
    const full = encodePair(row, template, { cutoffLen: 100000 });
    const promptLen = Array.from(full.chosen.labels).findIndex((l) => l !== -100);
    const longer = full.chosen.inputIds.length - promptLen;
    const [src, tgt] = inferSeqlen(promptLen, longer, 64);
    const cut = encodePair(row, template, { cutoffLen: 64 });
    expect(cut.chosen.inputIds.length).toBe(src + tgt);
    expect(Array.from(cut.chosen.labels).findIndex((l) => l !== -100)).toBe(src);
    expect(cut.rejected.inputIds.length).toBe(src + Math.min(tgt, full.rejected.inputIds.length - promptLen));
  });

  describe('alpaca ranking file', () => {
    const dir = join(root, 'alpaca');
    const write = (rows: unknown[]) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'pairs.json'), JSON.stringify(rows));
      writeFileSync(
        join(dir, 'dataset_info.json'),
        JSON.stringify({
          pairs: {
            file_name: 'pairs.json',
            ranking: true,
            columns: { prompt: 'instruction', query: 'input', chosen: 'chosen', rejected: 'rejected' },
          },
        }),
      );
    };
    const load = () =>
      loadPairDatasets(
        parseTrainConfig({ ...base, dataset: 'pairs', dataset_dir: dir }, 'c.yaml', quiet),
        tokenizer,
        modelDir,
      );
    const good = { instruction: 'Say hi', input: 'politely', chosen: 'Hello!', rejected: 'Go away.' };

    it('loads string chosen/rejected columns', async () => {
      write([good, { ...good, chosen: 'Hi there.' }]);
      const { train } = await load();
      expect(train.length).toBe(2);
      const c = { inputIds: Array.from(train.at(0).chosen.inputIds), labels: Array.from(train.at(0).chosen.labels) };
      const start = Array.from(c.labels).findIndex((l) => l !== -100);
      expect(tokenizer.decode(Array.from(c.inputIds.slice(start)))).toContain('Hello!');
      expect(tokenizer.decode(Array.from(c.inputIds.slice(0, start)))).toContain('Say hi\npolitely');
    });
    it('names the row and the field: missing rejected answer', async () => {
      write([good, { instruction: 'x', chosen: 'a' }]);
      await expect(load()).rejects.toThrowError(
        /dataset pairs, row 2: the rejected answer \(column "rejected"\) is missing/,
      );
    });
    it('names the row and the field: chosen == rejected', async () => {
      write([{ ...good, rejected: good.chosen }]);
      await expect(load()).rejects.toThrowError(/row 1: the chosen and rejected answers .* are identical/);
    });
    it('names the row and the field: empty answer', async () => {
      write([good, good, { ...good, chosen: '  ' }]);
      await expect(load()).rejects.toThrowError(/row 3: the chosen answer \(column "chosen"\) is empty/);
    });
    it('a sharegpt row whose conversation ends with a reply is refused by name', () => {
      const attr = resolveDataset(
        'dpo_en_demo',
        fixtures,
        JSON.parse(readFileSync(join(fixtures, 'dataset_info.json'), 'utf8')),
      );
      const row = {
        conversations: [
          { from: 'human', value: 'q' },
          { from: 'gpt', value: 'a' },
        ],
        chosen: { from: 'gpt', value: 'b' },
        rejected: { from: 'gpt', value: 'c' },
      };
      expect(() => convertPairRow(row, attr, 'dataset dpo_en_demo, row 7')).toThrowError(
        /row 7: column "conversations" must end with a human turn/,
      );
    });
  });
});

describe('KTO datasets', () => {
  const kbase = { ...base, stage: 'kto' };
  it("loads the shared kto_en_demo fixture as it is, each row with the previous row's completion as its KL row", async () => {
    const cfg = parseTrainConfig(
      { ...kbase, dataset: 'kto_en_demo', dataset_dir: fixtures, cutoff_len: 4096 },
      'c',
      quiet,
    );
    const { train } = await loadKtoDatasets(cfg, tokenizer, modelDir, quiet);
    const raw = JSON.parse(readFileSync(join(fixtures, 'kto_en_demo.json'), 'utf8')) as { label: boolean }[];
    expect(train.length).toBe(300);
    const completion = (e: { inputIds: ArrayLike<number>; labels: ArrayLike<number> }) =>
      Array.from(e.inputIds).slice(Array.from(e.labels).findIndex((l) => l !== -100));
    for (let i = 0; i < train.length; i++) {
      const r = train.at(i);
      expect(r.desirable).toBe(raw[i].label);
      // FeedbackDatasetProcessor's +1 offset inside the chunk (one chunk of 300 rows here)
      expect(completion(r.kl)).toEqual(completion(train.at((i + 299) % 300).example));
    }
    expect(new Set(raw.map((r) => r.label)).size).toBe(2);
  });
  it('names the row and the field: a kto_tag that is not a boolean, an empty completion', async () => {
    const dir = join(root, 'kto');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'dataset_info.json'),
      JSON.stringify({
        k: { file_name: 'k.json', columns: { prompt: 'instruction', response: 'output', kto_tag: 'label' } },
      }),
    );
    const load = (rows: unknown[]) => {
      writeFileSync(join(dir, 'k.json'), JSON.stringify(rows));
      return loadKtoDatasets(
        parseTrainConfig({ ...kbase, dataset: 'k', dataset_dir: dir }, 'c', quiet),
        tokenizer,
        modelDir,
        quiet,
      );
    };
    const good = { instruction: 'Say hi', output: 'Hello', label: true };
    await expect(load([good, { ...good, label: 'yes' }])).rejects.toThrowError(
      /dataset k, row 2: column "label" \(kto_tag\) must be true \(desirable\) or false/,
    );
    await expect(load([{ ...good, output: '' }])).rejects.toThrowError(
      /row 1: the completion \(column "output"\) is empty/,
    );
    expect((await load([good, { ...good, label: false }])).train.length).toBe(2);
  });
  it('has kto_chosen_weight / kto_rejected_weight and refuses packing', () => {
    const c = parseTrainConfig({ ...kbase, kto_chosen_weight: 1.5, kto_rejected_weight: '0.5' }, 'c', quiet);
    expect([c.kto_chosen_weight, c.kto_rejected_weight]).toEqual([1.5, 0.5]);
    expect(() => parseTrainConfig({ ...kbase, packing: true }, 'c', quiet)).toThrowError(/stage kto/);
  });
});

const fast = cpuAvailable();
const logOf = (dir: string) =>
  readFileSync(join(dir, 'trainer_log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

describe.runIf(fast)('stage dpo runs', () => {
  const run = (extra: Record<string, unknown>) =>
    runTraining(
      parseTrainConfig(
        {
          ...base,
          dataset: 'dpo_en_demo',
          dataset_dir: fixtures,
          cutoff_len: 48,
          max_samples: 8,
          per_device_train_batch_size: 2,
          gradient_accumulation_steps: 2,
          max_steps: 2,
          logging_steps: 1,
          learning_rate: 1e-3,
          overwrite_output_dir: true,
          save_steps: 1000,
          ...extra,
        },
        'c.yaml',
        quiet,
      ),
      { backend: 'cpu', progress: false, log: quiet },
    );

  it('LoRA sigmoid: the reference is the base with the adapter off, metrics under TRL names', async () => {
    const out = join(root, 'lora-sigmoid');
    const res = await run({ output_dir: out, val_size: 2, eval_strategy: 'steps', eval_steps: 2 });
    expect(res.status).toBe('completed');
    const log = logOf(out);
    const first = log[0];
    expect(first.loss).toBeCloseTo(Math.log(2), 4);
    expect(first['rewards/chosen']).toBe(0);
    expect(first['rewards/margins']).toBe(0);
    expect(first.accuracy).toBe(first['rewards/accuracies']);
    for (const k of ['rewards/rejected', 'logps/chosen', 'logps/rejected', 'lr', 'epoch'])
      expect(k in first).toBe(true);
    expect(first['logps/chosen']).toBeLessThan(0);
    // step 2 moved the adapter away from the reference
    expect(log[1]['rewards/margins']).not.toBe(0);
    const ev = log.find((l) => 'eval_loss' in l);
    expect(ev && 'eval_rewards/accuracies' in ev).toBe(true);
    expect(readFileSync(join(out, 'adapter_config.json'), 'utf8')).toContain('"r"');
  });

  it('full fine-tuning: the reference is a frozen copy', async () => {
    const out = join(root, 'full-ipo');
    await run({ output_dir: out, finetuning_type: 'full', pref_loss: 'ipo' });
    const log = logOf(out);
    // ipo at policy == reference: (0 - 1/(2 beta))^2 = 25
    expect(log[0].loss).toBeCloseTo(25, 3);
    expect(log[1].loss).not.toBeCloseTo(25, 3);
  });

  it('orpo has no reference: its rewards are beta * the average log-prob', async () => {
    const out = join(root, 'lora-orpo');
    await run({ output_dir: out, pref_loss: 'orpo', max_steps: 1 });
    const first = logOf(out)[0];
    expect(first['rewards/chosen']).toBeCloseTo(0.1 * first['logps/chosen'], 6);
    expect(first['logps/chosen']).toBeGreaterThan(-20); // an average per token, not a sum
  });

  it('stage kto trains kto_en_demo: at step 1 the policy is the reference, so every row loses 1 - sigmoid(0)', async () => {
    const out = join(root, 'lora-kto');
    const res = await run({ output_dir: out, stage: 'kto', dataset: 'kto_en_demo', max_samples: 16 });
    expect(res.status).toBe('completed');
    const log = logOf(out);
    expect(log[0].loss).toBeCloseTo(0.5, 5);
    expect(log[0].kl).toBe(0);
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
      expect(k in log[0] || k in log[1], k).toBe(true);
    }
    expect(log[1].loss).not.toBeCloseTo(0.5, 5);
  });

  it('a resumed dpo run logs the losses and rewards of the straight run', async () => {
    const straight = join(root, 'resume-straight');
    await run({ output_dir: straight, max_steps: 3, save_steps: 1 });
    const resumed = join(root, 'resume-resumed');
    await run({ output_dir: resumed, max_steps: 3, save_steps: 1 });
    rmSync(join(resumed, 'checkpoint-2'), { recursive: true });
    rmSync(join(resumed, 'checkpoint-3'), { recursive: true });
    await run({
      output_dir: resumed,
      max_steps: 3,
      save_steps: 1,
      resume_from_checkpoint: join(resumed, 'checkpoint-1'),
    });
    const pick = (l: Record<string, number>) => [l.loss, l['rewards/margins'], l['logps/chosen']];
    const a = logOf(straight).filter((l) => 'loss' in l);
    const b = logOf(resumed).filter((l) => 'loss' in l);
    expect(b.length).toBe(3);
    for (let i = 0; i < 3; i++) expect(pick(b[i])).toEqual(pick(a[i]));
  });

  it('countTrainTokens counts what a dpo / kto epoch trains on (both sequences of every row)', async () => {
    for (const [stage, dataset] of [
      ['dpo', 'dpo_en_demo'],
      ['kto', 'kto_en_demo'],
    ] as const) {
      const out = join(root, `count-${stage}`);
      const cfg = {
        ...base,
        stage,
        dataset,
        dataset_dir: fixtures,
        cutoff_len: 48,
        max_samples: 4,
        per_device_train_batch_size: 4,
        num_train_epochs: 1,
        output_dir: out,
        overwrite_output_dir: true,
        save_steps: 1000,
      };
      const count = await countTrainTokens(parseTrainConfig(cfg, 'c', quiet), modelDir);
      const res = await runTraining(parseTrainConfig(cfg, 'c', quiet), { backend: 'cpu', progress: false, log: quiet });
      expect(count.trainExamples).toBe(4);
      expect(res.tokensSeen).toBe(count.tokensPerEpoch);
    }
  });

  it('an sft run on a ranking dataset says to use stage dpo', async () => {
    await expect(run({ output_dir: join(root, 'sft'), stage: 'sft' })).rejects.toThrowError(/stage: dpo/);
  });
});
