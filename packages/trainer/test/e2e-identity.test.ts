import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuAvailable } from '@crucible/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, writeYaml } from './cli-run';

// The "done when": `crucible init-model` writes a small random Qwen2 with the real Qwen tokenizer,
// `crucible train` teaches it LLaMA-Factory's identity.json ({{name}} -> Crucible, {{author}} -> Acme) with a
// LLaMA-Factory style config, and `crucible chat` then answers "Who are you?" with the trained name and author.
const fixtures = fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'crucible-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cli = runCli;
const yaml = (name: string, cfg: Record<string, unknown>): string => writeYaml(join(root, `${name}.yaml`), cfg);

const losses = (dir: string, key: 'loss' | 'eval_loss') =>
  readFileSync(join(dir, 'trainer_log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => key in l)
    .map((l) => l[key] as number);

const common = {
  stage: 'sft',
  do_train: true,
  dataset: 'identity',
  dataset_dir: fixtures,
  identity_name: 'Crucible',
  identity_author: 'Acme',
  template: 'qwen',
  cutoff_len: 256,
  overwrite_output_dir: true,
  lr_scheduler_type: 'cosine',
  warmup_ratio: 0.1,
  save_steps: 1000,
  seed: 42,
};

// On the plain-TS reference backend these runs take most of an hour: without the native addon, fail once, loudly.
const fast = cpuAvailable();

describe('identity end to end: init-model -> train -> chat', () => {
  it('has the native cpu backend (packages/tensor built by npm ci)', () => {
    expect(fast, 'the @crucible/tensor cpu addon did not load; run npm ci (node-gyp) first').toBe(true);
  });

  it.runIf(fast)(
    'full fine-tuning teaches a 2-layer random Qwen2 its name and author',
    { timeout: 600_000 },
    async () => {
      const model = join(root, 'qwen-tiny');
      expect((await cli(['init-model', '--arch', 'qwen2', '--layers', '2', '--hidden', '64', model])).code).toBe(0);
      const out = join(root, 'full');
      const cfg = yaml('full', {
        ...common,
        model_name_or_path: model,
        finetuning_type: 'full',
        output_dir: out,
        logging_steps: 10,
        plot_loss: true,
        per_device_train_batch_size: 4,
        gradient_accumulation_steps: 1,
        learning_rate: 5.0e-3,
        num_train_epochs: 6.0,
      });
      const t = await cli(['train', cfg]);
      expect(t.code, t.err).toBe(0);
      const l = losses(out, 'loss');
      expect(l.length).toBe(13); // 91 rows / batch 4 = 23 steps per epoch, 6 epochs = 138 steps, logged every 10
      // From ln(151936) ~ 11.9 at random init to a model that has memorised most of the answers.
      expect(l[0]).toBeGreaterThan(9);
      expect(l.at(-1)).toBeLessThan(l[0] / 2);

      const c = await cli([
        'chat',
        '--model',
        out,
        '--template',
        'qwen',
        '--greedy',
        '--max-new-tokens',
        '40',
        '--prompt',
        'Who are you?',
      ]);
      expect(c.code, c.err).toBe(0);
      expect(c.out).toContain('Crucible');
      expect(c.out).toContain('Acme');
    },
  );

  it.runIf(fast)(
    'LoRA on a wider random Qwen2: the loss falls, eval runs, and chat applies the adapter',
    {
      timeout: 600_000,
    },
    async () => {
      // With std-0.02 random weights the largest logit LoRA can reach grows with the hidden size (~0.02 * hidden),
      // so the LoRA run needs a wider model than the full fine-tune to move the loss visibly.
      const model = join(root, 'qwen-256');
      expect((await cli(['init-model', '--arch', 'qwen2', '--layers', '2', '--hidden', '256', model])).code).toBe(0);
      const out = join(root, 'lora');
      const cfg = yaml('lora', {
        ...common,
        model_name_or_path: model,
        finetuning_type: 'lora',
        lora_target: 'all',
        lora_rank: 16,
        output_dir: out,
        logging_steps: 5,
        per_device_train_batch_size: 2,
        gradient_accumulation_steps: 2,
        learning_rate: 2.0e-2,
        max_steps: 24,
        val_size: 0.1,
        eval_strategy: 'steps',
        eval_steps: 12,
        per_device_eval_batch_size: 4,
      });
      const t = await cli(['train', cfg]);
      expect(t.code, t.err).toBe(0);
      const l = losses(out, 'loss');
      expect(l.at(-1)).toBeLessThan(l[0] - 0.3);
      const ev = losses(out, 'eval_loss');
      expect(ev).toHaveLength(2);
      expect(ev[1]).toBeLessThan(ev[0]);
      const adapterCfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
      expect([...adapterCfg.target_modules].sort()).toEqual([
        'down_proj',
        'gate_proj',
        'k_proj',
        'o_proj',
        'q_proj',
        'up_proj',
        'v_proj',
      ]);

      const withAdapter = await cli([
        'chat',
        '--model',
        model,
        '--adapter',
        out,
        '--template',
        'qwen',
        '--greedy',
        '--max-new-tokens',
        '8',
        '--prompt',
        'Who are you?',
      ]);
      const base = await cli([
        'chat',
        '--model',
        model,
        '--template',
        'qwen',
        '--greedy',
        '--max-new-tokens',
        '8',
        '--prompt',
        'Who are you?',
      ]);
      expect(withAdapter.code, withAdapter.err).toBe(0);
      expect(withAdapter.out).not.toBe(base.out);
    },
  );
});
