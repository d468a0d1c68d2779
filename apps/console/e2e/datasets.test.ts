import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot } from './browser';
import { signUpWithWorkspace } from './flows';

// Datasets in the browser: identity.json dropped on the upload page goes straight to storage (presigned), is
// validated on the server, its {{name}}/{{author}} placeholders are filled in (a new version), the version is
// published, and its statistics show the row count and token figures.
const FIXTURES =
  process.env.CRUCIBLE_LF_FIXTURES ?? fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
const identityText = readFileSync(path.join(FIXTURES, 'identity.json'), 'utf8');
const identity = JSON.parse(identityText) as { output: string }[];

// Next keeps the page a navigation left in the DOM, hidden (for back/forward); read only what is on screen.
const visible = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"]:visible`);

describe('datasets: upload identity.json, fix placeholders, publish, statistics', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('uploads by drag and drop, replaces the placeholders, publishes and shows statistics', async () => {
    const { page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-datasets').catch(() => undefined);
    });
    const stamp = Date.now();
    const slug = `identity-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Ada Lovelace', email: `ada+${stamp}@example.com`, password: 'analytical-engine-1843' },
      { name: 'Identity', slug },
    );

    await page.getByRole('link', { name: 'Upload dataset' }).first().click();
    await page.waitForURL(`**/w/${slug}/datasets/new`);
    // Limits and the sample template are shown before anything is uploaded.
    await page.getByTestId('limits').getByText('Tokens per row').waitFor();
    const sample = page.getByRole('link', { name: 'Download a sample JSONL template' });
    expect(await sample.getAttribute('download')).toBe('crucible-sample.jsonl');

    // A real drop event carrying the file, as a browser fires it when a file is dragged onto the box.
    const dataTransfer = await page.evaluateHandle((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'identity.json', { type: 'application/json' }));
      return dt;
    }, identityText);
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
    await page.getByTestId('dropzone').getByText('identity.json').waitFor();
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('identity');
    await page.getByRole('button', { name: 'Upload and validate' }).click();

    // Validated into v1 (a draft) with the placeholders found.
    await page.waitForURL(/\/datasets\/[^/]+\?version=/, { timeout: 60_000 });
    await expect.poll(() => visible(page, 'version-title').textContent()).toBe('v1');
    await page.locator('input[id="ph-name"]:visible').fill('Crux');
    await page.locator('input[id="ph-author"]:visible').fill('ACME Labs');
    await screenshot(page, 'datasets-placeholders');
    await page.locator('button:visible', { hasText: 'Replace and save new version' }).click();

    // v2 has the values in its rows; the replies (what the model learns) are highlighted.
    await expect.poll(() => visible(page, 'version-title').textContent(), { timeout: 30_000 }).toBe('v2');
    const expectedReply = identity[0].output.replaceAll('{{name}}', 'Crux').replaceAll('{{author}}', 'ACME Labs');
    const firstLoss = visible(page, 'preview-rows').locator('[data-loss="true"]').first();
    await expect.poll(() => firstLoss.textContent(), { timeout: 40_000 }).toBe(`${expectedReply}<|im_end|>\n`);
    expect(await visible(page, 'preview-rows').textContent()).not.toContain('{{name}}');

    await page.locator('button:visible', { hasText: 'Publish' }).click();
    await expect.poll(() => visible(page, 'version-status').textContent(), { timeout: 30_000 }).toBe('Published');

    // Statistics: the row count of the file, token figures from the Qwen tokenizer, the histogram drawn.
    expect(await visible(page, 'stat-rows').textContent()).toBe(String(identity.length));
    const p50 = Number((await visible(page, 'stat-p50').textContent())?.replace(/,/g, ''));
    const max = Number((await visible(page, 'stat-max').textContent())?.replace(/,/g, ''));
    expect(p50).toBeGreaterThan(10);
    expect(max).toBeGreaterThanOrEqual(p50);
    await page.locator('.recharts-bar-rectangle:visible').first().waitFor();
    await screenshot(page, 'datasets-published');

    // The same state through the API: v2 published, v1 still a draft.
    const cookies = await page.context().cookies();
    const res = await fetch(`${inject('baseURL')}/api/workspaces/${slug}/datasets`, {
      headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    const body = (await res.json()) as {
      data: { latestVersion: { number: number; status: string; rowCount: number } }[];
    };
    expect(body.data[0].latestVersion).toMatchObject({ number: 2, status: 'published', rowCount: identity.length });
  });
});
