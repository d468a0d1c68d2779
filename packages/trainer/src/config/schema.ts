import { z } from 'zod';

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
const nullableStr = () => z.union([z.string(), z.null()]);

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
    stage: z.enum(['sft', 'pt']).default('sft'),
    do_train: bool().default(true),
    do_eval: bool().optional(),
    do_predict: bool().optional(),
    finetuning_type: z.enum(['lora', 'full']).default('lora'),
    lora_rank: int(z.number().int().positive()).default(8),
    lora_alpha: num(z.number().positive()).optional(),
    lora_dropout: num(z.number().min(0).max(1)).default(0),
    lora_target: list().default(['all']),
    // data
    dataset: list().optional(),
    eval_dataset: list().optional(),
    dataset_dir: z.string().default('data'),
    template: z.string().optional(),
    cutoff_len: int(z.number().int().positive()).default(2048),
    max_samples: int(z.number().int().positive()).optional(),
    overwrite_cache: bool().optional(),
    preprocessing_num_workers: int().optional(),
    preprocessing_batch_size: int().optional(),
    dataloader_num_workers: int().optional(),
    val_size: num(z.number().min(0)).default(0),
    train_on_prompt: bool().default(false),
    mask_history: bool().default(false),
    packing: bool().optional(),
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
    lr_scheduler_type: z.enum(['linear', 'cosine', 'constant', 'constant_with_warmup']).default('linear'),
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
    flash_attn: z.string().optional(),
    seed: int().default(42),
    data_seed: int().optional(),
    ddp_timeout: num().optional(),
    resume_from_checkpoint: nullableStr().optional(),
    // eval
    eval_steps: num(z.number().positive()).optional(),
    eval_strategy: z.enum(['no', 'steps', 'epoch']).optional(),
    // The name Transformers used before 4.41; old tutorials still carry it.
    evaluation_strategy: z.enum(['no', 'steps', 'epoch']).optional(),
  })
  .transform((c) => ({
    ...c,
    // LLaMA-Factory: `lora_alpha` defaults to `lora_rank * 2` (FinetuningArguments.__post_init__).
    lora_alpha: c.lora_alpha ?? c.lora_rank * 2,
    eval_strategy: c.eval_strategy ?? c.evaluation_strategy ?? 'no',
    // LLaMA-Factory packs pre-training text by default and never packs SFT unless asked.
    packing: c.packing ?? c.stage === 'pt',
  }));
export type TTrainConfig = z.output<typeof ZTrainConfig>;

// Keys LLaMA-Factory/Transformers act on that have no effect here; accepted so existing configs run, named in a
// warning so nobody believes they did something.
export const IGNORED_TRAIN_KEYS: Record<string, string> = {
  trust_remote_code: 'no remote code is ever run',
  cache_dir: 'models are read from local directories only',
  overwrite_cache: 'datasets are tokenised in memory on every run',
  preprocessing_num_workers: 'tokenisation runs in one process',
  preprocessing_batch_size: 'tokenisation runs in one process',
  dataloader_num_workers: 'batches are built in the training process',
  tokenized_path: 'tokenised datasets are not cached',
  logging_dir: 'logs go to output_dir/trainer_log.jsonl',
  run_name: 'no experiment tracker is used',
  report_to: 'no experiment tracker is used',
  ddp_timeout: 'training runs in one process (no torch.distributed)',
  gradient_checkpointing: 'activations are kept by the CPU engine',
  flash_attn: 'attention is the CPU engine’s own fused kernel',
  optim: 'the optimizer is always torch AdamW',
  do_eval: 'evaluation follows eval_strategy/eval_steps',
  do_predict: 'prediction is not supported',
  save_total_limit: 'all checkpoints are kept',
  data_seed: 'seed orders the data',
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
