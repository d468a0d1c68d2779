import { isLoraMethod, stageOf, type TFineTuningMethod, type TResolvedHyperparameters } from './fine-tuning';

/**
 * The training core's config of a platform job, in one place: the trainer worker writes it into the job folder and
 * the console's estimate tokenises the same datasets with it (so the estimate counts tokens as the run does).
 */

/** Folders of a job folder the config names (relative: the child runs in the job folder). */
export const JOB_FOLDER = { model: 'model', data: 'data', output: 'output', adapter: 'adapter' } as const;

/** LLaMA-Factory's template for a base model architecture (the bundled tokenizers are Qwen's and Llama 3's). */
export function templateFor(arch: string): string | undefined {
  if (arch === 'qwen2') return 'qwen';
  // LLaMA-Factory's template for Qwen3 (its reasoning template: an empty think block on each reply, trained on, as
  // with enable_thinking's default) and Mistral's.
  if (arch === 'qwen3') return 'qwen3';
  if (arch === 'mistral') return 'mistral';
  if (arch === 'llama') return 'llama3';
  // Gemma 2 and Gemma 3 text: LLaMA-Factory's gemma (Llama2Template: the system text inside the first user turn).
  if (arch === 'gemma2' || arch === 'gemma3') return 'gemma';
  return undefined;
}

/**
 * dataset_info.json for the job folder: the canonical chat JSONL of dataset versions is sharegpt/OpenAI style; KTO
 * versions are chat rows with a boolean `label` (kto_tag); preference versions are written for the job as
 * LLaMA-Factory sharegpt ranking rows (`messages` ending with a user turn, `chosen` / `rejected` messages, see
 * job-data.ts).
 */
export function datasetInfo(files: { train: string; validation?: string }, method: TFineTuningMethod = 'sft_lora') {
  const stage = stageOf(method);
  const entry = (file: string) => ({
    file_name: file,
    formatting: 'sharegpt',
    ...(stage === 'dpo' ? { ranking: true } : {}),
    columns: {
      messages: 'messages',
      tools: 'tools',
      ...(stage === 'dpo' ? { chosen: 'chosen', rejected: 'rejected' } : {}),
      ...(stage === 'kto' ? { kto_tag: 'label' } : {}),
    },
    tags: {
      role_tag: 'role',
      content_tag: 'content',
      user_tag: 'user',
      assistant_tag: 'assistant',
      observation_tag: 'tool',
      function_tag: 'function_call',
      system_tag: 'system',
    },
  });
  return {
    train: entry(files.train),
    ...(files.validation ? { validation: entry(files.validation) } : {}),
  };
}

export type TBuildConfigInput = {
  method: TFineTuningMethod;
  hp: TResolvedHyperparameters;
  epochs: number;
  arch: string;
  hasValidation: boolean;
  valSplit: number;
  resumeFrom?: string;
  /** A fine-tuned LoRA model this job continues: its adapter is in the job folder's adapter/ (JOB_FOLDER.adapter). */
  continuesAdapter?: boolean;
};

/**
 * The LLaMA-Factory config of a job. Paths are relative to the job folder (the child's cwd), so the config hash
 * that guards resume is the same on every worker. Checkpoints every saveSteps (and at epoch ends, see child.ts).
 */
export function buildTrainConfig(i: TBuildConfigInput): Record<string, unknown> {
  const evaluate = i.hasValidation || i.valSplit > 0;
  const template = templateFor(i.arch);
  const lora = isLoraMethod(i.method);
  const stage = stageOf(i.method);
  const h = i.hp;
  return {
    stage,
    do_train: true,
    model_name_or_path: JOB_FOLDER.model,
    finetuning_type: lora ? 'lora' : 'full',
    // A continued adapter keeps its own rank, alpha, dropout and targets (the core refuses a config that differs).
    ...(i.continuesAdapter ? { adapter_name_or_path: JOB_FOLDER.adapter } : {}),
    ...(lora && !i.continuesAdapter
      ? {
          lora_rank: i.hp.loraRank,
          lora_alpha: i.hp.loraAlpha,
          lora_dropout: i.hp.loraDropout,
          lora_target: i.hp.loraTargets === 'all' ? 'all' : i.hp.loraTargets.join(','),
        }
      : {}),
    // LLaMA-Factory's keys of the stage (the core refuses or warns about keys of another stage).
    ...(stage === 'dpo'
      ? {
          pref_beta: h.prefBeta,
          pref_loss: h.prefLoss,
          pref_ftx: h.prefFtx,
          simpo_gamma: h.simpoGamma,
          dpo_label_smoothing: h.dpoLabelSmoothing,
        }
      : {}),
    ...(stage === 'kto'
      ? {
          pref_beta: h.prefBeta,
          pref_ftx: h.prefFtx,
          kto_chosen_weight: h.ktoChosenWeight,
          kto_rejected_weight: h.ktoRejectedWeight,
        }
      : {}),
    dataset: 'train',
    dataset_dir: JOB_FOLDER.data,
    ...(i.hasValidation ? { eval_dataset: 'validation' } : i.valSplit > 0 ? { val_size: i.valSplit } : {}),
    ...(template ? { template } : {}),
    cutoff_len: i.hp.cutoffLen,
    output_dir: JOB_FOLDER.output,
    overwrite_output_dir: true,
    logging_steps: i.hp.loggingSteps,
    save_strategy: 'steps',
    save_steps: i.hp.saveSteps,
    ...(i.hp.saveTotalLimit > 0 ? { save_total_limit: i.hp.saveTotalLimit } : {}),
    eval_strategy: evaluate ? 'steps' : 'no',
    ...(evaluate ? { eval_steps: i.hp.evalSteps, per_device_eval_batch_size: i.hp.batchSize } : {}),
    per_device_train_batch_size: i.hp.batchSize,
    gradient_accumulation_steps: i.hp.gradientAccumulationSteps,
    learning_rate: i.hp.learningRate,
    num_train_epochs: i.epochs,
    lr_scheduler_type: i.hp.lrScheduler === 'constant' ? 'constant_with_warmup' : i.hp.lrScheduler,
    warmup_ratio: i.hp.warmupRatio,
    seed: i.hp.seed,
    ...(i.resumeFrom ? { resume_from_checkpoint: i.resumeFrom } : {}),
  };
}
