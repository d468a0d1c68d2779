/**
 * LLaMA-Factory's LogCallback output (`trainer_log.jsonl`, one JSON object per HF log event, keys whose value is
 * missing left out) and a one-line progress bar on stderr.
 */
import { appendFileSync } from 'node:fs';

export type TrainerLogRecord = {
  current_steps: number;
  total_steps: number;
  loss?: number;
  eval_loss?: number;
  lr?: number;
  epoch?: number;
  percentage: number;
  elapsed_time: string;
  remaining_time: string;
  throughput?: number;
  total_tokens?: number;
  grad_norm?: number;
  /** Preference training (LLaMA-Factory's LogCallback: rewards/accuracies of the logged window). */
  accuracy?: number;
  /** Preference training's metrics under TRL's names (rewards/chosen, ...; eval_rewards/chosen, ... for eval). */
  [metric: `${'eval_' | ''}${'rewards' | 'logps'}/${string}`]: number;
};

/** Python's str(datetime.timedelta(seconds=int(s))): "0:01:05", "1 day, 2:03:04". */
export function formatTimedelta(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  s -= days * 86400;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${hms}` : hms;
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

export function makeLogRecord(a: {
  step: number;
  totalSteps: number;
  elapsedS: number;
  tokens: number;
  loss?: number;
  evalLoss?: number;
  lr?: number;
  epoch?: number;
  gradNorm?: number;
  /** Extra metrics written under their own names (preference training: rewards/..., logps/...). */
  metrics?: Record<string, number>;
}): TrainerLogRecord {
  const perStep = a.step > 0 ? a.elapsedS / a.step : 0;
  const rec: TrainerLogRecord = {
    current_steps: a.step,
    total_steps: a.totalSteps,
    loss: a.loss === undefined ? undefined : round(a.loss, 4),
    eval_loss: a.evalLoss === undefined ? undefined : round(a.evalLoss, 4),
    lr: a.lr,
    epoch: a.epoch === undefined ? undefined : round(a.epoch, 2),
    percentage: a.totalSteps !== 0 ? round((a.step / a.totalSteps) * 100, 2) : 100,
    elapsed_time: formatTimedelta(a.elapsedS),
    remaining_time: formatTimedelta((a.totalSteps - a.step) * perStep),
    throughput: a.tokens > 0 && a.elapsedS > 0 ? round(a.tokens / a.elapsedS, 2) : undefined,
    total_tokens: a.tokens > 0 ? a.tokens : undefined,
    grad_norm: a.gradNorm,
    accuracy: a.metrics?.['rewards/accuracies'],
    ...(a.metrics ?? {}),
  };
  for (const k of Object.keys(rec) as (keyof TrainerLogRecord)[]) if (rec[k] === undefined) delete rec[k];
  return rec;
}

export function appendLog(path: string, rec: TrainerLogRecord): void {
  appendFileSync(path, `${JSON.stringify(rec)}\n`);
}

export type Progress = { update(step: number, loss: number, tokensPerS: number, etaS: number): void; done(): void };

/** A bar redrawn in place on a terminal; on a pipe (CI, a worker's log) one line every `everySteps` steps. */
export function createProgress(totalSteps: number, enabled: boolean, everySteps = 1): Progress {
  const tty = Boolean(process.stderr.isTTY);
  let drawn = false;
  return {
    update(step, loss, tps, eta) {
      if (!enabled) return;
      if (!tty && step % everySteps !== 0 && step !== totalSteps) return;
      const width = 24;
      const filled = Math.round((step / Math.max(1, totalSteps)) * width);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
      const line = `[${bar}] ${step}/${totalSteps} loss ${loss.toFixed(4)} | ${tps.toFixed(1)} tok/s | ETA ${formatTimedelta(eta)}`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
      drawn = tty;
    },
    done() {
      if (drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}
