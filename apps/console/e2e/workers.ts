import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrisma } from '@crucible/db';
import { getStorage, uploadDir } from '@crucible/storage';
import { initModel } from '@crucible/trainer';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, inject } from 'vitest';
import { openBrowser } from './browser';

/**
 * The browser tests' workers: `workers/trainer` or `workers/serving` as `npm start` runs them, real processes
 * (global-setup.ts starts the one housekeeping worker every test file shares).
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Starts a worker against the test database; resolves once it logs "[kind] ready". `log` keeps its last output. */
export function startWorker(
  kind: 'trainer' | 'serving' | 'housekeeping',
  env: NodeJS.ProcessEnv,
  log: string[],
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), `workers/${kind}/src/main.ts`],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const timer = setTimeout(() => reject(new Error(`${kind} worker did not start:\n${log.join('')}`)), 60_000);
    const keep = (chunk: Buffer) => {
      log.push(chunk.toString());
      if (log.length > 400) log.shift();
      if (chunk.toString().includes(`[${kind}] ready`)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} worker exited with ${code}:\n${log.join('')}`));
    });
  });
}

/** SIGTERM (a graceful stop), SIGKILL after 10 s. */
export function stopWorker(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

type TWorkerKind = 'trainer' | 'serving';

/**
 * For a describe block that drives the browser against real workers: before all, a scratch folder, the browser and
 * each worker started with its `env(scratch)`; after all, each undone. The returned object is filled in by then;
 * `log` keeps the workers' output for a failing test to print.
 */
function useBrowserAndWorkers(name: string, workers: [TWorkerKind, (scratch: string) => Record<string, string>][]) {
  const ctx = { browser: undefined as unknown as Browser, scratch: '', log: [] as string[] };
  const started: ChildProcess[] = [];
  beforeAll(async () => {
    ctx.scratch = mkdtempSync(path.join(tmpdir(), `crucible-${name}-e2e-`));
    ctx.browser = await openBrowser();
    for (const [kind, env] of workers) {
      started.push(
        await startWorker(kind, { ...process.env, DATABASE_URL: inject('databaseUrl'), ...env(ctx.scratch) }, ctx.log),
      );
    }
  }, 180_000);
  afterAll(async () => {
    for (const worker of started) await stopWorker(worker);
    await ctx.browser?.close();
    if (ctx.scratch) rmSync(ctx.scratch, { recursive: true, force: true });
  });
  return ctx;
}

/**
 * A tiny random Qwen2 (the real Qwen tokenizer) as the workspace's base model `tiny-qwen`, written to `dir` and
 * stored in the workspace's models prefix the way `crucible models import` stores it.
 */
export async function addTinyBaseModel(slug: string, dir: string, seed: number): Promise<void> {
  const prisma = createPrisma(inject('databaseUrl'));
  try {
    const workspace = await prisma.workspace.findUniqueOrThrow({ where: { slug } });
    await initModel({ arch: 'qwen2', layers: 2, hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, seed }, dir);
    const model = await prisma.baseModel.create({
      data: { workspaceId: workspace.id, name: 'tiny-qwen', arch: 'qwen2', source: 'local' },
    });
    const objectKey = `workspaces/${workspace.id}/models/${model.id}`;
    await uploadDir(getStorage(), dir, objectKey);
    await prisma.baseModel.update({ where: { id: model.id }, data: { objectKey } });
  } finally {
    await prisma.$disconnect();
  }
}

/** `workers/serving` on CPU, F32 GGUFs, a cache in the scratch folder. */
const servingEnv = (scratch: string) => ({
  SERVING_PORT: '0',
  SERVING_GPU: 'cpu',
  SERVING_GGUF_TYPE: 'F32',
  SERVING_CACHE_DIR: path.join(scratch, 'cache'),
});

/** `workers/trainer`, its job folders in the scratch folder. */
const trainerEnv = (scratch: string) => ({ TRAINER_SCRATCH_DIR: path.join(scratch, 'work') });

/** The browser and `workers/serving`. */
export const useBrowserAndServing = (name: string) => useBrowserAndWorkers(name, [['serving', servingEnv]]);

/** The browser and `workers/trainer`. */
export const useBrowserAndTrainer = (name: string) => useBrowserAndWorkers(name, [['trainer', trainerEnv]]);

/** The browser, `workers/trainer` and `workers/serving`: train, then deploy and evaluate. */
export const useBrowserTrainerAndServing = (name: string) =>
  useBrowserAndWorkers(name, [
    ['trainer', trainerEnv],
    ['serving', servingEnv],
  ]);
