import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, screenshot } from './browser';
import { signUpWithWorkspace } from './flows';
import { addTinyBaseModel, startWorker, stopWorker, useBrowserAndServing } from './workers';

// Issue 15 in a browser: a preference dataset (OpenAI DPO JSONL) uploaded on the datasets page shows chosen and
// rejected side by side; the fine-tuning form's DPO method offers it, a DPO job trains three steps on the tiny
// model in a real trainer worker, the job page charts the reward margins and accuracy beside the loss, and the
// result deploys on a real serving worker.

/** Six pairs: the short right answer is chosen, a rambling wrong one rejected. */
function pairRows(): string {
  return `${Array.from({ length: 6 }, (_, i) =>
    JSON.stringify({
      input: { messages: [{ role: 'user', content: `What is ${i} plus ${i}?` }] },
      preferred_output: [{ role: 'assistant', content: `${2 * i}.` }],
      non_preferred_output: [{ role: 'assistant', content: `Perhaps ${i + 5}, I am not sure.` }],
    }),
  ).join('\n')}\n`;
}

const visible = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"]:visible`);
const points = async (page: Page, chart: string) =>
  Number((await page.getByTestId(chart).getAttribute('data-points')) ?? 0);

describe('preference training: upload pairs, train DPO, see margins, deploy', () => {
  const ctx = useBrowserAndServing('dpo');
  let trainer: ChildProcess | undefined;
  beforeAll(async () => {
    trainer = await startWorker(
      'trainer',
      { ...process.env, DATABASE_URL: inject('databaseUrl'), TRAINER_SCRATCH_DIR: path.join(ctx.scratch, 'work') },
      ctx.log,
    );
  }, 120_000);
  afterAll(() => stopWorker(trainer));

  it('uploads a preference dataset, trains a DPO job from the form, charts margins and accuracy, deploys', {
    timeout: 600_000,
  }, async () => {
    const { context, page } = await newPage(ctx.browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-preference').catch(() => undefined);
      console.error(`--- worker output ---\n${ctx.log.join('')}`);
    });
    const stamp = Date.now();
    const slug = `dpo-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Ada Lovelace', email: `dpo+${stamp}@example.com`, password: 'analytical-engine-1843' },
      { name: 'Preferences', slug },
    );
    await addTinyBaseModel(slug, path.join(ctx.scratch, `tiny-qwen-${stamp}`), 7);

    // 1. Upload the pairs; the preview shows chosen and rejected side by side; publish.
    await page.getByRole('link', { name: 'Upload dataset' }).first().click();
    await page.waitForURL(`**/w/${slug}/datasets/new`);
    const dataTransfer = await page.evaluateHandle((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'pairs.jsonl', { type: 'application/jsonl' }));
      return dt;
    }, pairRows());
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
    await page.getByRole('button', { name: 'Upload and validate' }).click();
    await page.waitForURL(/\/datasets\/[^/]+\?version=/, { timeout: 60_000 });
    await expect.poll(() => visible(page, 'pair-chosen').first().textContent(), { timeout: 40_000 }).toContain('0.');
    expect(await visible(page, 'pair-rejected').first().textContent()).toContain('Perhaps 5, I am not sure.');
    await visible(page, 'pair-tokens-rejected').waitFor();
    await screenshot(page, 'preference-dataset');
    await page.locator('button:visible', { hasText: 'Publish' }).click();
    await expect.poll(() => visible(page, 'version-status').textContent(), { timeout: 30_000 }).toBe('Published');

    // 2. The form: SFT offers no version (the only one holds pairs); DPO preselects it. Three steps.
    await page.goto(`/w/${slug}/fine-tuning/new`);
    await page.getByLabel('Base model').getByText('tiny-qwen').waitFor();
    await page.getByText(/No published dataset version holds chat rows/).waitFor();
    await page.locator('input[name="stage"][value="dpo"]').check();
    await page
      .getByLabel('Training data')
      .getByText(/pairs · v1/)
      .waitFor();
    await page.getByLabel('Beta', { exact: true }).waitFor();
    await page.getByLabel('Epochs', { exact: true }).fill('1');
    await page.getByLabel('Batch size', { exact: true }).fill('2');
    await page.getByLabel('Gradient accumulation', { exact: true }).fill('1');
    await page.getByLabel('Learning rate', { exact: true }).fill('0.01');
    await page.getByText('Advanced').click();
    await page.getByLabel('Log every', { exact: true }).fill('1');
    await page.getByTestId('estimate-time').waitFor();
    expect(await page.getByTestId('estimate').textContent()).toMatch(/Both sequences of every preference pair/);
    await screenshot(page, 'preference-form');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/fine-tuning/(?!new)[\\w-]+$`));

    // 3. Margins and accuracy beside the loss, filled from the live stream; it succeeds.
    await page.getByText('Succeeded').first().waitFor({ timeout: 300_000 });
    await expect.poll(() => points(page, 'margins-chart'), { timeout: 30_000 }).toBe(3);
    expect(await points(page, 'accuracy-chart')).toBe(3);
    expect(await points(page, 'loss-chart')).toBe(3);
    expect(await page.getByTestId('margins-chart').locator('.recharts-line-curve').count()).toBeGreaterThan(0);
    await page.getByText('DPO · LoRA').first().waitFor();
    await screenshot(page, 'preference-job');

    // 4. Deploy the DPO model from its job page.
    await page.getByRole('button', { name: 'Deploy' }).first().click();
    await page.getByRole('dialog').getByRole('button', { name: 'Deploy' }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/deployments/[\\w-]+$`));
    await expect
      .poll(() => page.getByTestId('deployment-status').getAttribute('data-status'), { timeout: 180_000 })
      .toBe('running');
    await screenshot(page, 'preference-deployed');
    await context.close();
  });
});
