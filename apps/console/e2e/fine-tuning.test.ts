import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIRequestContext, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot } from './browser';
import { signUpWithWorkspace } from './flows';
import { addTinyBaseModel, startWorker, stopWorker } from './workers';

// Issue 5, "Tests": a browser starts a fine-tuning job from the form and sees the loss chart grow. Real pieces
// only: the console (global-setup), a trainer worker process on the same database, Redis and storage, a tiny
// random Qwen2 (2 layers, hidden 32) registered as the workspace's base model, and a dataset published through
// the REST API the datasets page uses.

/** Arithmetic chats: short, distinct and learnable by a tiny model, so the loss visibly moves. */
function chatRows(n: number): string {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i * 7) % 10;
    const b = (i * 3 + 1) % 10;
    rows.push(
      JSON.stringify({
        messages: [
          { role: 'user', content: `What is ${a} plus ${b}?` },
          { role: 'assistant', content: `${a} plus ${b} is ${a + b}.` },
        ],
      }),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** Creates a dataset, uploads the rows through the presigned target, imports (waiting) and publishes v1. */
async function publishDataset(request: APIRequestContext, slug: string, name: string, jsonl: string) {
  const base = `/api/workspaces/${slug}/datasets`;
  const ok = async (response: Awaited<ReturnType<APIRequestContext['post']>>, what: string) => {
    if (!response.ok()) throw new Error(`${what}: ${response.status()} ${await response.text()}`);
    return (await response.json()) as unknown;
  };
  const dataset = (await ok(await request.post(base, { data: { name } }), 'create dataset')) as { id: string };
  const start = (await ok(
    await request.post(`${base}/${dataset.id}/uploads`, {
      data: { fileName: `${name}.jsonl`, size: Buffer.byteLength(jsonl) },
    }),
    'start upload',
  )) as { uploadId: string; upload: { url: string; method: string; headers?: Record<string, string> } };
  const target = start.upload;
  const sent = await request.fetch(target.url, {
    method: target.method,
    headers: target.headers,
    data: Buffer.from(jsonl),
  });
  if (sent.status() >= 300) throw new Error(`upload: ${sent.status()} ${await sent.text()}`);
  const imported = (await ok(
    await request.post(`${base}/${dataset.id}/imports`, { data: { uploadId: start.uploadId, wait: true } }),
    'import',
  )) as { version: { id: string } };
  const versionId = imported.version.id;
  await ok(await request.post(`${base}/${dataset.id}/versions/${versionId}/publish`), 'publish');
  return { datasetId: dataset.id, versionId };
}

/**
 * Signs a new person up with a workspace holding the tiny base model (`crucible init-model`'s 2-layer Qwen2,
 * stored under the workspace's models prefix the way an import registers it) and a published dataset.
 */
async function seedWorkspace(page: Page, scratch: string, name: string): Promise<string> {
  const stamp = Date.now();
  const slug = `ft-${stamp}`;
  await signUpWithWorkspace(
    page,
    { name, email: `ft+${stamp}@example.com`, password: 'analytical-engine-1843' },
    { name: 'Engines', slug },
  );
  await addTinyBaseModel(slug, path.join(scratch, `tiny-qwen-${stamp}`), 7);
  await publishDataset(page.request, slug, 'sums', chatRows(24));
  return slug;
}

const chartPoints = async (page: Page) =>
  Number((await page.getByTestId('loss-chart').getAttribute('data-points')) ?? 0);

describe('fine-tuning: start a job from the form and watch it train', () => {
  let browser: Browser;
  let trainer: ChildProcess | undefined;
  let scratch: string;
  const trainerLog: string[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'crucible-ft-e2e-'));
    browser = await openBrowser();
    trainer = await startWorker(
      'trainer',
      { ...process.env, DATABASE_URL: inject('databaseUrl'), TRAINER_SCRATCH_DIR: path.join(scratch, 'work') },
      trainerLog,
    );
  }, 120_000);

  afterAll(async () => {
    await stopWorker(trainer);
    await browser?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('creates a job from the form; the loss chart grows live and survives a reload', { timeout: 540_000 }, async () => {
    const { context, page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-fine-tuning').catch(() => undefined);
      console.error(`--- trainer output ---\n${trainerLog.join('')}`);
    });
    const slug = await seedWorkspace(page, scratch, 'Ada Lovelace');

    // The form: one model and one published version are preselected; the estimate appears before Start.
    await page.goto(`/w/${slug}/fine-tuning`);
    await page.getByText('No fine-tuning jobs yet').waitFor();
    await page.getByRole('link', { name: 'New fine-tuning job' }).first().click();
    await page.waitForURL(`**/w/${slug}/fine-tuning/new`);
    await page.getByLabel('Base model').getByText('tiny-qwen').waitFor();
    await page
      .getByLabel('Training data')
      .getByText(/sums · v1/)
      .waitFor();
    await page.getByLabel('Epochs', { exact: true }).fill('3');
    await page.getByLabel('Gradient accumulation', { exact: true }).fill('1');
    await page.getByLabel('Learning rate', { exact: true }).fill('0.001');
    await page.getByText('Advanced').click();
    await page.getByLabel('Log every', { exact: true }).fill('1');
    // A bad value is caught in the browser, beside its field, before anything is sent.
    await page.getByLabel('LoRA rank', { exact: true }).fill('0');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByLabel('LoRA rank', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(page.url()).toContain('/fine-tuning/new');
    await page.getByLabel('LoRA rank', { exact: true }).fill('8');
    await page.getByTestId('estimate-time').waitFor();
    expect(await page.getByTestId('estimate').textContent()).toMatch(/Trained tokens/);
    await screenshot(page, 'fine-tuning-form');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/fine-tuning/(?!new)[\\w-]+$`));
    const jobUrl = page.url();

    // The loss chart fills from the stream while the worker trains.
    await expect.poll(() => chartPoints(page), { timeout: 180_000, interval: 500 }).toBeGreaterThanOrEqual(2);
    const first = await chartPoints(page);
    await expect.poll(() => chartPoints(page), { timeout: 120_000, interval: 500 }).toBeGreaterThan(first);
    expect(await page.getByTestId('loss-chart').locator('.recharts-line-curve').count()).toBeGreaterThan(0);
    await screenshot(page, 'fine-tuning-live');

    // A reload shows the same history first, then keeps streaming.
    const beforeReload = await chartPoints(page);
    await page.reload();
    await expect.poll(() => chartPoints(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(beforeReload);

    // It finishes: the status says so and the page links the registered model.
    await page.getByText('Succeeded').first().waitFor({ timeout: 240_000 });
    await page.getByRole('link', { name: 'View model' }).waitFor();
    expect(await chartPoints(page)).toBeGreaterThan(beforeReload - 1);
    await screenshot(page, 'fine-tuning-succeeded');

    // The jobs list shows it, and the models page lists the model with its lineage.
    await page.goto(`/w/${slug}/fine-tuning`);
    await page.getByRole('link', { name: new RegExp(jobUrl.split('/').at(-1) ?? '') }).waitFor();
    await page.getByRole('table', { name: 'Fine-tuning' }).getByText('Succeeded').waitFor();
    await screenshot(page, 'fine-tuning-jobs');
    await page.goto(`/w/${slug}/models`);
    const models = page.getByRole('table', { name: 'Fine-tuned models' });
    await models.getByRole('cell', { name: 'tiny-qwen', exact: true }).waitFor();
    await models.getByRole('link', { name: jobUrl.split('/').at(-1) ?? '' }).waitFor();
    await screenshot(page, 'models-lineage');
    await context.close();
  });
  it('cancels a running job after a confirmation; clone and edit opens the form with its settings', {
    timeout: 300_000,
  }, async () => {
    const { context, page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-fine-tuning-cancel').catch(() => undefined);
      console.error(`--- trainer output ---\n${trainerLog.join('')}`);
    });
    const slug = await seedWorkspace(page, scratch, 'Grace Hopper');
    await page.goto(`/w/${slug}/fine-tuning/new`);
    await page.getByLabel('Base model').getByText('tiny-qwen').waitFor();
    // Long enough to still be running when Cancel is pressed (24 rows x 40 epochs = 960 steps).
    await page.getByLabel('Epochs', { exact: true }).fill('40');
    await page.getByLabel('Gradient accumulation', { exact: true }).fill('1');
    await page.getByText('Advanced').click();
    await page.getByLabel('Log every', { exact: true }).fill('1');
    await page.getByLabel('Model name suffix', { exact: true }).fill('long-run');
    await page.getByTestId('estimate-time').waitFor();
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/fine-tuning/(?!new)[\\w-]+$`));
    const jobUrl = page.url();
    await expect.poll(() => chartPoints(page), { timeout: 180_000, interval: 500 }).toBeGreaterThanOrEqual(2);

    // Cancel asks first; "Keep running" (not a second "Cancel") leaves the job running.
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Keep running', exact: true }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
    await page.getByText('Cancelled', { exact: true }).first().waitFor({ timeout: 60_000 });
    // "Cancelled" can show in the events log before the job row turns terminal; expect.poll's 1 s default is too
    // short for that on a busy machine.
    await expect.poll(() => page.getByRole('button', { name: 'Cancel job' }).count(), { timeout: 60_000 }).toBe(0);
    const stoppedAt = await chartPoints(page);
    expect(stoppedAt).toBeLessThan(960);
    await screenshot(page, 'fine-tuning-cancelled');

    // Clone and edit: the form opens with the cancelled job's settings.
    await page.getByRole('link', { name: 'Clone and edit' }).click();
    await page.waitForURL(/\/fine-tuning\/new\?from=/);
    await expect.poll(() => page.getByLabel('Epochs', { exact: true }).inputValue()).toBe('40');
    expect(await page.getByLabel('Model name suffix', { exact: true }).inputValue()).toBe('long-run');
    expect(await page.getByLabel('Gradient accumulation', { exact: true }).inputValue()).toBe('1');
    await page
      .getByLabel('Training data')
      .getByText(/sums · v1/)
      .waitFor();

    // In Chinese: the job page and the form speak the user's language, validation messages included.
    const saved = await page.request.patch('/api/me', { data: { locale: 'zh-CN' } });
    expect(saved.ok()).toBe(true);
    await page.goto(jobUrl);
    await page.getByRole('heading', { level: 1, name: '微调任务' }).waitFor();
    await page.getByText('已取消', { exact: true }).first().waitFor();
    await page.getByTestId('loss-chart').getByText('损失', { exact: true }).waitFor();
    await page.getByRole('link', { name: '克隆并编辑' }).click();
    await page.getByLabel('LoRA 秩', { exact: true }).fill('0');
    await page.getByRole('button', { name: '开始训练' }).click();
    await expect.poll(() => page.getByLabel('LoRA 秩', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('p[role="alert"]').first().textContent()).toMatch(/[\u4e00-\u9fff]/);
    await screenshot(page, 'fine-tuning-form-zh');
    await context.close();
  });
});
