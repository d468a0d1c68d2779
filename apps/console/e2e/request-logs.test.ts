import path from 'node:path';
import { openRows } from '@crucible/dataset-store';
import { createPrisma } from '@crucible/db';
import { describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, screenshot } from './browser';
import { signUpWithWorkspace } from './flows';
import { addTinyBaseModel, useBrowserAndServing } from './workers';

// Issue 16, request logs and feedback into data, in a browser: a deployment keeps its requests (switched on on its
// page), the playground chats with it (and rates an answer), the Logs page shows, filters and rates the logs, and two
// of them — one answer corrected — become a new draft dataset version. Real pieces: the console, a serving worker
// process (llama.cpp, CPU), a tiny random Qwen2; the words are gibberish, so the test compares the page with the
// database, not with expected words.

describe('request logs: playground chats kept, rated and turned into a dataset version', () => {
  const env = useBrowserAndServing('request-logs');

  it('keeps a deployment’s chats, shows them on the Logs page, rates them and adds two to a new dataset', {
    timeout: 600_000,
  }, async () => {
    const { context, page } = await newPage(env.browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-request-logs').catch(() => undefined);
      console.error(`--- serving worker output ---\n${env.log.join('')}`);
    });
    const stamp = Date.now();
    const slug = `logs-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Ada Lovelace', email: `ada+logs${stamp}@example.com`, password: 'analytical-engine-1843' },
      { name: 'Engines', slug },
    );
    const prisma = createPrisma(inject('databaseUrl'));
    try {
      const workspace = await prisma.workspace.findUniqueOrThrow({ where: { slug } });
      await addTinyBaseModel(slug, path.join(env.scratch, 'tiny-qwen'), 11);

      // Deploy it, then switch its request logs on (off by default) with a 7-day retention.
      await page.goto(`/w/${slug}/deployments`);
      await page.getByRole('button', { name: 'Deploy a model' }).click();
      const dialog = page.getByRole('dialog');
      await expect.poll(() => dialog.getByLabel('Deployment name').inputValue()).toBe('tiny-qwen');
      await dialog.getByLabel('Context size').fill('512');
      await dialog.getByRole('button', { name: 'Deploy' }).click();
      await page.waitForURL(new RegExp(`/w/${slug}/deployments/[\\w-]+$`));
      await expect
        .poll(() => page.getByTestId('deployment-status').getAttribute('data-status'), { timeout: 180_000 })
        .toBe('running');
      const logging = page.getByTestId('request-logging');
      const keep = logging.getByLabel('Keep requests and answers');
      expect(await keep.isChecked()).toBe(false);
      await keep.check();
      await logging.getByLabel('Retention (days)').fill('7');
      await logging.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Request log setting saved.').waitFor();
      const deployment = await prisma.deployment.findFirstOrThrow({ where: { workspaceId: workspace.id } });
      expect(deployment).toMatchObject({ logRequests: true, logRetentionDays: 7 });

      // Two chats in the playground; the first answer gets a thumbs up there.
      await page.getByRole('link', { name: 'Open in playground' }).click();
      await page.waitForURL(`**/w/${slug}/playground?model=*`);
      const message = page.getByLabel('Message', { exact: true });
      await page.getByLabel('Max tokens').fill('8');
      const answers = page.getByTestId('assistant-message');
      for (const [i, prompt] of ['What is the refund policy?', 'Where is my parcel?'].entries()) {
        await message.fill(prompt);
        await message.press('Enter');
        await expect.poll(() => answers.nth(i).getAttribute('data-streaming'), { timeout: 120_000 }).toBe('false');
        await page.getByTestId('answer-stats').nth(i).waitFor();
      }
      await page.getByTestId('answer-stats').first().getByRole('button', { name: 'Good answer' }).click();
      await page.getByText('Rating saved: this turn is in Logs').waitFor();
      expect(
        await page
          .getByTestId('answer-stats')
          .first()
          .getByRole('button', { name: 'Good answer' })
          .getAttribute('aria-pressed'),
      ).toBe('true');
      await screenshot(page, 'playground-thumbs');

      // The Logs page (in the navigation) lists both chats, newest first, with the first one rated.
      await page
        .getByRole('navigation', { name: 'Main navigation' })
        .getByRole('link', { name: 'Logs' })
        .first()
        .click();
      await page.waitForURL(`**/w/${slug}/logs`);
      const rows = page.getByTestId('log-row');
      await expect.poll(() => rows.count()).toBe(2);
      expect(await rows.nth(0).textContent()).toContain('Where is my parcel?');
      expect(await rows.nth(1).textContent()).toContain('What is the refund policy?');
      expect(await rows.nth(1).getByRole('button', { name: 'Good answer' }).getAttribute('aria-pressed')).toBe('true');
      // Search and filters narrow the list; clearing them brings both back.
      await page.getByLabel('Search messages and answers').fill('parcel');
      await expect.poll(() => rows.count()).toBe(1);
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await expect.poll(() => rows.count()).toBe(2);
      await page.getByRole('combobox', { name: 'Rating' }).selectOption('up');
      await expect.poll(() => rows.count()).toBe(1);
      await page.getByRole('combobox', { name: 'Rating' }).selectOption('any');
      await page.getByLabel('Latency from (ms)').fill('99999999');
      await page.getByText('No logs match these filters.').waitFor();
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByRole('combobox', { name: 'Deployment' }).selectOption({ label: 'tiny-qwen' });
      await expect.poll(() => rows.count()).toBe(2);

      // Thumbs down on the second chat from the list; its detail shows its messages and answer.
      await rows.nth(0).getByRole('button', { name: 'Bad answer' }).click();
      await expect
        .poll(() => rows.nth(0).getByRole('button', { name: 'Bad answer' }).getAttribute('aria-pressed'))
        .toBe('true');
      const parcelId = (await rows.nth(0).getAttribute('data-log-id')) ?? '';
      const parcel = await prisma.requestLogContent.findUniqueOrThrow({ where: { requestId: parcelId } });
      expect(parcel).toMatchObject({ rating: 'down', source: 'deployment' });
      await rows.nth(0).getByRole('button', { name: 'Open log' }).click();
      const detail = page.getByTestId('log-detail');
      await detail.waitFor();
      expect(await detail.getByTestId('log-message').last().textContent()).toContain('Where is my parcel?');
      expect(await detail.getByTestId('log-answer').textContent()).toBe(parcel.answer);
      await screenshot(page, 'log-detail');
      await page.keyboard.press('Escape');

      // Both into a new dataset, the bad answer corrected: a new draft version with those two rows.
      await page.getByLabel('Select every log on this page').check();
      await page.getByTestId('logs-selected').getByText('2 selected').waitFor();
      await page.getByRole('button', { name: 'Add to dataset' }).click();
      const add = page.getByRole('dialog');
      await add.getByLabel('Name of the new dataset').fill('support-feedback');
      const fixed = add.getByLabel('Answer to “Where is my parcel?”');
      // A textarea's value has its line breaks normalised to \n (HTML's API value); the answer may have \r\n.
      await expect.poll(() => fixed.inputValue()).toBe(parcel.answer.replace(/\r\n?/g, '\n'));
      await fixed.fill('Your parcel is on its way; track it from the Orders page.');
      await screenshot(page, 'add-to-dataset');
      await add.getByRole('button', { name: 'Create draft version' }).click();
      await page.waitForURL(new RegExp(`/w/${slug}/datasets/[\\w-]+$`));
      await page.getByTestId('dataset-name').getByText('support-feedback').waitFor();
      expect(await page.getByTestId('version-title').textContent()).toBe('v1');
      expect(await page.getByTestId('version-status').textContent()).toBe('Draft');

      const version = await prisma.datasetVersion.findFirstOrThrow({
        where: { workspaceId: workspace.id, dataset: { name: 'support-feedback' } },
      });
      expect(version).toMatchObject({ number: 1, status: 'draft', format: 'chatml', rowCount: 2, errorCount: 0 });
      const refund = await prisma.requestLogContent.findFirstOrThrow({
        where: { workspaceId: workspace.id, requestId: { not: parcelId } },
      });
      const stored = [];
      for await (const row of (await openRows(version.objectKey, workspace.id)) ?? []) stored.push(row);
      // The page's order (newest first): the parcel chat, corrected, then the refund chat as it was answered.
      expect(stored).toEqual([
        {
          messages: [
            // the playground sends the conversation so far: the first chat, then the new question
            { role: 'user', content: 'What is the refund policy?' },
            { role: 'assistant', content: refund.answer },
            { role: 'user', content: 'Where is my parcel?' },
            { role: 'assistant', content: 'Your parcel is on its way; track it from the Orders page.' },
          ],
        },
        {
          messages: [
            { role: 'user', content: 'What is the refund policy?' },
            { role: 'assistant', content: refund.answer },
          ],
        },
      ]);
      await screenshot(page, 'dataset-from-logs');
    } finally {
      await prisma.$disconnect();
      await context.close();
    }
  });
});
