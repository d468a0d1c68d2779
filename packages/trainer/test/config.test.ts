import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { gradientCheckpointingOf, loadChatConfig, loadTrainConfig, parseTrainConfig } from '../src/config';
import type { TrainerError } from '../src/io/errors';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/configs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'crucible-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function collect() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => warnings.push(m) };
}
const base = { model_name_or_path: 'm', output_dir: 'o' };

describe('LLaMA-Factory train config', () => {
  it('understands every key of the getting-started train_qwen_lora.yaml', () => {
    const { warnings, warn } = collect();
    const c = loadTrainConfig(join(FIXTURES, 'train_qwen_lora.yaml'), warn);
    expect(c.stage).toBe('sft');
    expect(c.finetuning_type).toBe('lora');
    expect(c.lora_target).toEqual(['all']);
    expect(c.lora_rank).toBe(8);
    expect(c.lora_alpha).toBe(16); // LLaMA-Factory default: 2 * lora_rank
    expect(c.dataset).toEqual(['identity']);
    expect(c.dataset_dir).toBe('my_train');
    expect(c.cutoff_len).toBe(32768);
    expect(c.max_samples).toBe(1000);
    expect(c.learning_rate).toBe(1e-4);
    expect(c.num_train_epochs).toBe(3);
    expect(c.lr_scheduler_type).toBe('cosine');
    expect(c.warmup_ratio).toBe(0.1);
    expect(c.gradient_accumulation_steps).toBe(4);
    expect(c.val_size).toBe(0.1);
    expect(c.eval_strategy).toBe('steps');
    expect(c.eval_steps).toBe(500);
    expect(c.plot_loss).toBe(true);
    const all = warnings.join('\n');
    expect(all).toMatch(/ignored keys.*overwrite_cache.*preprocessing_num_workers.*ddp_timeout/);
    expect(all).toMatch(/bf16: true keeps the frozen base weights in bf16/); // the fixture is LoRA
  });

  it('reads the chat config', () => {
    const c = loadChatConfig(join(FIXTURES, 'chat_qwen.yaml'), () => {});
    expect(c.adapter_name_or_path).toEqual(['qwen_train_test']);
    expect(c.template).toBe('qwen');
  });

  it('names an unknown key and the closest known key', () => {
    const p = join(dir, 'typo.yaml');
    writeFileSync(p, 'model_name_or_path: m\noutput_dir: o\nlearning_rat: 1.0e-4\n');
    expect(() => loadTrainConfig(p, () => {})).toThrowError(
      /unknown key `learning_rat` \(did you mean `learning_rate`\?\)/,
    );
    try {
      loadTrainConfig(p, () => {});
    } catch (e) {
      expect((e as TrainerError).code).toBe('CONFIG_UNKNOWN_KEY');
    }
  });

  it('names the key and the expected type of a wrong value', () => {
    expect(() => parseTrainConfig({ ...base, learning_rate: 'fast' }, 'c.yaml', () => {})).toThrowError(
      /`learning_rate` must be a number, got the string "fast"/,
    );
    expect(() => parseTrainConfig({ ...base, finetuning_type: 'qlora' }, 'c.yaml', () => {})).toThrowError(
      /`finetuning_type` must be one of "lora", "full"/,
    );
    expect(() => parseTrainConfig({ output_dir: 'o' }, 'c.yaml', () => {})).toThrowError(
      /`model_name_or_path` is required/,
    );
  });

  it('accepts resume_from_checkpoint: true as LLaMA-Factory does (latest checkpoint) and a path as is', () => {
    const base = { model_name_or_path: 'm', dataset: 'd', output_dir: 'o' };
    expect(parseTrainConfig({ ...base, resume_from_checkpoint: true }, 'c.yaml', () => {}).resume_from_checkpoint).toBe(
      'true',
    );
    expect(
      parseTrainConfig({ ...base, resume_from_checkpoint: 'o/checkpoint-5' }, 'c.yaml', () => {})
        .resume_from_checkpoint,
    ).toBe('o/checkpoint-5');
  });

  it('coerces numbers written as strings and comma lists', () => {
    const c = parseTrainConfig(
      {
        ...base,
        learning_rate: '1.0e-4',
        lora_rank: '16',
        lora_target: 'q_proj, v_proj',
        dataset: 'a,b',
        bf16: 'false',
      },
      'c.yaml',
      () => {},
    );
    expect(c.learning_rate).toBe(1e-4);
    expect(c.lora_rank).toBe(16);
    expect(c.lora_alpha).toBe(32);
    expect(c.lora_target).toEqual(['q_proj', 'v_proj']);
    expect(c.dataset).toEqual(['a', 'b']);
    expect(c.bf16).toBe(false);
  });

  it('keeps LLaMA-Factory / Transformers defaults', () => {
    const c = parseTrainConfig(base, 'c.yaml', () => {});
    expect(c.per_device_train_batch_size).toBe(8);
    expect(c.max_grad_norm).toBe(1);
    expect(c.adam_epsilon).toBe(1e-8);
    expect(c.lr_scheduler_type).toBe('linear');
    expect(c.cutoff_len).toBe(2048);
    expect(c.seed).toBe(42);
    expect(c.packing).toBe(false);
    expect(parseTrainConfig({ ...base, stage: 'pt' }, 'c', () => {}).packing).toBe(true);
    expect(parseTrainConfig({ ...base, evaluation_strategy: 'epoch' }, 'c', () => {}).eval_strategy).toBe('epoch');
  });
});

describe('LLaMA-Factory features Crucible lacks', () => {
  it('accepts them at their default and refuses them otherwise, saying why', () => {
    expect(
      parseTrainConfig({ ...base, quantization_bit: null, use_dora: false, streaming: false }, 'c', () => {}).use_dora,
    ).toBe(false);
    expect(() => parseTrainConfig({ ...base, quantization_bit: 4 }, 'c.yaml', () => {})).toThrowError(
      /`quantization_bit` is not supported \(QLoRA .*\), got number 4/,
    );
    expect(() => parseTrainConfig({ ...base, use_dora: true }, 'c.yaml', () => {})).toThrowError(
      /`use_dora` is not supported/,
    );
  });
  it('lists no-op keys in the ignored warning', () => {
    const { warnings, warn } = collect();
    parseTrainConfig({ ...base, deepspeed: 'ds_z3.json', report_to: 'none', do_eval: true }, 'c.yaml', warn);
    expect(warnings[0]).toMatch(/ignored keys.*deepspeed.*report_to.*do_eval/);
  });
});

describe('gradient checkpointing keys (LLaMA-Factory: on unless disable_gradient_checkpointing)', () => {
  it('is on by default, off with disable_gradient_checkpointing, and gradient_checkpointing: false says why not', () => {
    const on = collect();
    expect(gradientCheckpointingOf(parseTrainConfig({ ...base }, 'c', on.warn))).toBe(true);
    expect(on.warnings.join('\n')).not.toMatch(/gradient_checkpointing/);
    const off = collect();
    expect(
      gradientCheckpointingOf(parseTrainConfig({ ...base, disable_gradient_checkpointing: true }, 'c', off.warn)),
    ).toBe(false);
    expect(off.warnings.join('\n')).not.toMatch(/gradient_checkpointing/);
    const f = collect();
    expect(gradientCheckpointingOf(parseTrainConfig({ ...base, gradient_checkpointing: false }, 'c', f.warn))).toBe(
      true,
    );
    expect(f.warnings.join('\n')).toMatch(/does not turn checkpointing off.*disable_gradient_checkpointing: true/);
  });

  it('refuses what LLaMA-Factory and Transformers refuse, with their messages', () => {
    const bad = (extra: Record<string, unknown>) => () => parseTrainConfig({ ...base, ...extra }, 'c.yaml', () => {});
    expect(bad({ eval_dataset: 'e', val_size: 0.1 })).toThrowError(/Cannot specify `val_size` if `eval_dataset`/);
    expect(bad({ mask_history: true, train_on_prompt: true })).toThrowError(/`mask_history` is incompatible/);
    expect(bad({ stage: 'sft', packing: true })).toThrowError(/packing: true with stage: sft is not implemented/);
    expect(bad({ lr_scheduler_type: 'cosine_with_min_lr' })).toThrowError(/One of min_lr or min_lr_rate/);
    // lr_scheduler_kwargs as a mapping or as its JSON text, as TrainingArguments takes it.
    const c = parseTrainConfig(
      { ...base, lr_scheduler_type: 'cosine_with_min_lr', lr_scheduler_kwargs: '{"min_lr_rate": 0.1}' },
      'c.yaml',
      () => {},
    );
    expect(c.lr_scheduler_kwargs).toEqual({ min_lr_rate: 0.1 });
    expect(parseTrainConfig({ ...base, stage: 'pt', packing: true }, 'c.yaml', () => {}).packing).toBe(true);
  });
});
