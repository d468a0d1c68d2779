import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { TrainerError } from '../io/errors';
import { scheduleProblem } from '../train/schedule';
import {
  IGNORED_CHAT_KEYS,
  IGNORED_TRAIN_KEYS,
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
  if (config.stage === 'sft' && config.packing) {
    refuse(
      'packing: true with stage: sft is not implemented here (LLaMA-Factory packs SFT examples keeping attention inside each); remove packing, or use stage: pt for raw text.',
    );
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
