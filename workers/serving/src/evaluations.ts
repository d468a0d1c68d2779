import { createWorkerRuntime, QUEUE_NAMES, type TLogger, type TWorkerRuntimeOptions } from '@crucible/jobs';
import type { TEngine } from './engine';
import { evaluationJobs } from './jobs';

/**
 * The serving worker's second queue: `evaluations` (issue 16). Evaluation runs take this process's model engine —
 * the llama.cpp path its deployments are served on — through `evaluationEngine()`. A queue of its own, so a long
 * evaluation never holds up a deployment start, and `SERVING_EVALUATION_CONCURRENCY` bounds how many run here at once.
 */

let engine: TEngine | null = null;

/** The engine evaluation runs generate on (set by startEvaluationRuntime). */
export const evaluationEngine = () => engine;

export function startEvaluationRuntime(o: {
  engine: TEngine;
  workerId: string;
  concurrency: number;
  shutdownGraceMs?: number;
  prefix?: string;
  lockTiming?: TWorkerRuntimeOptions['lockTiming'];
  log?: TLogger;
}) {
  engine = o.engine;
  return createWorkerRuntime({
    kind: 'evaluation',
    queue: QUEUE_NAMES.evaluations,
    jobs: evaluationJobs,
    workerId: o.workerId,
    concurrency: o.concurrency,
    shutdownGraceMs: o.shutdownGraceMs,
    prefix: o.prefix,
    lockTiming: o.lockTiming,
    log: o.log,
    // The serving worker's own signal handler closes this runtime (main.ts): one exit, after both hand back.
    handleSignals: false,
  });
}
