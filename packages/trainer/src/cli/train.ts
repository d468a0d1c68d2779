/**
 * `crucible train CONFIG.yaml [key=value ...]`: LLaMA-Factory's `llamafactory-cli train`. Ctrl-C stops after the
 * current optimizer step (a second Ctrl-C exits at once); CRUCIBLE_BACKEND=cpu|reference|auto picks the engine.
 */
import { parseTrainConfig } from '../config';
import { TrainerError } from '../io/errors';
import { runTraining } from '../train/run';
import { applyOverrides, readYamlObject, withCtrlC } from './args';
import { backendFromEnv, runPrediction } from './eval';

export async function trainCommand(args: string[]): Promise<number> {
  const [yamlPath, ...rest] = args;
  if (!yamlPath || yamlPath.startsWith('-')) {
    throw new TrainerError('CLI_USAGE', 'usage: crucible train CONFIG.yaml [key=value ...]');
  }
  const raw = applyOverrides(readYamlObject(yamlPath), rest);
  // LLaMA-Factory passes `resume_from_checkpoint: true` through to Trainer.train(), where True means "the latest
  // checkpoint in output_dir"; the config schema types the key as a path, so spell the boolean as a string.
  if (typeof raw.resume_from_checkpoint === 'boolean') {
    if (raw.resume_from_checkpoint) raw.resume_from_checkpoint = 'true';
    else delete raw.resume_from_checkpoint;
  }
  const cfg = parseTrainConfig(raw, yamlPath);
  const backend = backendFromEnv();
  // LLaMA-Factory: `do_train: false` with `do_predict: true` only predicts (what `crucible eval` does).
  if (!cfg.do_train && cfg.do_predict) {
    await withCtrlC('row', (signal) => runPrediction(cfg, { backend, signal }));
    return 0;
  }
  const res = await withCtrlC('step', (signal) => runTraining(cfg, { backend, signal }));
  return res.status === 'completed' ? 0 : 130;
}
