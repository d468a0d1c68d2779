import { z } from 'zod';
import { SCHEDULE_TYPES } from '../train/schedule';

// LLaMA-Factory YAML keys. Defaults are LLaMA-Factory's (its hparams dataclasses) where it sets one, otherwise the
// Hugging Face TrainingArguments default, so a config copied from a LLaMA-Factory tutorial means the same run here.

// YAML 1.1 readers (PyYAML, which LLaMA-Factory uses) read `1e-4` as a string; people therefore also write numbers
// in quotes. Numbers and booleans written as strings are coerced; anything else is left for zod to reject.
const coerceNumber = (v: unknown): unknown => {
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
};
const coerceBool = (v: unknown): unknown => {
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return v;
};
const num = (s: z.ZodNumber = z.number()) => z.preprocess(coerceNumber, s);
const int = (s: z.ZodNumber = z.number().int()) => z.preprocess(coerceNumber, s);
const bool = () => z.preprocess(coerceBool, z.boolean());
// LLaMA-Factory takes lists either as YAML lists or as comma-separated strings (`lora_target: q_proj,v_proj`).
const list = () =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : v,
    z.array(z.string()),
  );

export const LORA_TARGET_MODULES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;

export const ZTrainConfig = z
  .object({
    // model
    model_name_or_path: z.string(),
    adapter_name_or_path: list().optional(),
    trust_remote_code: bool().optional(),
    cache_dir: z.string().optional(),
    // method
    stage: z.enum(['sft', 'pt', 'dpo', 'kto']).default('sft'),
    // Transformers defaults do_train to false; here a config trains unless it says otherwise, except a prediction
    // config (do_predict) without do_train, which only predicts, as LLaMA-Factory's predict examples expect.
    do_train: bool().optional(),
    do_eval: bool().optional(),
    do_predict: bool().optional(),
    finetuning_type: z.enum(['lora', 'full']).default('lora'),
    // Defaults applied below, so that a continued adapter (adapter_name_or_path) can tell what the YAML set.
    lora_rank: int(z.number().int().positive()).optional(),
    lora_alpha: num(z.number().positive()).optional(),
    lora_dropout: num(z.number().min(0).max(1)).optional(),
    lora_target: list().optional(),
    // preference training (stage dpo): LLaMA-Factory's FinetuningArguments. Their defaults (pref_beta 0.1, pref_ftx 0,
    // pref_loss sigmoid, dpo_label_smoothing 0, simpo_gamma 0.5) live in train/preference.ts PREF_DEFAULTS and are
    // applied there, so that the config hash of every sft/pt run (and its checkpoints) stays what it was.
    pref_beta: num(z.number().positive()).optional(),
    pref_ftx: num(z.number().min(0)).optional(),
    pref_loss: z.enum(['sigmoid', 'hinge', 'ipo', 'orpo', 'simpo']).optional(),
    dpo_label_smoothing: num(z.number().min(0).max(0.5)).optional(),
    simpo_gamma: num().optional(),
    // stage kto (pref_beta and pref_ftx too): weights of the desirable and undesirable rows' losses, default 1
    kto_chosen_weight: num(z.number().positive()).optional(),
    kto_rejected_weight: num(z.number().positive()).optional(),
    // The reference of a full run: a model directory (default: a frozen copy of model_name_or_path). A LoRA run's
    // reference is its own base with the adapter disabled unless ref_model names another model.
    ref_model: z.string().optional(),
    // data
    dataset: list().optional(),
    eval_dataset: list().optional(),
    dataset_dir: z.string().default('data'),
    template: z.string().optional(),
    cutoff_len: int(z.number().int().positive()).default(2048),
    max_samples: int(z.number().int().positive()).optional(),
    overwrite_cache: bool().optional(),
    preprocessing_num_workers: int().optional(),
    // LLaMA-Factory maps its processors over chunks of this many rows (default 1000); only sft packing, which bins
    // the examples of one chunk at a time, depends on it.
    preprocessing_batch_size: int(z.number().int().positive()).optional(),
    dataloader_num_workers: int().optional(),
    val_size: num(z.number().min(0)).default(0),
    train_on_prompt: bool().default(false),
    mask_history: bool().default(false),
    packing: bool().optional(),
    // Packing with attention kept inside each packed example (and position ids restarting); sets packing.
    neat_packing: bool().optional(),
    default_system: z.string().optional(),
    enable_thinking: bool().optional(),
    tokenized_path: z.string().optional(),
    // Crucible's own keys: LLaMA-Factory's identity.json carries {{name}}/{{author}} placeholders that its README
    // says to replace by hand; these do it at load time.
    identity_name: z.string().optional(),
    identity_author: z.string().optional(),
    // output
    output_dir: z.string(),
    logging_steps: num(z.number().positive()).default(500),
    logging_dir: z.string().optional(),
    save_steps: num(z.number().positive()).default(500),
    save_strategy: z.enum(['no', 'steps', 'epoch']).default('steps'),
    save_total_limit: int(z.number().int().positive()).optional(),
    save_only_model: bool().default(false),
    plot_loss: bool().default(false),
    overwrite_output_dir: bool().default(false),
    run_name: z.string().optional(),
    report_to: z.union([z.string(), z.array(z.string())]).optional(),
    // train
    per_device_train_batch_size: int(z.number().int().positive()).default(8),
    per_device_eval_batch_size: int(z.number().int().positive()).default(8),
    gradient_accumulation_steps: int(z.number().int().positive()).default(1),
    learning_rate: num(z.number().positive()).default(5e-5),
    num_train_epochs: num(z.number().positive()).default(3),
    max_steps: int().default(-1),
    lr_scheduler_type: z.enum(SCHEDULE_TYPES).default('linear'),
    // Transformers' TrainingArguments takes a mapping or its JSON text; checked per schedule in parseTrainConfig.
    lr_scheduler_kwargs: z
      .preprocess(
        (v) => {
          if (typeof v !== 'string') return v;
          try {
            return JSON.parse(v);
          } catch {
            return v;
          }
        },
        z.record(z.string(), z.unknown()),
      )
      .default({}),
    warmup_ratio: num(z.number().min(0).max(1)).default(0),
    warmup_steps: int(z.number().int().min(0)).default(0),
    weight_decay: num(z.number().min(0)).default(0),
    max_grad_norm: num(z.number().min(0)).default(1),
    adam_beta1: num(z.number().min(0).max(1)).default(0.9),
    adam_beta2: num(z.number().min(0).max(1)).default(0.999),
    adam_epsilon: num(z.number().positive()).default(1e-8),
    optim: z.enum(['adamw_torch', 'adamw_hf', 'adamw_torch_fused']).default('adamw_torch'),
    bf16: bool().default(false),
    fp16: bool().default(false),
    pure_bf16: bool().optional(),
    gradient_checkpointing: bool().optional(),
    // LLaMA-Factory's ModelArguments: gradient checkpointing is on unless this is set (its loader enables it on the
    // model whatever TrainingArguments.gradient_checkpointing says).
    disable_gradient_checkpointing: bool().default(false),
    flash_attn: z.string().optional(),
    seed: int().default(42),
    data_seed: int().optional(),
    ddp_timeout: num().optional(),
    // LLaMA-Factory/HF accept `true` (resume from the latest checkpoint in output_dir) as well as a path.
    resume_from_checkpoint: z
      .union([z.string(), z.boolean(), z.null()])
      .transform((v) => (v === true ? 'true' : v === false ? null : v))
      .optional(),
    // Accepted with no effect (see IGNORED_TRAIN_KEYS)
    deepspeed: z.string().optional(),
    ddp_find_unused_parameters: bool().optional(),
    dataloader_pin_memory: bool().optional(),
    disable_tqdm: bool().optional(),
    logging_first_step: bool().optional(),
    save_safetensors: bool().optional(),
    include_num_input_tokens_seen: bool().optional(),
    low_cpu_mem_usage: bool().optional(),
    use_fast_tokenizer: bool().optional(),
    upcast_layernorm: bool().optional(),
    remove_unused_columns: bool().optional(),
    print_param_status: bool().optional(),
    enable_liger_kernel: bool().optional(),
    ignore_pad_token_for_loss: bool().optional(),
    push_to_hub: z.literal(false).optional(),
    // do_predict: generation over eval_dataset (LLaMA-Factory's GeneratingArguments). Defaults are applied in
    // generate/predict.ts (GENERATING_DEFAULTS), not here, so that configs without them keep their hash.
    predict_with_generate: bool().optional(),
    max_new_tokens: int(z.number().int().positive()).optional(),
    do_sample: bool().optional(),
    temperature: num(z.number().min(0)).optional(),
    top_p: num(z.number().min(0).max(1)).optional(),
    top_k: int(z.number().int().min(0)).optional(),
    skip_special_tokens: bool().optional(),
    max_length: int().optional(),
    length_penalty: num().optional(),
    num_beams: z.preprocess(coerceNumber, z.literal(1)).optional(),
    repetition_penalty: z.preprocess(coerceNumber, z.literal(1)).optional(),
    // Features Crucible does not have: accepted only at their LLaMA-Factory default, so a config that relies on
    // them fails with a sentence instead of training something else (see UNSUPPORTED_TRAIN_KEYS).
    quantization_bit: z.null().optional(),
    use_dora: z.literal(false).optional(),
    use_rslora: z.literal(false).optional(),
    use_unsloth: z.literal(false).optional(),
    loraplus_lr_ratio: z.null().optional(),
    additional_target: z.null().optional(),
    create_new_adapter: z.literal(false).optional(),
    neftune_noise_alpha: z.null().optional(),
    new_special_tokens: z.null().optional(),
    resize_vocab: z.literal(false).optional(),
    rope_scaling: z.null().optional(),
    shift_attn: z.literal(false).optional(),
    streaming: z.literal(false).optional(),
    mix_strategy: z.literal('concat').optional(),
    split_special_tokens: z.literal(false).optional(),
    // best model and early stopping: Transformers' TrainingArguments, and LLaMA-Factory's early_stopping_steps (the
    // patience, in evaluations, of the EarlyStoppingCallback it adds). Defaults resolved in resolveBestModel.
    load_best_model_at_end: bool().optional(),
    metric_for_best_model: z.string().optional(),
    greater_is_better: bool().optional(),
    early_stopping_steps: int(z.number().int().positive()).optional(),
    // eval
    eval_steps: num(z.number().positive()).optional(),
    eval_strategy: z.enum(['no', 'steps', 'epoch']).optional(),
    // The name Transformers used before 4.41; old tutorials still carry it.
    evaluation_strategy: z.enum(['no', 'steps', 'epoch']).optional(),
  })
  .transform((c) => ({
    ...c,
    do_train: c.do_train ?? !c.do_predict,
    lora_rank: c.lora_rank ?? 8,
    // LLaMA-Factory: `lora_alpha` defaults to `lora_rank * 2` (FinetuningArguments.__post_init__).
    lora_alpha: c.lora_alpha ?? (c.lora_rank ?? 8) * 2,
    lora_dropout: c.lora_dropout ?? 0,
    lora_target: c.lora_target ?? ['all'],
    /** The LoRA keys the config itself set (a continued adapter refuses a conflicting one). */
    lora_set: (['lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target'] as const).filter((k) => c[k] !== undefined),
    eval_strategy: c.eval_strategy ?? c.evaluation_strategy ?? 'no',
    // LLaMA-Factory packs pre-training text by default and never packs SFT unless asked; neat_packing turns packing
    // on whatever packing says (DataArguments.__post_init__).
    packing: c.neat_packing ? true : (c.packing ?? c.stage === 'pt'),
    // DataArguments.__post_init__ also takes one token off cutoff_len when packing is asked for in the config (the
    // `pt` default, set later by its parser, is not): the cutoff every data processor then uses. Left undefined when
    // it is cutoff_len, so the config hash of a run without packing stays what it was (see dataCutoffLen).
    data_cutoff_len: c.packing || c.neat_packing ? c.cutoff_len - 1 : undefined,
  }));
export type TTrainConfig = z.output<typeof ZTrainConfig>;

/** The cutoff LLaMA-Factory's data processors use: cutoff_len, less one when the config asks for packing. */
export function dataCutoffLen(cfg: Pick<TTrainConfig, 'cutoff_len' | 'data_cutoff_len'>): number {
  return cfg.data_cutoff_len ?? cfg.cutoff_len;
}

// Keys LLaMA-Factory/Transformers act on that have no effect here; accepted so existing configs run, named in a
// warning so nobody believes they did something.
export const IGNORED_TRAIN_KEYS: Record<string, string> = {
  trust_remote_code: 'no remote code is ever run',
  cache_dir: 'models are read from local directories only',
  overwrite_cache: 'datasets are tokenised in memory on every run',
  preprocessing_num_workers: 'tokenisation runs in one process',
  dataloader_num_workers: 'batches are built in the training process',
  tokenized_path: 'tokenised datasets are not cached',
  logging_dir: 'logs go to output_dir/trainer_log.jsonl',
  run_name: 'no experiment tracker is used',
  report_to: 'no experiment tracker is used',
  ddp_timeout: 'training runs in one process (no torch.distributed)',
  flash_attn: 'attention is the CPU engine’s own fused kernel',
  optim: 'the optimizer is always torch AdamW',
  do_eval: 'evaluation follows eval_strategy/eval_steps',
  data_seed: 'seed orders the data',
  deepspeed: 'training runs in one process',
  ddp_find_unused_parameters: 'training runs in one process',
  dataloader_pin_memory: 'no GPU transfers',
  disable_tqdm: 'progress always goes to stderr',
  logging_first_step: 'logging follows logging_steps',
  save_safetensors: 'weights are always saved as safetensors',
  include_num_input_tokens_seen: 'total_tokens is always logged',
  low_cpu_mem_usage: 'weights are loaded once',
  use_fast_tokenizer: 'the tokenizer is always tokenizer.json',
  upcast_layernorm: 'norms always compute in float32',
  remove_unused_columns: 'only token ids are kept',
  print_param_status: 'not implemented',
  enable_liger_kernel: 'the CPU engine has its own fused kernels',
  ignore_pad_token_for_loss: 'padding never carries labels',
  push_to_hub: 'nothing is uploaded',
  max_length: 'max_new_tokens (always set) bounds generation, as in LLaMA-Factory when max_new_tokens > 0',
  length_penalty: 'it only applies to beam search',
};

/** The keys of prediction (do_predict): they change nothing a training run computes (kept out of its hash). */
export const PREDICT_KEYS = [
  'predict_with_generate',
  'max_new_tokens',
  'do_sample',
  'temperature',
  'top_p',
  'top_k',
  'skip_special_tokens',
  'max_length',
  'length_penalty',
  'num_beams',
  'repetition_penalty',
] as const;

/** Why each LLaMA-Factory feature Crucible lacks is refused when set away from its default. */
export const UNSUPPORTED_TRAIN_KEYS: Record<string, string> = {
  quantization_bit: 'QLoRA (bitsandbytes quantisation) is not available; train LoRA on the full-precision model',
  use_dora: 'DoRA is not implemented',
  use_rslora: 'rsLoRA scaling is not implemented',
  use_unsloth: 'Unsloth is a CUDA library',
  loraplus_lr_ratio: 'LoRA+ is not implemented',
  additional_target: 'only the decoder linears can carry LoRA',
  create_new_adapter: 'adapter_name_or_path always continues the given adapter',
  neftune_noise_alpha: 'NEFTune is not implemented',
  new_special_tokens: 'the vocabulary cannot be extended',
  resize_vocab: 'the vocabulary cannot be resized',
  rope_scaling: 'RoPE scaling is not implemented',
  shift_attn: 'shift short attention is not implemented',
  streaming:
    'datasets are always streamed from disk and tokenised before training starts; an IterableDataset run (streaming with max_steps) is not implemented',
  mix_strategy: 'datasets are concatenated',
  split_special_tokens: 'special tokens are never split',
  num_beams: 'beam search is not implemented; generation samples or decodes greedily (num_beams: 1)',
  repetition_penalty: 'a repetition penalty is not implemented in generation for do_predict (repetition_penalty: 1.0)',
};

export const ZChatConfig = z
  .object({
    model_name_or_path: z.string(),
    adapter_name_or_path: list().optional(),
    template: z.string().optional(),
    finetuning_type: z.enum(['lora', 'full']).optional(),
    infer_backend: z.enum(['huggingface', 'hf']).default('huggingface'),
    infer_dtype: z.string().optional(),
    trust_remote_code: bool().optional(),
    default_system: z.string().optional(),
    enable_thinking: bool().optional(),
    max_new_tokens: int(z.number().int().positive()).default(1024),
    do_sample: bool().default(true),
    temperature: num(z.number().min(0)).default(0.95),
    top_p: num(z.number().min(0).max(1)).default(0.7),
    top_k: int(z.number().int().min(0)).default(50),
    repetition_penalty: num(z.number().positive()).default(1),
    seed: int().optional(),
  })
  .strip();
export type TChatConfig = z.output<typeof ZChatConfig>;

export const IGNORED_CHAT_KEYS: Record<string, string> = {
  trust_remote_code: 'no remote code is ever run',
  infer_backend: 'inference runs on the Crucible core (equivalent to huggingface)',
  infer_dtype: 'inference runs in float32',
};
