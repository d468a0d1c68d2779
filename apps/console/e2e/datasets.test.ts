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

  // Issue 13, items 6 and 7: a row with errors is shown with its line and problem and fixed in place (the new
  // version keeps every row), and the diff of two versions is paged and shows only the fields that changed.
  it('fixes a row with errors in the editor and pages a field-level diff', async () => {
    const { page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-datasets-invalid').catch(() => undefined);
    });
    const stamp = Date.now();
    const slug = `fixes-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Grace Hopper', email: `grace+${stamp}@example.com`, password: 'compiler-a0-1952' },
      { name: 'Fixes', slug },
    );
    const row = (i: number, answer: string) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: `question ${i}` },
          { role: 'assistant', content: answer },
        ],
      });
    // Line 3 has no assistant reply; v2 changes 25 answers of v1.
    const broken = JSON.stringify({ messages: [{ role: 'user', content: 'unanswered' }] });
    const file = (answer: (i: number) => string) =>
      Array.from({ length: 45 }, (_, i) => (i === 2 ? broken : row(i, answer(i)))).join('\n');
    const drop = async (name: string, text: string) => {
      const dataTransfer = await page.evaluateHandle(
        ([n, t]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([t], n, { type: 'application/jsonl' }));
          return dt;
        },
        [name, text],
      );
      await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer });
      await page.getByTestId('dropzone').getByText(name).waitFor();
      await page.getByRole('button', { name: 'Upload and validate' }).click();
    };

    await page.getByRole('link', { name: 'Upload dataset' }).first().click();
    await page.waitForURL(`**/w/${slug}/datasets/new`);
    await drop(
      'chat.jsonl',
      file((i) => `answer ${i}`),
    );
    await page.waitForURL(/\/datasets\/[^/]+\?version=/, { timeout: 60_000 });
    await expect.poll(() => visible(page, 'version-title').textContent()).toBe('v1');
    await page.locator('a:visible', { hasText: 'Upload new version' }).click();
    await page.waitForURL(/\/datasets\/new\?dataset=/);
    await drop(
      'chat.jsonl',
      file((i) => (i % 2 === 0 || i > 38 ? `ANSWER ${i}` : `answer ${i}`)),
    );
    await expect.poll(() => visible(page, 'version-title').textContent(), { timeout: 60_000 }).toBe('v2');

    // The diff against v1: 25 changed rows, 20 on the first page, each as "messages[1].content: before → after".
    await expect.poll(() => visible(page, 'diff-counts').textContent(), { timeout: 30_000 }).toContain('25 changed');
    await expect.poll(() => visible(page, 'diff-rows').locator(':scope > li').count()).toBe(20);
    const firstField = visible(page, 'diff-field').first();
    expect(await firstField.textContent()).toBe('messages[1].contentanswer 0 → ANSWER 0');
    expect(await visible(page, 'diff-page').textContent()).toBe('1–20 of 25');
    await visible(page, 'diff-page').locator('xpath=..').getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => visible(page, 'diff-rows').locator(':scope > li').count()).toBe(5);
    expect(await visible(page, 'diff-page').textContent()).toBe('21–25 of 25');
    await screenshot(page, 'datasets-diff-paged');

    // The row with errors: its line, the problem and the fix; fixed in place into v3, which keeps every row.
    const invalid = visible(page, 'invalid-row');
    await expect.poll(() => invalid.count(), { timeout: 30_000 }).toBe(1);
    expect(await invalid.textContent()).toContain('Line 3');
    expect(await invalid.textContent()).toContain('example_missing_assistant_message');
    expect(await invalid.textContent()).toContain('Add an assistant message at the end.');
    await invalid.getByRole('button', { name: 'Fix the row from line 3' }).click();
    const editor = page.getByRole('dialog').getByLabel('Row as JSON');
    await editor.fill(row(2, 'fixed answer'));
    await page.getByRole('dialog').getByRole('button', { name: 'Save as new version' }).click();
    await expect.poll(() => visible(page, 'version-title').textContent(), { timeout: 30_000 }).toBe('v3');
    await expect
      .poll(() => visible(page, 'edit-summary').textContent(), { timeout: 30_000 })
      .toContain('1 fixed; 0 rows with errors deleted, 0 rows with errors kept');
    await expect.poll(() => visible(page, 'invalid-rows').count()).toBe(0);
    const v3Rows = visible(page, 'preview-rows');
    await expect.poll(() => v3Rows.textContent(), { timeout: 30_000 }).toContain('fixed answer');
    // v3 against v2: nothing changed, one row added (the fixed one), so the diff opens on the added rows.
    await expect.poll(() => visible(page, 'diff-counts').textContent(), { timeout: 30_000 }).toContain('1 added');
    await expect.poll(() => visible(page, 'diff-rows').textContent()).toContain('fixed answer');
    await screenshot(page, 'datasets-invalid-fixed');
  });
});
