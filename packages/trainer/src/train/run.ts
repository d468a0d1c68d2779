/**
 * One training run from a LLaMA-Factory config: load the model directory, tokenizer and datasets, build the model
 * (LoRA or full), run the loop, and write what LLaMA-Factory writes into output_dir: the PEFT adapter (or full
 * weights with config and tokenizer files), trainer_log.jsonl, all_results.json / train_results.json /
 * eval_results.json, and training_loss.png when plot_loss is set.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Backend, createBackend, type TBackendName } from '@crucible/tensor';
import { bestModelOf, frozenDtypeOf, gradientCheckpointingOf, type TTrainConfig } from '../config';
import { type ExampleList, loadDatasets, type Template } from '../data';
import { type KtoSource, loadKtoDatasets } from '../data/feedback';
import { loadPairDatasets, type PairSource } from '../data/pairwise';
import { readPeftAdapter, writePeftAdapter } from '../export';
import { predictToOutputDir } from '../generate/predict';
import { loadTokenizer, openWeights, writeSafetensors } from '../io';
import { TrainerError } from '../io/errors';
import { createModel, type Model, parseModelConfig } from '../model';
import { configHash, listCheckpoints, resolveResume } from './checkpoint';
import { TrainError } from './errors';
import { createKtoObjective, KTO_DEFAULTS } from './kto';
import { type LoopResult, type TrainArgs, type TrainEvent, trainLoop } from './loop';
import { writeLossPlot } from './plot';
import { createPreferenceObjective, type PreferenceObjective, prefOptionsOf, usesReference } from './preference';

export type RunOptions = {
  backend?: Backend | TBackendName;
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
  /** See LoopOptions: extra checkpoints at epoch ends, and one on abort (used by workers/trainer). */
  saveAtEpochEnd?: boolean;
  checkpointOnAbort?: boolean | (() => boolean);
  /** Progress bar on stderr (default: on). */
  progress?: boolean;
  /** One-line messages for people (default: stderr). */
  log?: (msg: string) => void;
};

export type RunResult = LoopResult & { outputDir: string; metrics: Record<string, number> };

/** Model-directory files copied next to full fine-tuned weights so the output is itself a model directory. */
const MODEL_DIR_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
  'chat_template.jinja',
];

export function trainArgsFromConfig(cfg: TTrainConfig): TrainArgs {
  const best = bestModelOf(cfg);
  return {
    perDeviceTrainBatchSize: cfg.per_device_train_batch_size,
    perDeviceEvalBatchSize: cfg.per_device_eval_batch_size,
    gradientAccumulationSteps: cfg.gradient_accumulation_steps,
    numTrainEpochs: cfg.num_train_epochs,
    maxSteps: cfg.max_steps,
    learningRate: cfg.learning_rate,
    lrSchedulerType: cfg.lr_scheduler_type,
    lrSchedulerKwargs: cfg.lr_scheduler_kwargs,
    warmupRatio: cfg.warmup_ratio,
    warmupSteps: cfg.warmup_steps,
    weightDecay: cfg.weight_decay,
    maxGradNorm: cfg.max_grad_norm,
    adamBeta1: cfg.adam_beta1,
    adamBeta2: cfg.adam_beta2,
    adamEpsilon: cfg.adam_epsilon,
    loggingSteps: cfg.logging_steps,
    evalStrategy: cfg.eval_strategy,
    evalSteps: cfg.eval_steps,
    saveStrategy: cfg.save_strategy,
    saveSteps: cfg.save_steps,
    saveTotalLimit: cfg.save_total_limit,
    seed: cfg.seed,
    metricForBestModel: best.metric,
    greaterIsBetter: best.greaterIsBetter,
    loadBestModelAtEnd: best.loadBestModelAtEnd,
    earlyStoppingPatience: best.earlyStoppingPatience,
  };
}

/**
 * The config a continued adapter trains with: the adapter's own r, lora_alpha, lora_dropout and target_modules.
 * A LoRA key the config set to another value is an error naming both values and the fix.
 */
export function continuedAdapterConfig(
  cfg: TTrainConfig,
  dir: string,
  adapter: { r: number; alpha: number; dropout: number; targets: string[] },
): TTrainConfig {
  const same = (a: string[], b: string[]) => [...a].sort().join(',') === [...b].sort().join(',');
  const theirs: Record<(typeof cfg.lora_set)[number], [unknown, boolean]> = {
    lora_rank: [adapter.r, cfg.lora_rank === adapter.r],
    lora_alpha: [adapter.alpha, cfg.lora_alpha === adapter.alpha],
    lora_dropout: [adapter.dropout, cfg.lora_dropout === adapter.dropout],
    lora_target: [
      adapter.targets.join(','),
      // `all` means every linear the adapter could have; a list must name the adapter's own modules.
      (cfg.lora_target.length === 1 && cfg.lora_target[0] === 'all') || same(cfg.lora_target, adapter.targets),
    ],
  };
  for (const key of cfg.lora_set) {
    const [value, agrees] = theirs[key];
    if (!agrees) {
      const mine = key === 'lora_target' ? cfg.lora_target.join(',') : String(cfg[key]);
      throw new TrainerError(
        'CONFIG_INVALID_VALUE',
        `adapter_name_or_path ${dir} was trained with ${key} ${String(value)}, but the config sets ${key}: ${mine}. A continued adapter keeps its own settings (as LLaMA-Factory does): remove ${key} from the config or set it to ${String(value)}.`,
      );
    }
  }
  return {
    ...cfg,
    lora_rank: adapter.r,
    lora_alpha: adapter.alpha,
    lora_dropout: adapter.dropout,
    lora_target: adapter.targets.length > 0 ? adapter.targets : cfg.lora_target,
  };
}

function writeModelOutputs(dir: string, model: Model, cfg: TTrainConfig): void {
  mkdirSync(dir, { recursive: true });
  if (cfg.finetuning_type === 'lora') {
    writePeftAdapter(dir, model.loraState(), {
      baseModelNameOrPath: cfg.model_name_or_path,
      r: cfg.lora_rank,
      alpha: cfg.lora_alpha,
      dropout: cfg.lora_dropout,
      targets: cfg.lora_target,
    });
    return;
  }
  writeSafetensors(join(dir, 'model.safetensors'), model.fullState());
  for (const f of MODEL_DIR_FILES) {
    const src = join(cfg.model_name_or_path, f);
    if (existsSync(src)) copyFileSync(src, join(dir, f));
  }
}

export async function runTraining(cfg: TTrainConfig, opts: RunOptions = {}): Promise<RunResult> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const backend = typeof opts.backend === 'object' ? opts.backend : createBackend(opts.backend ?? 'auto');
  const modelDir = cfg.model_name_or_path;
  const outputDir = cfg.output_dir;

  const resumeFrom = resolveResume(outputDir, cfg.resume_from_checkpoint);
  if (!resumeFrom && existsSync(outputDir) && readdirSync(outputDir).length > 0 && !cfg.overwrite_output_dir) {
    throw new TrainError(
      'OUTPUT_DIR_EXISTS',
      `Output directory ${outputDir} already exists and is not empty. Set overwrite_output_dir: true, or resume_from_checkpoint: true to continue its last checkpoint.`,
    );
  }
  mkdirSync(outputDir, { recursive: true });

  let configJson: unknown;
  try {
    configJson = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  } catch (e) {
    throw new TrainerError('MODEL_FILES_MISSING', `${modelDir} has no readable config.json (${(e as Error).message}).`);
  }
  const modelConfig = parseModelConfig(configJson);
  const tokenizer = await loadTokenizer(modelDir);
  const dpo = cfg.stage === 'dpo';
  const empty = { length: 0, at: () => undefined } as unknown as ExampleList;
  let train: ExampleList = empty;
  let evalRows: ExampleList = empty;
  let pairs: { train: PairSource; eval: PairSource } | null = null;
  let kto: { train: KtoSource; eval: KtoSource } | null = null;
  let template: Template | null = null;
  if (cfg.stage === 'kto') {
    kto = await loadKtoDatasets(cfg, tokenizer, modelDir, (m) => log(`warning: ${m}`));
    log(`[crucible] ${kto.train.length} training and ${kto.eval.length} evaluation KTO rows; backend ${backend.name}`);
  } else if (dpo) {
    pairs = await loadPairDatasets(cfg, tokenizer, modelDir);
    log(
      `[crucible] ${pairs.train.length} training and ${pairs.eval.length} evaluation preference pairs; backend ${backend.name}`,
    );
  } else {
    ({ train, eval: evalRows, template } = await loadDatasets(cfg, tokenizer, modelDir));
    log(`[crucible] ${train.length} training and ${evalRows.length} evaluation examples; backend ${backend.name}`);
  }
  const nEval = pairs ? pairs.eval.length : kto ? kto.eval.length : evalRows.length;

  // A continued adapter keeps its own rank, alpha, dropout and targets (LLaMA-Factory loads it with PEFT, which
  // reads adapter_config.json); a config value that says otherwise is refused, never silently overridden.
  let adapter: ReturnType<typeof readPeftAdapter> | null = null;
  if (cfg.adapter_name_or_path && cfg.adapter_name_or_path.length > 0) {
    if (cfg.finetuning_type !== 'lora') {
      throw new TrainerError(
        'CONFIG_INVALID_VALUE',
        'adapter_name_or_path continues a LoRA adapter; it needs finetuning_type: lora.',
      );
    }
    if (cfg.adapter_name_or_path.length > 1) {
      throw new TrainerError('CONFIG_INVALID_VALUE', 'adapter_name_or_path: training continues exactly one adapter.');
    }
    adapter = readPeftAdapter(cfg.adapter_name_or_path[0]);
    cfg = continuedAdapterConfig(cfg, cfg.adapter_name_or_path[0], adapter.config);
  }

  const model = createModel({
    config: modelConfig,
    // Opened, not read: the model reads each tensor once into the dtype it keeps (bf16 files stay bf16).
    weights: openWeights(modelDir),
    backend,
    finetuning: cfg.finetuning_type,
    lora: { r: cfg.lora_rank, alpha: cfg.lora_alpha, dropout: cfg.lora_dropout, targets: cfg.lora_target },
    seed: cfg.seed,
    frozenDtype: frozenDtypeOf(cfg),
    embeddingDtype: frozenDtypeOf(cfg),
    gradientCheckpointing: gradientCheckpointingOf(cfg),
    warn: (m) => log(`warning: ${m}`),
  });
  const layout = model.describe();
  log(
    `[crucible] ${backend.info().summary}; frozen weights: projections ${layout.projections}, embedding ${layout.embedding}, lm_head ${layout.lmHead}; gradient checkpointing ${layout.gradientCheckpointing ? 'on' : 'off'}`,
  );
  if (adapter && cfg.adapter_name_or_path) {
    model.loadLoraState(adapter.state);
    log(
      `[crucible] continuing adapter ${cfg.adapter_name_or_path[0]} (r ${cfg.lora_rank}, alpha ${cfg.lora_alpha}, dropout ${cfg.lora_dropout}, targets ${cfg.lora_target.join(',')})`,
    );
  }
  if (resumeFrom) log(`[crucible] resuming from ${resumeFrom}`);

  // biome-ignore lint/suspicious/noExplicitAny: one objective of either row type goes to the loop
  let preference: PreferenceObjective<any> | undefined;
  if (pairs || kto) {
    const prefOptions = prefOptionsOf(cfg);
    // kto always has a reference (TRL's KTOTrainer); dpo none for orpo/simpo
    const needsRef = kto !== null || usesReference(prefOptions.loss);
    // LLaMA-Factory's create_ref_model: none for orpo/simpo; a LoRA run's own base with the adapter disabled unless
    // ref_model names a model; a full run's frozen copy of ref_model, else of the model it starts from.
    let refModel: Model | null = null;
    if (needsRef && (cfg.finetuning_type === 'full' || cfg.ref_model)) {
      const refDir = cfg.ref_model ?? modelDir;
      refModel = createModel({
        config: parseModelConfig(JSON.parse(readFileSync(join(refDir, 'config.json'), 'utf8'))),
        weights: openWeights(refDir),
        backend,
        finetuning: 'none',
        seed: cfg.seed,
        frozenDtype: frozenDtypeOf(cfg),
        embeddingDtype: frozenDtypeOf(cfg),
        warn: (m) => log(`warning: ${m}`),
      });
      log(`[crucible] reference model: a frozen copy of ${refDir}`);
    } else if (needsRef) {
      log('[crucible] reference model: the base model with the LoRA adapter disabled');
    }
    if (kto) {
      preference = createKtoObjective(
        model,
        {
          beta: prefOptions.beta,
          ftx: prefOptions.ftx,
          desirableWeight: cfg.kto_chosen_weight ?? KTO_DEFAULTS.desirableWeight,
          undesirableWeight: cfg.kto_rejected_weight ?? KTO_DEFAULTS.undesirableWeight,
        },
        { train: kto.train, eval: kto.eval, padId: tokenizer.padTokenId, refModel },
      );
    } else if (pairs) {
      preference = createPreferenceObjective(model, prefOptions, {
        train: pairs.train,
        eval: pairs.eval,
        padId: tokenizer.padTokenId,
        refModel,
      });
    }
  }

  const res = await trainLoop({
    model,
    backend,
    train,
    eval: evalRows,
    padId: tokenizer.padTokenId,
    args: trainArgsFromConfig(cfg),
    outputDir,
    configHash: configHash(cfg as unknown as Record<string, unknown>),
    resumeFrom,
    saveArtifacts: (dir) => writeModelOutputs(dir, model, cfg),
    onEvent: opts.onEvent,
    signal: opts.signal,
    saveAtEpochEnd: opts.saveAtEpochEnd,
    checkpointOnAbort: opts.checkpointOnAbort,
    progress: opts.progress ?? true,
    // LLaMA-Factory: model_args.block_diag_attn = data_args.neat_packing
    blockDiagAttn: cfg.neat_packing === true,
    log,
    preference,
  });

  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  const trainMetrics: Record<string, number> = {
    epoch: round(res.epoch),
    train_loss: res.trainLoss,
    train_runtime: round(res.runtimeS),
    train_samples_per_second: round(res.samplesSeen / Math.max(res.runtimeS, 1e-9)),
    train_steps_per_second: round(res.globalStep / Math.max(res.runtimeS, 1e-9)),
    num_input_tokens_seen: res.tokensSeen,
  };
  const metrics: Record<string, number> = { ...trainMetrics };
  if (res.status === 'completed') {
    writeModelOutputs(outputDir, model, cfg);
    writeFileSync(join(outputDir, 'train_results.json'), `${JSON.stringify(trainMetrics, null, 4)}\n`);
    if (res.stoppedEarly) log(`[crucible] early stopping after step ${res.globalStep} of ${res.totalSteps}`);
    if (nEval > 0 && cfg.eval_strategy !== 'no' && res.evalLoss !== undefined) {
      // With the best model loaded, the model evaluated last is not the one written: its loss is the best metric
      // (the only metric is eval_loss), what LLaMA-Factory's evaluation after training reports.
      const evalLoss = res.loadedBestModel && res.bestMetric !== null ? res.bestMetric : res.evalLoss;
      const evalMetrics = { epoch: round(res.epoch), eval_loss: evalLoss };
      Object.assign(metrics, evalMetrics);
      writeFileSync(join(outputDir, 'eval_results.json'), `${JSON.stringify(evalMetrics, null, 4)}\n`);
    }
    writeFileSync(join(outputDir, 'all_results.json'), `${JSON.stringify(metrics, null, 4)}\n`);
    // LLaMA-Factory's trainer.save_state(): Transformers' TrainerState fields (log_history is trainer_log.jsonl).
    const state = {
      best_global_step: res.bestGlobalStep,
      best_metric: res.bestMetric,
      best_model_checkpoint: res.bestModelCheckpoint,
      epoch: res.epoch,
      global_step: res.globalStep,
      max_steps: res.totalSteps,
      num_train_epochs: Math.ceil(cfg.num_train_epochs),
    };
    writeFileSync(join(outputDir, 'trainer_state.json'), `${JSON.stringify(state, null, 2)}\n`);
    if (cfg.plot_loss) {
      writeLossPlot(join(outputDir, 'training_loss.png'), res.lossHistory);
      if (res.evalHistory.length > 0) writeLossPlot(join(outputDir, 'training_eval_loss.png'), res.evalHistory);
    }
    log(`[crucible] done: ${res.globalStep} steps, train_loss ${res.trainLoss.toFixed(4)}; outputs in ${outputDir}`);
    // LLaMA-Factory's workflow predicts after training, with the trained (or best) weights still loaded.
    if (cfg.do_predict && template) {
      Object.assign(metrics, predictToOutputDir({ cfg, model, tokenizer, template, log, signal: opts.signal }));
    }
  } else {
    log(cancelledLine(res.globalStep, outputDir, listCheckpoints(outputDir).at(-1)?.step ?? null));
  }
  return { ...res, outputDir, metrics };
}

/**
 * The line a cancelled run ends with. It promised "the last checkpoint … can be resumed" even when no checkpoint had
 * been saved (issue 13, item 13): it names the checkpoint only when there is one.
 */
export function cancelledLine(step: number, outputDir: string, lastCheckpoint: number | null): string {
  return lastCheckpoint === null
    ? `[crucible] cancelled after step ${step}; no checkpoint was saved, so a new run starts from the beginning`
    : `[crucible] cancelled after step ${step}; checkpoint-${lastCheckpoint} in ${outputDir} can be resumed`;
}
