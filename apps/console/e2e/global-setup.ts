/**
 * Browser-test world: a fresh test database, the console built (if its sources changed) and started with
 * server.ts (Next.js behind the front door, as `npm start` runs it) on a free port against that database, and Debian's Chromium launched through playwright-core as a
 * browser server the test files connect to. Everything is torn down in reverse order, even after a failed start.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createTestDatabase } from '@crucible/db/testing';
import { type BrowserServer, chromium } from 'playwright-core';
import type { TestProject } from 'vitest/node';
import { consoleDir, ensureConsoleBuild, holdSessionLock, release, startConsole } from './console-server';

declare module 'vitest' {
  export interface ProvidedContext {
    baseURL: string;
    wsEndpoint: string;
    databaseUrl: string;
    resultsDir: string;
  }
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// ENVIRONMENT.md "Browser tests": the flags Debian's Chromium needs here (no sandbox as root, no GPU, no network
// side-trips). playwright-core gives every launch a fresh temporary --user-data-dir of its own.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export default async function setup(project: TestProject) {
  const cleanups: Array<() => Promise<unknown>> = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error('[e2e] cleanup', error));
  };
  try {
    const lock = await holdSessionLock();
    cleanups.push(() => release(lock));
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', TURBO_TELEMETRY_DISABLED: '1' };
    await ensureConsoleBuild(env);

    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    // The instance as `npm start` leaves it: with the first-run demo model (in this run's storage).
    const previousUrl = process.env.DATABASE_URL;
    process.env.DATABASE_URL = database.url;
    const { seedDemoModel } = await import('@crucible/services');
    await seedDemoModel();
    const { disconnectAll } = await import('@crucible/db');
    await disconnectAll();
    if (previousUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previousUrl;

    // The console as npm start runs it: Next.js behind the front door (server.ts), in production mode, with an
    // instance secret of its own (production refuses to start without one).
    const server = await startConsole({ ...env, DATABASE_URL: database.url });
    cleanups.push(() => server.stop());
    const baseURL = server.baseURL;

    const browser: BrowserServer = await chromium.launchServer({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    cleanups.push(() => browser.close());

    const resultsDir = path.join(consoleDir, 'test-results');
    mkdirSync(resultsDir, { recursive: true });
    project.provide('baseURL', baseURL);
    project.provide('wsEndpoint', browser.wsEndpoint());
    project.provide('databaseUrl', database.url);
    project.provide('resultsDir', resultsDir);
    // The server's output is kept beside the screenshots: the first place to look when a browser test fails.
    cleanups.push(async () => writeFileSync(path.join(resultsDir, 'next-server.log'), server.log()));
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
