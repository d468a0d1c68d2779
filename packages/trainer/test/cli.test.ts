import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOverrides } from '../src/cli/args';
import { runCli, TINY_QWEN2_INIT, writeYaml } from './cli-run';

// The CLI end to end on a tiny random Qwen2 (init-model) with a 6-row alpaca dataset: a few optimizer steps each.
const root = mkdtempSync(join(tmpdir(), 'crucible-cli-'));
const modelDir = join(root, 'model');
const dataDir = join(root, 'data');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cli = runCli;

function writeConfig(name: string, extra: Record<string, unknown> = {}): string {
  const cfg: Record<string, unknown> = {
    model_name_or_path: modelDir,
    stage: 'sft',
    finetuning_type: 'lora',
    lora_target: 'all',
    lora_rank: 4,
    dataset: 'tiny',
    dataset_dir: dataDir,
    template: 'qwen',
    cutoff_len: 64,
    output_dir: join(root, name),
    logging_steps: 1,
    save_steps: 2,
    per_device_train_batch_size: 2,
    gradient_accumulation_steps: 1,
    learning_rate: 1e-3,
    max_steps: 3,
    lr_scheduler_type: 'cosine',
    warmup_ratio: 0.1,
    ...extra,
  };
  return writeYaml(join(root, `${name}.yaml`), cfg);
}

beforeAll(async () => {
  expect((await runCli(TINY_QWEN2_INIT(modelDir))).code).toBe(0);
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, 'dataset_info.json'), JSON.stringify({ tiny: { file_name: 'tiny.json' } }));
  const rows = ['red', 'green', 'blue', 'cyan', 'pink', 'gold'].map((c) => ({
    instruction: `Name a colour like ${c}.`,
    input: '',
    output: `${c} is a colour.`,
  }));
  writeFileSync(join(dataDir, 'tiny.json'), JSON.stringify(rows));
});

describe('key=value overrides', () => {
  it('parses values as YAML scalars and rejects arguments that are not overrides', () => {
    expect(
      applyOverrides({ a: 1 }, ['learning_rate=2e-4', 'plot_loss=false', 'output_dir=x', 'lora_target=q_proj,v_proj']),
    ).toEqual({
      a: 1,
      learning_rate: 2e-4,
      plot_loss: false,
      output_dir: 'x',
      lora_target: 'q_proj,v_proj',
    });
    expect(() => applyOverrides({}, ['oops'])).toThrow(/key=value/);
  });
});

describe('crucible train / chat', () => {
  it('trains a LoRA adapter, writes LLaMA-Factory outputs, and chat loads it', async () => {
    const yaml = writeConfig('run1', { plot_loss: true });
    const r = await cli(['train', yaml, 'max_steps=4']);
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const out = join(root, 'run1');
    for (const f of [
      'adapter_config.json',
      'adapter_model.safetensors',
      'trainer_log.jsonl',
      'all_results.json',
      'training_loss.png',
      'checkpoint-2/train_state.bin',
      'checkpoint-4/adapter_model.safetensors',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const log = readFileSync(join(out, 'trainer_log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.filter((l) => 'loss' in l).map((l) => l.current_steps)).toEqual([1, 2, 3, 4]); // max_steps=4 override won
    const adapterCfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(adapterCfg.r).toBe(4);
    expect(JSON.parse(readFileSync(join(out, 'all_results.json'), 'utf8'))).toHaveProperty('train_loss');

    const c = await cli([
      'chat',
      '--model',
      modelDir,
      '--adapter',
      out,
      '--template',
      'qwen',
      '--greedy',
      '--max-new-tokens',
      '5',
      '--prompt',
      'hi',
    ]);
    expect(c.code).toBe(0);
    expect(c.out.endsWith('\n')).toBe(true);

    // LLaMA-Factory's chat config form, with an override.
    const chatYaml = join(root, 'chat.yaml');
    writeFileSync(chatYaml, `model_name_or_path: ${modelDir}\nadapter_name_or_path: ${out}\ntemplate: qwen\n`);
    const c2 = await cli(['chat', chatYaml, 'max_new_tokens=3', 'do_sample=false', '--prompt', 'hi']);
    expect(c2.code).toBe(0);
    // Greedy with the same adapter: the 3-token answer is the start of the 5-token one.
    expect(c.out.startsWith(c2.out.trimEnd().replace(/\uFFFD+$/, ''))).toBe(true);
  });

  it('adapter_name_or_path continues an existing adapter (a step with lr ~0 leaves it unchanged)', async () => {
    const { readPeftAdapter } = await import('../src/export');
    const first = join(root, 'cont1');
    expect((await cli(['train', writeConfig('cont1')])).code).toBe(0);
    const yaml = writeConfig('cont2', {
      adapter_name_or_path: first,
      learning_rate: 1e-12,
      max_steps: 1,
      warmup_ratio: 0,
    });
    const r = await cli(['train', yaml]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/continuing adapter/);
    const a = readPeftAdapter(first).state;
    const b = readPeftAdapter(join(root, 'cont2')).state;
    let maxDiff = 0;
    let maxAbs = 0;
    for (const [k, t] of a) {
      const u = b.get(k)?.data ?? new Float32Array(0);
      expect(u.length).toBe(t.data.length);
      for (let i = 0; i < u.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(u[i] - t.data[i]));
        maxAbs = Math.max(maxAbs, Math.abs(t.data[i]));
      }
    }
    // AdamW moves each weight by at most ~lr; B of the trained adapter is far from its zero init.
    expect(maxDiff).toBeLessThan(1e-9);
    expect(maxAbs).toBeGreaterThan(1e-4);
  });

  it('a continued adapter keeps its own lora_alpha; a config that sets another is refused', async () => {
    const { readPeftAdapter } = await import('../src/export');
    const first = join(root, 'alpha1');
    expect((await cli(['train', writeConfig('alpha1', { lora_alpha: 32 })])).code).toBe(0);
    const ok = await cli(['train', writeConfig('alpha2', { adapter_name_or_path: first, max_steps: 1 })]);
    expect(ok.code, ok.err).toBe(0);
    expect(readPeftAdapter(join(root, 'alpha2')).config.alpha).toBe(32);
    const bad = await cli([
      'train',
      writeConfig('alpha3', { adapter_name_or_path: first, lora_alpha: 16, max_steps: 1 }),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/was trained with lora_alpha 32, but the config sets lora_alpha: 16/);
  });

  it('chat without --prompt is a REPL on stdin/stdout: clear forgets the history, exit quits', () => {
    const entry = join(__dirname, '..', 'src', 'cli', 'index.ts');
    const argv = JSON.stringify([
      'chat',
      '--model',
      modelDir,
      '--template',
      'qwen',
      '--greedy',
      '--max-new-tokens',
      '3',
    ]);
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import(${JSON.stringify(entry)}).then((m) => m.runTrainerCli(${argv})).then((c) => process.exit(c))`,
      ],
      { input: 'hi\nclear\nhello again\nexit\n', encoding: 'utf8', timeout: 120_000, cwd: join(__dirname, '..') },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('use `clear` to remove the history');
    expect(r.stdout.match(/Assistant: /g)).toHaveLength(2);
    expect(r.stdout).toContain('History has been removed.');
  });

  it('refuses a non-empty output_dir without overwrite_output_dir, and resumes the latest checkpoint when asked', async () => {
    const yaml = writeConfig('run2');
    expect((await cli(['train', yaml])).code).toBe(0);
    const again = await cli(['train', yaml]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already exists and is not empty/);
    // Resuming a finished run continues from checkpoint-2 and ends at the same step.
    const resumed = await cli(['train', yaml, 'resume_from_checkpoint=true']);
    expect(resumed.code).toBe(0);
    expect(resumed.err).toMatch(/resuming from .*checkpoint-2/);
    const mismatched = await cli(['train', yaml, 'resume_from_checkpoint=true', 'learning_rate=5e-3']);
    expect(mismatched.code).toBe(1);
    expect(mismatched.err).toMatch(/different training config/);
  });

  it('gives a clear error for an unknown key, a missing config, a bad override and an unknown command', async () => {
    const bad = await cli(['train', writeConfig('run3', { learning_rat: 1e-4 })]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/learning_rat/);
    expect((await cli(['train', join(root, 'nope.yaml')])).err).toMatch(/Cannot read config/);
    expect((await cli(['train', writeConfig('run4'), 'oops'])).err).toMatch(/key=value/);
    expect((await cli(['chat'])).err).toMatch(/usage: crucible chat/);
    expect((await cli(['frobnicate'])).code).toBe(1);
  });
});
