import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meanScores, scoreSimilarity } from '@crucible/metrics';
import { createBackend } from '@crucible/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChat } from '../src/cli/chat';
import { runCli, TINY_QWEN2_INIT, writeYaml } from './cli-run';

// do_predict / predict_with_generate (issue 16) end to end through the CLI on a tiny random Qwen2 (init-model):
// `crucible eval` on the base model, `crucible train` with do_predict (prediction after training), and `crucible
// eval` with the trained adapter.
const root = mkdtempSync(join(tmpdir(), 'crucible-predict-'));
const modelDir = join(root, 'model');
const dataDir = join(root, 'data');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const EVAL_ROWS = [
  { instruction: 'Who are you?', input: '', output: 'I am Crucible, an AI assistant.' },
  { instruction: '你是谁？', input: '', output: '我是 Crucible，一个人工智能助手。' },
  { instruction: 'Name a colour.', input: 'warm', output: 'red' },
];

const cli = runCli;

function writeConfig(name: string, extra: Record<string, unknown>): string {
  const cfg: Record<string, unknown> = {
    model_name_or_path: modelDir,
    stage: 'sft',
    finetuning_type: 'lora',
    lora_rank: 4,
    dataset: 'train_rows',
    eval_dataset: 'eval_rows',
    dataset_dir: dataDir,
    template: 'qwen',
    cutoff_len: 64,
    output_dir: join(root, name),
    max_new_tokens: 12,
    do_sample: false,
    per_device_eval_batch_size: 2,
    ...extra,
  };
  return writeYaml(join(root, `${name}.yaml`), cfg);
}

type TLine = { prompt: string; predict: string; label: string };
const readLines = (dir: string): TLine[] =>
  readFileSync(join(dir, 'generated_predictions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>;

/** predict_results.json must be ComputeSimilarity of the written rows: the metrics recomputed from the file. */
function expectMetricsOfFile(dir: string): void {
  const lines = readLines(dir);
  const mean = meanScores(lines.map((l) => scoreSimilarity(l.predict, l.label)));
  const results = readJson(join(dir, 'predict_results.json'));
  expect(Object.keys(results).sort()).toEqual([
    'predict_bleu-4',
    'predict_rouge-1',
    'predict_rouge-2',
    'predict_rouge-l',
    'predict_runtime',
    'predict_samples_per_second',
    'predict_steps_per_second',
  ]);
  expect(results['predict_bleu-4']).toBe(mean['bleu-4']);
  expect(results['predict_rouge-1']).toBe(mean['rouge-1']);
  expect(results['predict_rouge-2']).toBe(mean['rouge-2']);
  expect(results['predict_rouge-l']).toBe(mean['rouge-l']);
  // 3 rows in batches of 2: 2 steps, as Transformers counts them
  expect(results.predict_steps_per_second / results.predict_samples_per_second).toBeCloseTo(2 / 3, 2);
}

beforeAll(async () => {
  expect((await runCli(TINY_QWEN2_INIT(modelDir))).code).toBe(0);
  mkdirSync(dataDir);
  writeFileSync(
    join(dataDir, 'dataset_info.json'),
    JSON.stringify({ train_rows: { file_name: 'train.json' }, eval_rows: { file_name: 'eval.json' } }),
  );
  writeFileSync(join(dataDir, 'eval.json'), JSON.stringify(EVAL_ROWS));
  writeFileSync(join(dataDir, 'train.json'), JSON.stringify([...EVAL_ROWS, ...EVAL_ROWS]));
});

describe('crucible eval (do_predict with predict_with_generate)', () => {
  it('writes generated_predictions.jsonl and predict_results.json for the base model', async () => {
    const yaml = writeConfig('base', {});
    const r = await cli(['eval', yaml]);
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const out = join(root, 'base');
    const lines = readLines(out);
    expect(lines).toHaveLength(3);
    for (const [i, l] of lines.entries()) {
      expect(Object.keys(l)).toEqual(['prompt', 'predict', 'label']);
      // LLaMA-Factory's files: the prompt with its special tokens, the label with the qwen template's end of turn
      // minus the special token (`<|im_end|>` skipped, its newline kept).
      const user = EVAL_ROWS[i].input ? `${EVAL_ROWS[i].instruction}\n${EVAL_ROWS[i].input}` : EVAL_ROWS[i].instruction;
      expect(l.prompt).toBe(
        `<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n`,
      );
      expect(l.label).toBe(`${EVAL_ROWS[i].output}\n`);
    }
    // The predictions are the core's greedy answers, as chat gives them for the same prompt (its own prompt path).
    const chat = await openChat(
      { modelDir, template: 'qwen', maxNewTokens: 12, temperature: 0, topP: 1, seed: 42 },
      createBackend('auto'),
    );
    for (const [i, l] of lines.entries()) {
      const user = EVAL_ROWS[i].input ? `${EVAL_ROWS[i].instruction}\n${EVAL_ROWS[i].input}` : EVAL_ROWS[i].instruction;
      expect(l.predict).toBe(chat.reply([{ role: 'user', content: user }]));
    }
    expectMetricsOfFile(out);
    expect(readJson(join(out, 'all_results.json'))).toEqual(readJson(join(out, 'predict_results.json')));

    // LLaMA-Factory's predict config (do_predict, no do_train) through `crucible train` only predicts.
    const only = writeConfig('predict-only', { do_predict: true, predict_with_generate: true });
    expect((await cli(['train', only])).code).toBe(0);
    expect(readLines(join(root, 'predict-only'))).toEqual(lines);
    expect(existsSync(join(root, 'predict-only', 'adapter_model.safetensors'))).toBe(false);
  });

  it('predicts after training with the trained model, and eval with its adapter gives the same predictions', async () => {
    const trainYaml = writeConfig('trained', {
      do_train: true,
      do_predict: true,
      predict_with_generate: true,
      max_steps: 6,
      learning_rate: 0.05,
      per_device_train_batch_size: 2,
      logging_steps: 1,
      save_strategy: 'no',
    });
    const t = await cli(['train', trainYaml]);
    expect(t.err).not.toMatch(/Error/);
    expect(t.code).toBe(0);
    const trained = join(root, 'trained');
    expect(existsSync(join(trained, 'adapter_model.safetensors'))).toBe(true);
    expectMetricsOfFile(trained);
    const all = readJson(join(trained, 'all_results.json'));
    expect(all).toHaveProperty('train_loss');
    expect(all['predict_rouge-l']).toBe(readJson(join(trained, 'predict_results.json'))['predict_rouge-l']);

    const evalYaml = writeConfig('adapter', { adapter_name_or_path: trained });
    const e = await cli(['eval', evalYaml]);
    expect(e.code).toBe(0);
    const withAdapter = readLines(join(root, 'adapter'));
    expect(withAdapter).toEqual(readLines(trained));
    // and the adapter changed what the model says (otherwise the comparison above would prove nothing)
    expect(withAdapter.map((l) => l.predict)).not.toEqual(readLines(join(root, 'base')).map((l) => l.predict));
  });

  it('refuses an eval config without eval_dataset with a sentence', async () => {
    const yaml = writeConfig('no-eval', { eval_dataset: [] });
    const r = await cli(['eval', yaml]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/`do_predict` needs `eval_dataset`/);
  });
});
