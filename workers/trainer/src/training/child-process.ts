import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TChildMessage, TChildResult, TParentMessage } from './protocol';

const require = createRequire(import.meta.url);

/** tsx's ESM loader as an absolute URL: `--import tsx` would resolve from the child's cwd (the job folder). */
function tsxLoader(): string {
  const dir = dirname(require.resolve('tsx/package.json'));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const entry = pkg.exports['.'];
  const rel = typeof entry === 'string' ? entry : './dist/loader.mjs';
  return pathToFileURL(join(dir, rel)).href;
}

export type TChildExit = {
  result: TChildResult | null;
  error: { code: string; message: string } | null;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
};

export type TTrainingChild = {
  readonly pid: number | undefined;
  readonly process: ChildProcess;
  stop(reason: TParentMessage['reason']): void;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<TChildExit>;
};

/**
 * How much the training process yields the CPU: `nice` TRAINER_NICE (default 10). Serving and the console run at
 * normal priority on the same cores (npm start), so a chat keeps its tokens/s while a job trains, and training takes
 * every cycle they leave (issue 13, finding 3: a chat crawled at 0.6 CPU-s a token beside a job). 0 turns it off.
 */
export function yieldCpu(pid: number | undefined, nice = Number(process.env.TRAINER_NICE ?? 10)): void {
  if (!pid || !Number.isFinite(nice) || nice === 0) return;
  try {
    setPriority(pid, Math.max(-20, Math.min(19, Math.round(nice))));
  } catch {
    // not allowed (a container without CAP_SYS_NICE may refuse a negative value): the job runs at normal priority
  }
}

/** Live children by training job id: tests use it to kill one mid-run (kill -9 of the training process). */
export const liveChildren = new Map<string, TTrainingChild>();

/**
 * Starts the training core in a child process for one job folder. Messages are handed to `onMessage` in order;
 * the child's stderr is kept (last 4 KB) so an unexpected death can be explained.
 */
export function startTrainingChild(
  jobId: string,
  jobDir: string,
  onMessage: (m: TChildMessage) => void,
): TTrainingChild {
  const entry = join(dirname(fileURLToPath(import.meta.url)), 'child.ts');
  const child = fork(entry, [], {
    cwd: jobDir,
    execArgv: ['--import', tsxLoader()],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  yieldCpu(child.pid);
  let stderrTail = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString('utf8')).slice(-4096);
  });
  let result: TChildResult | null = null;
  let error: TChildExit['error'] = null;
  child.on('message', (m: TChildMessage) => {
    if (m.type === 'done') result = m.result;
    if (m.type === 'error') error = { code: m.code, message: m.message };
    onMessage(m);
  });
  const exited = new Promise<TChildExit>((resolve) => {
    child.on('exit', (exitCode, signal) => {
      liveChildren.delete(jobId);
      resolve({ result, error, exitCode, signal, stderrTail });
    });
    child.on('error', (e) => {
      error ??= { code: 'SPAWN_FAILED', message: e.message };
    });
  });
  const handle: TTrainingChild = {
    pid: child.pid,
    process: child,
    stop(reason) {
      if (child.connected) child.send({ type: 'stop', reason } satisfies TParentMessage);
    },
    exited,
  };
  liveChildren.set(jobId, handle);
  return handle;
}
