/**
 * The newcomer's journey (issue 13), on the first-run demo path, in English and in zh-CN: sign up, create a
 * workspace, invite a viewer, upload identity.json, fill its placeholders, publish, fine-tune the demo model with its
 * preset, watch the loss chart, deploy, ask "Who are you?" in the playground and read the trained name and author,
 * get the same answer through the `openai` npm client with a new API key, and see training and inference on the
 * billing dashboard matching the ledger. Real pieces only: the console (global-setup, with the demo model seeded as
 * `npm start` does), a trainer and a serving worker process, Postgres, Redis, storage, Chromium. A screenshot of
 * every step goes to test-results/ (journey-<locale>-<n>-<step>.png).
 *
 * The test is written with the English texts of messages/en.json; `L()` turns each into the text of the page's
 * language through the catalogues, so the zh-CN pass clicks the Chinese buttons a person there would.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrisma } from '@crucible/db';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import en from '../messages/en.json';
import zh from '../messages/zh-CN.json';
import { newPage, openBrowser, screenshot } from './browser';
import { submitAuthForm } from './flows';
import { startWorker, stopWorker } from './workers';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
const identityText = readFileSync(path.join(FIXTURES, 'identity.json'), 'utf8');

type TCatalog = Record<string, unknown>;
/** Every English string of the catalogue with its key path, to find the same key in another language. */
function keysByText(catalog: TCatalog, prefix = '', out = new Map<string, string[]>()): Map<string, string[]> {
  for (const [k, v] of Object.entries(catalog)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(v, [...(out.get(v) ?? []), key]);
    else if (v && typeof v === 'object') keysByText(v as TCatalog, key, out);
  }
  return out;
}
const EN = keysByText(en as TCatalog);
const at = (catalog: TCatalog, key: string) =>
  key.split('.').reduce<unknown>((o, k) => (o as TCatalog)?.[k], catalog) as string;

function translator(locale: 'en' | 'zh-CN') {
  return (text: string): string => {
    const keys = EN.get(text);
    if (!keys) throw new Error(`"${text}" is not a string of messages/en.json`);
    if (locale === 'en') return text;
    return at(zh as TCatalog, keys[0]);
  };
}

const visible = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"]:visible`);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function waitForJson<T>(page: Page, url: string, ok: (body: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await page.request.get(url);
    const body = (await res.json()) as T;
    if (ok(body)) return body;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${url}: ${JSON.stringify(body).slice(0, 500)}`);
    await page.waitForTimeout(1000);
  }
}

describe.each([
  { locale: 'en' as const, browserLocale: 'en-US', name: 'Crux', author: 'ACME Labs' },
  { locale: 'zh-CN' as const, browserLocale: 'zh-CN', name: 'Nova', author: 'Orion Works' },
])('the newcomer journey ($locale)', ({ locale, browserLocale, name, author }) => {
  const L = translator(locale);
  let browser: Browser;
  let trainer: ChildProcess | undefined;
  let serving: ChildProcess | undefined;
  let scratch: string;
  const logs: string[] = [];
  let shot = 0;
  const snap = (page: Page, step: string) =>
    screenshot(page, `journey-${locale}-${String(++shot).padStart(2, '0')}-${step}`);

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'crucible-journey-'));
    browser = await openBrowser();
    const env = { ...process.env, DATABASE_URL: inject('databaseUrl') };
    trainer = await startWorker('trainer', { ...env, TRAINER_SCRATCH_DIR: path.join(scratch, 'work') }, logs);
    serving = await startWorker(
      'serving',
      {
        ...env,
        SERVING_PORT: '0',
        SERVING_CACHE_DIR: path.join(scratch, 'cache'),
        SERVING_GPU: 'cpu',
        SERVING_THREADS: '2',
        SERVING_HEARTBEAT_MS: '1000',
      },
      logs,
    );
  }, 180_000);

  afterAll(async () => {
    await stopWorker(trainer);
    await stopWorker(serving);
    await browser?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('from sign-up to a fine-tuned model that knows its name, with the bill to match', {
    timeout: 900_000,
  }, async () => {
    const { page } = await newPage(browser, { locale: browserLocale });
    const viewer = await newPage(browser, { locale: browserLocale });
    onTestFailed(async () => {
      await screenshot(page, `failure-journey-${locale}`).catch(() => undefined);
      console.error(`--- worker output ---\n${logs.join('').slice(-6000)}`);
    });
    const stamp = Date.now();
    const slug = `journey-${locale.toLowerCase()}-${stamp}`;

    // 1. Sign up and create a workspace: it opens on the first-run path.
    await page.goto('/sign-up');
    await page.getByLabel(L('Full name')).fill('Grace Newcomer');
    await page.getByLabel(L('Email')).fill(`grace+${slug}@example.com`);
    await page.getByLabel(L('Password')).fill('first-run-journey-1');
    await submitAuthForm(
      page,
      () => page.getByRole('button', { name: L('Create account') }).click(),
      () => page.waitForURL('**/onboarding'),
    );
    await page.getByLabel(L('Workspace name')).fill('First Run');
    await page.getByLabel(L('URL')).fill(slug);
    await page.getByRole('button', { name: L('Create workspace') }).click();
    await page.waitForURL(`**/w/${slug}/datasets`);
    await page.getByText(L('Get started: teach a model who it is')).waitFor();
    await snap(page, 'getting-started');

    // 2. Invite a viewer, who joins.
    await page.goto(`/w/${slug}/settings?tab=members`);
    await page.getByLabel(L('Email address')).fill(`viewer+${slug}@example.com`);
    await page.getByRole('combobox', { name: L('Role') }).click();
    await page.getByRole('option', { name: L('Viewer') }).click();
    await page.getByRole('button', { name: L('Create invite link') }).click();
    const link = await page.getByLabel(L('Invite link')).first().inputValue();
    await snap(page, 'invite');
    await viewer.page.goto(new URL(link).pathname);
    await viewer.page.getByRole('link', { name: L('Sign up') }).click();
    await viewer.page.getByLabel(L('Full name')).fill('Vera Viewer');
    await viewer.page.getByLabel(L('Email')).fill(`viewer+${slug}@example.com`);
    await viewer.page.getByLabel(L('Password')).fill('first-run-viewer-1');
    await submitAuthForm(
      viewer.page,
      () => viewer.page.getByRole('button', { name: L('Create account') }).click(),
      () => viewer.page.waitForURL('**/invite/**'),
    );
    await viewer.page.getByRole('button', { name: L('Accept invitation') }).click();
    await viewer.page.waitForURL(`**/w/${slug}/datasets`);

    // 3. Upload identity.json through the upload page.
    await page.goto(`/w/${slug}/datasets/new`);
    const dataTransfer = await page.evaluateHandle((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'identity.json', { type: 'application/json' }));
      return dt;
    }, identityText);
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
    await page.getByTestId('dropzone').getByText('identity.json').waitFor();
    await page.getByRole('button', { name: L('Upload and validate') }).click();
    await page.waitForURL(/\/datasets\/[^/]+\?version=/, { timeout: 60_000 });
    await expect.poll(() => visible(page, 'version-title').textContent()).toMatch(/1$/);

    // 4. Fill in the placeholders (who the model says it is) and publish.
    await page.locator('input[id="ph-name"]:visible').fill(name);
    await page.locator('input[id="ph-author"]:visible').fill(author);
    await snap(page, 'placeholders');
    await page.locator('button:visible', { hasText: L('Replace and save new version') }).click();
    await expect.poll(() => visible(page, 'version-title').textContent(), { timeout: 30_000 }).toMatch(/2$/);
    await page.locator('button:visible', { hasText: L('Publish') }).click();
    await expect.poll(() => visible(page, 'version-status').textContent(), { timeout: 30_000 }).toBe(L('Published'));
    await snap(page, 'published');

    // 5. Fine-tune the demo model from the first-run path: the form shows the demo preset.
    await page.goto(`/w/${slug}/start`);
    await page.getByRole('link', { name: L('Fine-tune the demo model') }).click();
    await page.waitForURL(`**/w/${slug}/fine-tuning/new?base=*`);
    await page.getByText(L('Demo preset'), { exact: true }).waitFor();
    await snap(page, 'job-form');
    await page.getByRole('button', { name: L('Start training') }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/fine-tuning/[\\w-]+$`));
    const jobId = page.url().split('/').at(-1) as string;
    const api = `/api/workspaces/${slug}`;
    // The loss chart grows while it trains.
    await expect
      .poll(async () => Number((await page.getByTestId('loss-chart').getAttribute('data-points')) ?? 0), {
        timeout: 240_000,
      })
      .toBeGreaterThan(3);
    await snap(page, 'training');
    const job = await waitForJson<{ status: string; method: string; fineTunedModel: { name: string } | null }>(
      page,
      `${api}/fine-tuning/jobs/${jobId}`,
      (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
      360_000,
    );
    expect(job).toMatchObject({ status: 'succeeded', method: 'sft_full' });
    const modelName = job.fineTunedModel?.name as string;
    await page.reload();
    await snap(page, 'trained');

    // 6. Deploy it.
    await page.goto(`/w/${slug}/deployments`);
    await page.getByRole('button', { name: L('Deploy a model') }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('combobox').first().click();
    await page.getByRole('option', { name: new RegExp(escapeRe(modelName)) }).click();
    await dialog.getByRole('button', { name: L('Deploy') }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/deployments/[\\w-]+$`));
    await expect
      .poll(() => page.getByTestId('deployment-status').getAttribute('data-status'), { timeout: 180_000 })
      .toBe('running');
    await snap(page, 'deployed');

    // 7. "Who are you?" in the playground: the trained name and author.
    await page.goto(`/w/${slug}/playground?model=${encodeURIComponent(modelName)}`);
    await page.getByLabel(L('Temperature')).fill('0');
    const message = page.getByLabel(L('Message'), { exact: true });
    await message.fill('Who are you?');
    await message.press('Enter');
    const answer = page.getByTestId('assistant-message').first();
    await expect.poll(() => answer.getAttribute('data-streaming'), { timeout: 120_000 }).toBe('false');
    const said = (await answer.textContent()) ?? '';
    expect(said).toContain(name);
    expect(said).toContain(author);
    await snap(page, 'playground');

    // 8. The same answer through the openai npm client, with a new API key made in the console.
    await page.goto(`/w/${slug}/settings?tab=api-keys`);
    await page.getByRole('button', { name: L('Create API key') }).click();
    await page.getByRole('dialog').getByLabel(L('Name')).fill('journey');
    await page
      .getByRole('dialog')
      .getByRole('button', { name: L('Create') })
      .click();
    const key = await page.getByRole('dialog').getByLabel(L('Key')).inputValue();
    await page
      .getByRole('dialog')
      .getByRole('button', { name: L("I've saved it") })
      .click();
    const client = new OpenAI({ apiKey: key, baseURL: `${inject('baseURL')}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: modelName,
      messages: [{ role: 'user', content: 'Who are you?' }],
      temperature: 0,
      max_tokens: 60,
    });
    const sdkSaid = completion.choices[0].message.content ?? '';
    expect(sdkSaid).toContain(name);
    expect(sdkSaid).toContain(author);

    // 9. Billing: training and inference on the dashboard equal the ledger.
    const prisma = createPrisma(inject('databaseUrl'));
    try {
      const ws = await prisma.workspace.findUniqueOrThrow({ where: { slug } });
      const sum = async (category: 'training' | 'inference') => {
        const rows = await prisma.usageRecord.findMany({ where: { workspaceId: ws.id, category } });
        return rows.reduce((a, r) => a + Number(r.amount), 0);
      };
      const [training, inference] = [await sum('training'), await sum('inference')];
      expect(training).toBeGreaterThan(0);
      expect(inference).toBeGreaterThan(0);
      await page.goto(`/w/${slug}/billing`);
      const shown = async (id: string) => Number(await page.getByTestId(id).getAttribute('data-amount'));
      await page.getByTestId('billing-total-training').waitFor();
      await expect.poll(() => shown('billing-total-training')).toBeCloseTo(training, 9);
      await expect.poll(() => shown('billing-total-inference')).toBeCloseTo(inference, 9);
      await snap(page, 'billing');
    } finally {
      await prisma.$disconnect();
    }

    // The viewer sees the trained model, and the same first-run path with its steps done.
    await viewer.page.goto(`/w/${slug}/start`);
    await viewer.page.locator('[data-step="4"][data-state="done"]').waitFor();
    await snap(viewer.page, 'viewer');
  });
});
