import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { TrainerError } from '../io/errors';
import { scheduleProblem } from '../train/schedule';
import {
  IGNORED_CHAT_KEYS,
  IGNORED_TRAIN_KEYS,
  PREDICT_KEYS,
  type TChatConfig,
  type TTrainConfig,
  UNSUPPORTED_TRAIN_KEYS,
  ZChatConfig,
  ZTrainConfig,
} from './schema';

export type TConfigWarning = (message: string) => void;
const stderrWarning: TConfigWarning = (m) => process.stderr.write(`warning: ${m}\n`);

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

export function closestKey(key: string, known: string[]): string {
  let best = known[0];
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = levenshtein(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list (${JSON.stringify(v).slice(0, 60)})`;
  if (typeof v === 'string') return `the string "${v.slice(0, 60)}"`;
  return `${typeof v} ${JSON.stringify(v)?.slice(0, 60)}`;
}

function issueSentence(
  issue: z.core.$ZodIssue,
  raw: Record<string, unknown>,
  unsupported: Record<string, string>,
): string {
  const key = String(issue.path[0] ?? '');
  const got = describe(raw[key]);
  if (unsupported[key]) return `\`${key}\` is not supported (${unsupported[key]}), got ${got}.`;
  if (issue.code === 'invalid_type') {
    if (raw[key] === undefined) return `\`${key}\` is required (expected ${issue.expected}).`;
    return `\`${key}\` must be ${issue.expected === 'array' ? 'a list of strings' : `a ${issue.expected}`}, got ${got}.`;
  }
  if (issue.code === 'invalid_value') {
    return `\`${key}\` must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}.`;
  }
  return `\`${key}\`: ${issue.message} (got ${got}).`;
}

function parseWith<S extends z.ZodType>(
  schema: S,
  known: string[],
  ignored: Record<string, string>,
  unsupported: Record<string, string>,
  raw: unknown,
  source: string,
  warn: TConfigWarning,
): z.output<S> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TrainerError('CONFIG_READ', `${source} must be a YAML mapping of LLaMA-Factory keys.`);
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      throw new TrainerError(
        'CONFIG_UNKNOWN_KEY',
        `${source}: unknown key \`${key}\` (did you mean \`${closestKey(key, known)}\`?).`,
      );
    }
  }
  const result = schema.safeParse(obj);
  if (!result.success) {
    const lines = result.error.issues.map((i) => issueSentence(i, obj, unsupported));
    throw new TrainerError('CONFIG_INVALID_VALUE', `${source}: ${lines.join(' ')}`);
  }
  const unused = Object.keys(obj).filter((k) => k in ignored);
  if (unused.length > 0) {
    warn(
      `${source}: ignored keys (accepted for LLaMA-Factory compatibility, no effect here): ${unused.map((k) => `${k} (${ignored[k]})`).join('; ')}.`,
    );
  }
  return result.data;
}

function trainKeys(): string[] {
  // The object inside the transform pipe holds the key list.
  return Object.keys((ZTrainConfig.in as unknown as z.ZodObject).shape);
}

export function parseTrainConfig(raw: unknown, source = 'config', warn: TConfigWarning = stderrWarning): TTrainConfig {
  const config = parseWith(ZTrainConfig, trainKeys(), IGNORED_TRAIN_KEYS, UNSUPPORTED_TRAIN_KEYS, raw, source, warn);
  // Combinations LLaMA-Factory and Transformers refuse, with their messages.
  const refuse = (message: string) => {
    throw new TrainerError('CONFIG_INVALID_VALUE', `${source}: ${message}`);
  };
  if (config.eval_dataset && config.eval_dataset.length > 0 && config.val_size > 1e-6) {
    refuse('Cannot specify `val_size` if `eval_dataset` is not None.');
  }
  if (config.mask_history && config.train_on_prompt) refuse('`mask_history` is incompatible with `train_on_prompt`.');
  if (config.stage !== 'sft' && config.neat_packing) refuse('`neat_packing` cannot be set as True except SFT.');
  checkPredict(config, source, refuse, warn);
  const dpoOnly = ['pref_loss', 'dpo_label_smoothing', 'simpo_gamma'] as const;
  const ktoOnly = ['kto_chosen_weight', 'kto_rejected_weight'] as const;
  const both = ['pref_beta', 'pref_ftx', 'ref_model'] as const;
  const preference = config.stage === 'dpo' || config.stage === 'kto';
  const unused = [
    ...(config.stage === 'dpo' ? [] : dpoOnly.map((k) => [k, 'dpo'] as const)),
    ...(config.stage === 'kto' ? [] : ktoOnly.map((k) => [k, 'kto'] as const)),
    ...(preference ? [] : both.map((k) => [k, 'dpo and kto'] as const)),
  ].filter(([k]) => config[k] !== undefined);
  if (unused.length > 0) {
    warn(
      `${source}: ${unused.map(([k, st]) => `${k} (stage ${st})`).join(', ')} only apply to other stages; this ${config.stage} run ignores them.`,
    );
  }
  if (config.stage === 'kto' && config.packing) {
    refuse('`packing` applies to stages pt and sft; stage kto trains each row unpacked: remove it.');
  }
  if (config.stage === 'dpo') {
    // FinetuningArguments.__post_init__
    const loss = config.pref_loss ?? 'sigmoid';
    if (loss !== 'sigmoid' && (config.dpo_label_smoothing ?? 0) > 1e-6) {
      refuse(
        `\`dpo_label_smoothing\` is only valid for sigmoid loss function (pref_loss is ${loss}); remove it or set pref_loss: sigmoid.`,
      );
    }
    if (config.packing)
      refuse('`packing` applies to stages pt and sft; stage dpo trains each pair unpacked: remove it.');
  }
  if (config.data_cutoff_len !== undefined && config.data_cutoff_len < 1) {
    // LLaMA-Factory would pack with a cutoff of 0 (one token less than cutoff_len): every example empty.
    refuse(
      `\`cutoff_len\` ${config.cutoff_len} leaves no token to pack: packing takes one token off cutoff_len (as LLaMA-Factory does); set cutoff_len to 2 or more.`,
    );
  }
  if (config.preprocessing_batch_size !== undefined && !(config.stage === 'sft' && config.packing)) {
    warn(
      `${source}: ignored keys (accepted for LLaMA-Factory compatibility, no effect here): preprocessing_batch_size (it only sets how many rows sft packing bins together).`,
    );
  }
  const best = bestModelOf(config);
  if (config.load_best_model_at_end) {
    // TrainingArguments.__post_init__ (Transformers 5), which prints its enums as IntervalStrategy.X / SaveStrategy.X
    if (config.eval_strategy !== config.save_strategy) {
      refuse(
        `--load_best_model_at_end requires the save and eval strategy to match, except when --save_strategy="best", but found\n- Evaluation strategy: IntervalStrategy.${config.eval_strategy.toUpperCase()}\n- Save strategy: SaveStrategy.${config.save_strategy.toUpperCase()}`,
      );
    }
    const evalSteps = config.eval_steps ?? config.logging_steps; // Transformers' fallback for an unset eval_steps
    const saveSteps = config.save_steps;
    if (config.eval_strategy === 'steps' && saveSteps % evalSteps !== 0) {
      if (evalSteps < 1 || saveSteps < 1) {
        if (!(evalSteps < 1 && saveSteps < 1)) {
          refuse(
            `--load_best_model_at_end requires the saving steps to be a multiple of the evaluation steps, which cannot get guaranteed when mixing ratio and absolute steps for save_steps ${saveSteps} and eval_steps ${evalSteps}.`,
          );
        }
        if (Math.round(saveSteps * 1e6) % Math.round(evalSteps * 1e6) !== 0) {
          refuse(
            `--load_best_model_at_end requires the saving steps to be a multiple of the evaluation steps, but found ${saveSteps}, which is not a multiple of ${evalSteps}.`,
          );
        }
      } else {
        refuse(
          `--load_best_model_at_end requires the saving steps to be a round multiple of the evaluation steps, but found ${saveSteps}, which is not a round multiple of ${evalSteps}.`,
        );
      }
    }
  }
  if (config.early_stopping_steps !== undefined) {
    // EarlyStoppingCallback.on_train_begin (asserts and a warning)
    if (best.metric === null) refuse('EarlyStoppingCallback requires metric_for_best_model to be defined');
    if (config.eval_strategy === 'no') refuse('EarlyStoppingCallback requires IntervalStrategy of steps or epoch');
    if (!config.load_best_model_at_end) {
      warn(
        `${source}: Using EarlyStoppingCallback without load_best_model_at_end=True. Once training is finished, the best model will not be loaded automatically.`,
      );
    }
  }
  if (best.metric !== null) {
    // Trainer._determine_best_metric reads the metric from every evaluation; the only one computed here is the loss.
    if (best.metric !== 'eval_loss') {
      refuse(
        `The \`metric_for_best_model\` training argument is set to '${best.metric}', which is not found in the evaluation metrics. The available evaluation metrics are: ['eval_loss']. Consider changing the \`metric_for_best_model\` (only eval_loss is computed here).`,
      );
    }
    const hasEvalData = (config.eval_dataset?.length ?? 0) > 0 || config.val_size > 0;
    if (config.eval_strategy !== 'no' && !hasEvalData) {
      refuse(
        'Trainer: evaluation requires an eval_dataset. Set `val_size` (a share of the training rows) or `eval_dataset` for metric_for_best_model, load_best_model_at_end and early_stopping_steps to compare evaluations.',
      );
    }
  }
  const scheduleIssue = scheduleProblem(config.lr_scheduler_type, config.lr_scheduler_kwargs, config.learning_rate);
  if (scheduleIssue) refuse(scheduleIssue);
  // bf16/fp16 change LLaMA-Factory's compute dtype. With LoRA, bf16 maps to what it means for a frozen base here:
  // the frozen weights are held in bf16 and multiplied with bf16-rounded activations (fp32 accumulation) while the
  // adapters, gradients and optimizer state stay fp32 (see frozenDtypeOf). Full fine-tuning and fp16 compute in
  // float32; say so rather than pretend.
  if (config.bf16 && config.finetuning_type === 'lora') {
    warn(
      `${source}: bf16: true keeps the frozen base weights in bf16 (bf16 x bf16 products, fp32 accumulation); LoRA adapters, gradients and optimizer state stay float32.`,
    );
  } else if (config.bf16 || config.fp16) {
    warn(
      `${source}: ${config.bf16 ? 'bf16' : 'fp16'}: true is declined; training computes in float32 on this CPU engine${config.bf16 ? ' (bf16 applies to the frozen base of finetuning_type: lora)' : ''}.`,
    );
  }
  if (config.gradient_checkpointing === false && !config.disable_gradient_checkpointing) {
    warn(
      `${source}: gradient_checkpointing: false does not turn checkpointing off in LLaMA-Factory, nor here; set disable_gradient_checkpointing: true to keep every layer's activations (faster, more memory).`,
    );
  }
  return config;
}

/** do_predict / predict_with_generate and the generation keys: LLaMA-Factory's checks (its messages), and ours. */
function checkPredict(config: TTrainConfig, source: string, refuse: (m: string) => never, warn: TConfigWarning): void {
  // hparams/parser.py
  if (config.stage !== 'sft' && config.predict_with_generate) {
    refuse('`predict_with_generate` cannot be set as True except SFT.');
  }
  if (config.stage !== 'sft' && config.do_predict) {
    refuse(
      `\`do_predict\` generates answers, which LLaMA-Factory does for stage sft only (this config has stage ${config.stage}).`,
    );
  }
  if (config.do_predict && !config.predict_with_generate) {
    refuse('Please enable `predict_with_generate` to save model predictions.');
  }
  if (config.do_predict && !(config.eval_dataset && config.eval_dataset.length > 0)) {
    refuse(
      `\`do_predict\` needs \`eval_dataset\`: the dataset whose prompts are generated for and whose answers are the labels${config.val_size > 0 ? ' (a val_size split is not predicted here: put the held-out rows in a dataset of their own)' : ''}. LLaMA-Factory: Please make sure eval_dataset be provided or val_size >1e-6`,
    );
  }
  if (config.predict_with_generate && config.eval_strategy !== 'no') {
    refuse(
      `\`predict_with_generate\` with eval_strategy ${config.eval_strategy}: evaluation during training computes eval_loss only here (LLaMA-Factory would generate at every evaluation). Set eval_strategy: no, or drop predict_with_generate and predict after training with do_predict in another run.`,
    );
  }
  // Transformers' TemperatureLogitsWarper
  if (config.do_sample !== false && config.temperature === 0) {
    refuse(
      "`temperature` (=0) has to be a strictly positive float, otherwise your next token scores will be invalid. If you're looking for greedy decoding strategies, set `do_sample: false`.",
    );
  }
  // (keys that are ignored anyway already have their warning)
  const unused = PREDICT_KEYS.filter((k) => config[k] !== undefined && !(k in IGNORED_TRAIN_KEYS));
  if (!config.do_predict && unused.length > 0) {
    warn(
      `${source}: ${unused.join(', ')} only apply with do_predict: true (or crucible eval); this run does not generate.`,
    );
  }
}

export type TBestModel = {
  /** The eval metric compared ('eval_loss'), or null when no best model is tracked. */
  metric: string | null;
  greaterIsBetter: boolean;
  loadBestModelAtEnd: boolean;
  /** EarlyStoppingCallback's patience (LLaMA-Factory's early_stopping_steps), in evaluations; null: no early stop. */
  earlyStoppingPatience: number | null;
};

/**
 * Best-model tracking as Transformers' TrainingArguments resolves it: metric_for_best_model defaults to "loss" under
 * load_best_model_at_end, greater_is_better to "the metric's name does not end in loss"; the metric is read from
 * the evaluation as `eval_<name>` unless it already starts with eval_.
 */
export function bestModelOf(
  cfg: Pick<
    TTrainConfig,
    'load_best_model_at_end' | 'metric_for_best_model' | 'greater_is_better' | 'early_stopping_steps'
  >,
): TBestModel {
  const loadBest = cfg.load_best_model_at_end ?? false;
  const name = cfg.metric_for_best_model ?? (loadBest ? 'loss' : null);
  return {
    metric: name === null ? null : name.startsWith('eval_') ? name : `eval_${name}`,
    greaterIsBetter: cfg.greater_is_better ?? (name !== null && !name.endsWith('loss')),
    loadBestModelAtEnd: loadBest,
    earlyStoppingPatience: cfg.early_stopping_steps ?? null,
  };
}

/** The model's frozenDtype for a training config: bf16 frozen weights for `bf16: true` with LoRA, else f32. */
export function frozenDtypeOf(cfg: Pick<TTrainConfig, 'bf16' | 'finetuning_type'>): 'f32' | 'bf16' {
  return cfg.bf16 && cfg.finetuning_type === 'lora' ? 'bf16' : 'f32';
}

/**
 * Gradient checkpointing as LLaMA-Factory decides it: on, unless `disable_gradient_checkpointing: true`
 * (LLaMA-Factory enables it on the model at load time; `gradient_checkpointing: false` does not turn it off there,
 * and parseTrainConfig says so when a config sets it).
 */
export function gradientCheckpointingOf(cfg: Pick<TTrainConfig, 'disable_gradient_checkpointing'>): boolean {
  return !cfg.disable_gradient_checkpointing;
}

export function parseChatConfig(raw: unknown, source = 'config', warn: TConfigWarning = stderrWarning): TChatConfig {
  return parseWith(ZChatConfig, Object.keys(ZChatConfig.shape), IGNORED_CHAT_KEYS, {}, raw, source, warn);
}

function readYaml(yamlPath: string): unknown {
  let text: string;
  try {
    text = readFileSync(yamlPath, 'utf8');
  } catch (e) {
    throw new TrainerError('CONFIG_READ', `Cannot read config ${yamlPath}: ${(e as Error).message}`);
  }
  try {
    return parseYaml(text);
  } catch (e) {
    throw new TrainerError('CONFIG_READ', `${yamlPath} is not valid YAML: ${(e as Error).message}`);
  }
}

/** Reads a LLaMA-Factory training YAML. Relative paths in it stay relative to the working directory, as in LLaMA-Factory. */
export function loadTrainConfig(yamlPath: string, warn?: TConfigWarning): TTrainConfig {
  return parseTrainConfig(readYaml(yamlPath), yamlPath, warn);
}

export function loadChatConfig(yamlPath: string, warn?: TConfigWarning): TChatConfig {
  return parseChatConfig(readYaml(yamlPath), yamlPath, warn);
}
