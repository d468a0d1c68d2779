/**
 * `crucible eval CONFIG.yaml [key=value ...]`: LLaMA-Factory's prediction run (`do_predict: true`,
 * `predict_with_generate: true`, `do_train: false`) on the base model, or on base + `adapter_name_or_path`: generation
 * over `eval_dataset`, then generated_predictions.jsonl and predict_results.json in output_dir (generate/predict.ts).
 * `crucible train` with `do_train: false` and `do_predict: true` does the same.
 */
import { createBackend } from '@crucible/tensor';
import { parseTrainConfig, type TTrainConfig } from '../config';
import { predictToOutputDir } from '../generate/predict';
import { TrainerError } from '../io/errors';
import { applyOverrides, readYamlObject, withCtrlC } from './args';
import { openChat } from './chat';

export type TBackendChoice = 'auto' | 'cpu' | 'reference';

export function backendFromEnv(): TBackendChoice {
  const backend = (process.env.CRUCIBLE_BACKEND ?? 'auto') as TBackendChoice;
  if (!['auto', 'cpu', 'reference'].includes(backend)) {
    throw new TrainerError('CLI_USAGE', `CRUCIBLE_BACKEND must be auto, cpu or reference, not "${backend}".`);
  }
  return backend;
}

/** Loads the model (and adapter) of a config and predicts; returns predict_results.json's metrics. */
export async function runPrediction(
  cfg: TTrainConfig,
  opts: { backend?: TBackendChoice; signal?: AbortSignal; log?: (m: string) => void } = {},
): Promise<Record<string, number>> {
  const adapters = cfg.adapter_name_or_path ?? [];
  if (adapters.length > 1) {
    throw new TrainerError('CONFIG_INVALID_VALUE', 'adapter_name_or_path: prediction applies one adapter.');
  }
  const session = await openChat(
    {
      modelDir: cfg.model_name_or_path,
      adapterDir: adapters[0],
      template: cfg.template,
      enableThinking: cfg.enable_thinking,
      // openChat's own reply() is not used: predictToOutputDir generates with the config's settings.
      maxNewTokens: 1,
      temperature: 0,
      topP: 1,
      seed: cfg.seed,
    },
    createBackend(opts.backend ?? 'auto'),
  );
  return predictToOutputDir({
    cfg,
    model: session.model,
    tokenizer: session.tokenizer,
    template: session.template,
    ...opts,
  });
}

export async function evalCommand(args: string[]): Promise<number> {
  const [yamlPath, ...rest] = args;
  if (!yamlPath || yamlPath.startsWith('-')) {
    throw new TrainerError('CLI_USAGE', 'usage: crucible eval CONFIG.yaml [key=value ...]');
  }
  const raw = applyOverrides(readYamlObject(yamlPath), rest);
  for (const key of ['do_predict', 'predict_with_generate'] as const) {
    if (raw[key] === false) {
      throw new TrainerError('CLI_USAGE', `crucible eval predicts: remove \`${key}: false\` from ${yamlPath}.`);
    }
    raw[key] = true;
  }
  raw.do_train = false;
  const cfg = parseTrainConfig(raw, yamlPath);
  const backend = backendFromEnv();
  await withCtrlC('row', (signal) => runPrediction(cfg, { backend, signal }));
  return 0;
}
