// The child process that runs one training job: `node --import tsx child.ts` with cwd = the job folder holding
// train_config.json, model/, data/ and output/. Metrics, checkpoints and logs go to the parent over IPC; a `stop`
// message aborts at the next optimizer step. If the parent dies (kill -9 of the worker), the IPC channel closes
// and this process exits too, so an orphan never keeps training a job another worker has taken over.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrainConfig, runTraining, TrainError, TrainerError, writeGgufLora } from '@crucible/trainer';
import { CHILD_FILES, type TChildMessage, type TChildOptions, type TParentMessage } from './protocol';

const send = (m: TChildMessage) =>
  new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, undefined, () => resolve());
  });

async function main() {
  const controller = new AbortController();
  let checkpointOnAbort = false;
  process.on('message', (m: TParentMessage) => {
    if (m?.type !== 'stop') return;
    checkpointOnAbort = m.reason === 'handback';
    controller.abort();
  });
  process.on('disconnect', () => process.exit(70));

  const raw = JSON.parse(readFileSync(CHILD_FILES.config, 'utf8'));
  const options: TChildOptions = existsSync(CHILD_FILES.options)
    ? JSON.parse(readFileSync(CHILD_FILES.options, 'utf8'))
    : { saveAtEpochEnd: true };
  const cfg = parseTrainConfig(raw, CHILD_FILES.config, (w) => void send({ type: 'log', message: `warning: ${w}` }));
  const res = await runTraining(cfg, {
    onEvent: (event) => void send({ type: 'event', event }),
    signal: controller.signal,
    progress: false,
    saveAtEpochEnd: options.saveAtEpochEnd,
    // Read when the loop sees the abort, after the stop message said why.
    checkpointOnAbort: () => checkpointOnAbort,
    log: (message) => void send({ type: 'log', message }),
  });
  // The GGUF adapter for llama.cpp serving, written here so the worker process never loads the training core.
  if (res.status === 'completed' && cfg.finetuning_type === 'lora') {
    await writeGgufLora(cfg.output_dir, cfg.model_name_or_path, join(cfg.output_dir, CHILD_FILES.ggufAdapter));
  }
  await send({
    type: 'done',
    result: {
      status: res.status,
      globalStep: res.globalStep,
      totalSteps: res.totalSteps,
      epoch: res.epoch,
      trainLoss: res.trainLoss,
      evalLoss: res.evalLoss ?? null,
      tokensSeen: res.tokensSeen,
      runtimeS: res.runtimeS,
    },
  });
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    const code = error instanceof TrainError || error instanceof TrainerError ? String(error.code) : 'TRAINING_FAILED';
    const message = error instanceof Error ? error.message : String(error);
    await send({ type: 'error', code, message });
    process.exit(1);
  },
);
