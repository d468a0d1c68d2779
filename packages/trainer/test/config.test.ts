import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bestModelOf,
  dataCutoffLen,
  gradientCheckpointingOf,
  loadChatConfig,
  loadTrainConfig,
  parseTrainConfig,
} from '../src/config';
import type { TrainerError } from '../src/io/errors';
import { configHash } from '../src/train/checkpoint';

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

describe('packing keys (issue 17: sft packing was refused, neat_packing unsupported)', () => {
  const parse = (extra: Record<string, unknown>, warn: (m: string) => void = () => {}) =>
    parseTrainConfig({ ...base, ...extra }, 'c', warn);

  it("packs sft when asked, with LLaMA-Factory's cutoff_len - 1; neat_packing turns packing on", () => {
    const c = parse({ packing: true, cutoff_len: 512 });
    expect([c.packing, c.neat_packing, dataCutoffLen(c)]).toEqual([true, undefined, 511]);
    // DataArguments.__post_init__: neat_packing sets packing, whatever packing says
    const n = parse({ neat_packing: true, packing: false, cutoff_len: 512 });
    expect([n.packing, n.neat_packing, dataCutoffLen(n)]).toEqual([true, true, 511]);
    // not asked: no packing, the whole cutoff
    expect(dataCutoffLen(parse({ cutoff_len: 512 }))).toBe(512);
    expect(dataCutoffLen(parse({ packing: false, cutoff_len: 512 }))).toBe(512);
    // pt packs by default (its parser sets that after __post_init__: no token off) but not when packing is written
    expect(dataCutoffLen(parse({ stage: 'pt', cutoff_len: 512 }))).toBe(512);
    expect(dataCutoffLen(parse({ stage: 'pt', packing: true, cutoff_len: 512 }))).toBe(511);
  });

  it("refuses neat_packing outside sft with LLaMA-Factory's message, and a cutoff that leaves nothing to pack", () => {
    expect(() => parse({ stage: 'pt', neat_packing: true })).toThrowError(
      /`neat_packing` cannot be set as True except SFT\./,
    );
    expect(() => parse({ packing: true, cutoff_len: 1 })).toThrowError(/cutoff_len.*set cutoff_len to 2 or more/);
    expect(() => parse({ neat_packing: 'yes' })).toThrowError(/`neat_packing` must be a boolean/);
  });

  it('uses preprocessing_batch_size only for sft packing and says so otherwise', () => {
    const used = collect();
    expect(parse({ packing: true, preprocessing_batch_size: 50 }, used.warn).preprocessing_batch_size).toBe(50);
    expect(used.warnings.join('\n')).not.toMatch(/preprocessing_batch_size/);
    const unused = collect();
    parse({ preprocessing_batch_size: 50 }, unused.warn);
    expect(unused.warnings.join('\n')).toMatch(
      /ignored keys.*preprocessing_batch_size \(it only sets how many rows sft packing/,
    );
    expect(() => parse({ preprocessing_batch_size: 0 })).toThrowError(/preprocessing_batch_size/);
  });

  it('leaves the hash of configs without the new keys as it was (their checkpoints still resume)', () => {
    // Computed on main before these keys existed (9e3a68e).
    expect(configHash(parseTrainConfig(base, 'c', () => {}))).toBe(
      'f0ac41055e174359ef668f2d9942ed29c9ec8645df50c28d2d3f786bb8d1d54b',
    );
    expect(configHash(loadTrainConfig(join(FIXTURES, 'train_qwen_lora.yaml'), () => {}))).toBe(
      '9fce9f9839817218c378f0caf9fbc1f60b0497ec40dc0d4cdf66c88357f0e642',
    );
    // and packing is part of what a run computes, with the chunk size it bins by
    expect(configHash(parse({ packing: true }))).not.toBe(configHash(parse({ neat_packing: true })));
    expect(configHash(parse({ packing: true, preprocessing_batch_size: 10 }))).not.toBe(
      configHash(parse({ packing: true })),
    );
    expect(configHash(parse({ preprocessing_batch_size: 10 }))).toBe(configHash(parse({})));
  });
});

describe('best model and early stopping keys (Transformers TrainingArguments, LLaMA-Factory early_stopping_steps)', () => {
  const evalSet = { val_size: 0.1, eval_strategy: 'steps', eval_steps: 5, save_steps: 10 };
  const parse = (extra: Record<string, unknown>, warn: (m: string) => void = () => {}) =>
    parseTrainConfig({ ...base, ...evalSet, ...extra }, 'c', warn);

  it('resolves metric_for_best_model and greater_is_better as TrainingArguments does', () => {
    expect(bestModelOf(parse({}))).toEqual({
      metric: null,
      greaterIsBetter: false,
      loadBestModelAtEnd: false,
      earlyStoppingPatience: null,
    });
    expect(bestModelOf(parse({ load_best_model_at_end: true }))).toEqual({
      metric: 'eval_loss', // "loss" by default, read as eval_loss
      greaterIsBetter: false,
      loadBestModelAtEnd: true,
      earlyStoppingPatience: null,
    });
    expect(bestModelOf(parse({ metric_for_best_model: 'eval_loss', early_stopping_steps: 3 }))).toMatchObject({
      metric: 'eval_loss',
      greaterIsBetter: false,
      earlyStoppingPatience: 3,
    });
    expect(bestModelOf(parse({ metric_for_best_model: 'loss', greater_is_better: true })).greaterIsBetter).toBe(true);
  });

  it("refuses load_best_model_at_end with strategies or steps that do not match, with Transformers' messages", () => {
    // The messages Transformers 5.17 raises for these arguments (checked in its venv).
    expect(() => parse({ load_best_model_at_end: true, save_strategy: 'epoch' })).toThrowError(
      '--load_best_model_at_end requires the save and eval strategy to match, except when --save_strategy="best", but found\n- Evaluation strategy: IntervalStrategy.STEPS\n- Save strategy: SaveStrategy.EPOCH',
    );
    expect(() => parse({ load_best_model_at_end: true, eval_strategy: 'no' })).toThrowError(
      /Evaluation strategy: IntervalStrategy.NO\n- Save strategy: SaveStrategy.STEPS/,
    );
    expect(() => parse({ load_best_model_at_end: true, eval_steps: 3, save_steps: 5 })).toThrowError(
      '--load_best_model_at_end requires the saving steps to be a round multiple of the evaluation steps, but found 5, which is not a round multiple of 3.',
    );
    expect(() => parse({ load_best_model_at_end: true, eval_steps: 0.3, save_steps: 5 })).toThrowError(
      'which cannot get guaranteed when mixing ratio and absolute steps for save_steps 5 and eval_steps 0.3.',
    );
    expect(() => parse({ load_best_model_at_end: true, eval_steps: 0.2, save_steps: 0.3 })).toThrowError(
      'but found 0.3, which is not a multiple of 0.2.',
    );
    // eval_steps unset falls back to logging_steps before the check, as in Transformers
    expect(() =>
      parse({ load_best_model_at_end: true, eval_steps: undefined, logging_steps: 4, save_steps: 10 }),
    ).toThrowError(/not a round multiple of 4/);
    expect(parse({ load_best_model_at_end: true, eval_steps: 0.1, save_steps: 0.2 }).load_best_model_at_end).toBe(true);
    expect(parse({ load_best_model_at_end: true }).load_best_model_at_end).toBe(true);
  });

  it('refuses early_stopping_steps without a metric or evaluation, and warns without load_best_model_at_end', () => {
    expect(() => parse({ early_stopping_steps: 2 })).toThrowError(
      'EarlyStoppingCallback requires metric_for_best_model to be defined',
    );
    expect(() => parse({ early_stopping_steps: 2, metric_for_best_model: 'loss', eval_strategy: 'no' })).toThrowError(
      'EarlyStoppingCallback requires IntervalStrategy of steps or epoch',
    );
    const w = collect();
    parse({ early_stopping_steps: 2, metric_for_best_model: 'loss' }, w.warn);
    expect(w.warnings.join('\n')).toMatch(
      /Using EarlyStoppingCallback without load_best_model_at_end=True\. Once training is finished, the best model will not be loaded automatically\./,
    );
    expect(() => parse({ early_stopping_steps: 0, load_best_model_at_end: true })).toThrowError(/early_stopping_steps/);
  });

  it('refuses a metric that evaluation does not compute, and tracking without evaluation data', () => {
    expect(() => parse({ metric_for_best_model: 'accuracy' })).toThrowError(
      /metric_for_best_model` training argument is set to 'eval_accuracy', which is not found in the evaluation metrics\. The available evaluation metrics are: \['eval_loss'\]/,
    );
    expect(() => parse({ load_best_model_at_end: true, val_size: 0 })).toThrowError(
      /Trainer: evaluation requires an eval_dataset\. Set `val_size`.*or `eval_dataset`/,
    );
    expect(parse({ load_best_model_at_end: true, val_size: 0, eval_dataset: 'e' }).eval_dataset).toEqual(['e']);
  });
});

describe('do_predict and generation keys (issue 16: they were refused as unsupported)', () => {
  const predict = { eval_dataset: 'held_out', do_predict: true, predict_with_generate: true };
  const parse = (extra: Record<string, unknown>, warn: (m: string) => void = () => {}) =>
    parseTrainConfig({ ...base, dataset: 'd', ...extra }, 'c.yaml', warn);

  it("accepts LLaMA-Factory's prediction config and its generating arguments", () => {
    const { warnings, warn } = collect();
    const c = parse(
      {
        ...predict,
        max_new_tokens: 64,
        do_sample: false,
        temperature: '0.5',
        top_p: 0.9,
        top_k: 20,
        skip_special_tokens: true,
        num_beams: 1,
        repetition_penalty: 1.0,
        max_length: 512,
      },
      warn,
    );
    expect(c).toMatchObject({ do_predict: true, predict_with_generate: true, max_new_tokens: 64, do_sample: false });
    expect(c.temperature).toBe(0.5);
    expect(c.eval_dataset).toEqual(['held_out']);
    expect(warnings.join('\n')).toMatch(/ignored keys.*max_length/);
    expect(warnings.join('\n')).not.toMatch(/do_predict|predict_with_generate/);
  });

  it("reads LLaMA-Factory's prediction example (fixtures/configs/predict_qwen_lora.yaml)", () => {
    const { warnings, warn } = collect();
    const c = loadTrainConfig(join(FIXTURES, 'predict_qwen_lora.yaml'), warn);
    // do_train unset: the example only predicts (Transformers' default do_train is false)
    expect(c).toMatchObject({ do_train: false, do_predict: true, predict_with_generate: true, max_samples: 50 });
    expect(c.eval_dataset).toEqual(['identity', 'alpaca_en_demo']);
    expect(c.adapter_name_or_path).toEqual(['qwen_train_test']);
    expect(warnings.join('\n')).toMatch(/ignored keys.*trust_remote_code/);
  });

  it('refuses a prediction it cannot make, naming the key and the fix', () => {
    expect(() => parse({ do_predict: true, predict_with_generate: true })).toThrowError(
      /`do_predict` needs `eval_dataset`.*Please make sure eval_dataset be provided/,
    );
    expect(() => parse({ do_predict: true, predict_with_generate: true, val_size: 0.1 })).toThrowError(
      /needs `eval_dataset`.*a val_size split is not predicted here/,
    );
    expect(() => parse({ eval_dataset: 'held_out', do_predict: true })).toThrowError(
      /Please enable `predict_with_generate` to save model predictions\./,
    );
    expect(() => parse({ ...predict, stage: 'dpo' })).toThrowError(
      /`predict_with_generate` cannot be set as True except SFT\./,
    );
    expect(() => parse({ ...predict, eval_strategy: 'steps' })).toThrowError(
      /predict_with_generate.*eval_strategy steps.*Set eval_strategy: no/,
    );
    expect(() => parse({ ...predict, temperature: 0 })).toThrowError(/`temperature` \(=0\).*do_sample: false/);
    expect(parse({ ...predict, temperature: 0, do_sample: false }).temperature).toBe(0);
    expect(() => parse({ ...predict, num_beams: 4 })).toThrowError(/`num_beams` is not supported \(beam search/);
    expect(() => parse({ ...predict, repetition_penalty: 1.2 })).toThrowError(/`repetition_penalty` is not supported/);
    expect(() => parse({ ...predict, top_p: 1.5 })).toThrowError(/`top_p`/);
    expect(() => parse({ ...predict, max_new_tokens: 0 })).toThrowError(/`max_new_tokens`/);
  });

  it('says when generation keys have no effect, and keeps them out of the config hash', () => {
    const { warnings, warn } = collect();
    parse({ predict_with_generate: true, max_new_tokens: 16 }, warn);
    expect(warnings.join('\n')).toMatch(/predict_with_generate, max_new_tokens only apply with do_predict/);
    expect(configHash(parse({ ...predict, do_train: true, max_new_tokens: 16, do_sample: false }))).toBe(
      configHash(parse({ eval_dataset: 'held_out' })),
    );
  });
});
