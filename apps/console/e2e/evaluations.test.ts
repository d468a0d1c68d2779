import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeVersion } from '@crucible/dataset-store';
import { createPrisma } from '@crucible/db';
import { getStorage, uploadDir } from '@crucible/storage';
import { tinyAdapter, tinyBase } from '@crucible/trainer/testing';
import { describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, screenshot } from './browser';
import { signUpWithWorkspace } from './flows';
import { useBrowserAndServing } from './workers';

// Issue 16: a browser creates an evaluation comparing two models (a tiny random Qwen2 base and a LoRA fine-tune of
// it), waits for its results on a real serving worker, opens the answers side by side, rates two pairs blind, and adds
// a row (a model's answer, corrected) to a dataset as a new draft version.
// Random weights answer gibberish: the test checks the page against what the API stored, not the words.

const ROWS = [
  { q: 'Who are you?', a: 'I am Crucible, a fine-tuned assistant.' },
  { q: 'Who made you?', a: 'The Crucible team made me.' },
  { q: 'What can you do?', a: 'I answer questions about this workspace.' },
];

describe('evaluations: compare two models, read the answers, rate blind, feed a row back into data', () => {
  const env = useBrowserAndServing('evaluations');

  it('creates an evaluation, follows it to its results, sorts by disagreement and rates two pairs', {
    timeout: 600_000,
  }, async () => {
    const { page } = await newPage(env.browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-evaluations').catch(() => undefined);
      console.error(`--- serving worker output ---\n${env.log.join('')}`);
    });
    /** A GET of the console's API from the page itself (its session cookie, its origin). */
    const getJson = (url: string) =>
      page.evaluate(async (u) => {
        const res = await fetch(u);
        if (!res.ok) throw new Error(`${u}: ${res.status} ${await res.text()}`);
        return res.json() as Promise<unknown>;
      }, url);
    const stamp = Date.now();
    const slug = `ev-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Karen Spärck Jones', email: `ksj+${stamp}@example.com`, password: 'inverse-document-1972' },
      { name: 'Retrieval', slug },
    );

    // Two models and a dataset version, stored as an import and a training run would store them (writeVersion reads
    // the database of DATABASE_URL: the browser tests' own).
    process.env.DATABASE_URL = inject('databaseUrl');
    const prisma = createPrisma(inject('databaseUrl'));
    let evalModels: string[] = [];
    try {
      const workspace = await prisma.workspace.findUniqueOrThrow({ where: { slug } });
      const baseDir = path.join(env.scratch, 'tiny');
      await tinyBase(baseDir);
      const base = await prisma.baseModel.create({
        data: { workspaceId: workspace.id, name: 'tiny-qwen', arch: 'qwen2', source: 'local' },
      });
      const objectKey = `workspaces/${workspace.id}/models/${base.id}`;
      await uploadDir(getStorage(), baseDir, objectKey);
      await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey } });
      const adapterDir = path.join(env.scratch, 'adapter');
      mkdirSync(adapterDir, { recursive: true });
      const adapterKey = `workspaces/${workspace.id}/jobs/e2e/output/adapter.gguf`;
      await getStorage().putObject(adapterKey, readFileSync(await tinyAdapter(baseDir, adapterDir, 77)));
      const ft = await prisma.fineTunedModel.create({
        data: {
          workspaceId: workspace.id,
          name: `ft:tiny-qwen:${slug}:id:e2e00001`,
          displayName: 'tiny-qwen identity',
          baseModelId: base.id,
          method: 'sft_lora',
          ggufAdapterObjectKey: adapterKey,
        },
      });
      evalModels = [ft.displayName ?? ft.name, base.name];
      const dataset = await prisma.dataset.create({ data: { workspaceId: workspace.id, name: 'held-out' } });
      const jsonl = ROWS.map((r) =>
        JSON.stringify({
          messages: [
            { role: 'user', content: r.q },
            { role: 'assistant', content: r.a },
          ],
        }),
      ).join('\n');
      await writeVersion(
        { source: jsonl, fileName: 'held-out.jsonl' },
        { workspaceId: workspace.id, datasetId: dataset.id, userId: null },
      );
    } finally {
      await prisma.$disconnect();
    }

    // The Evaluations page from the navigation: empty, then the form.
    await page.getByRole('link', { name: 'Evaluations' }).click();
    await page.waitForURL(`**/w/${slug}/evaluations`);
    await page.getByText('No evaluations yet').waitFor();
    await page.getByRole('link', { name: 'New evaluation' }).click();
    await page.waitForURL(`**/w/${slug}/evaluations/new`);
    await page.getByLabel('Name', { exact: true }).fill('Fine-tune vs base');
    // Both models are chosen (the first two offered); the rows come from the dataset version.
    for (const m of evalModels)
      expect(await page.getByRole('checkbox', { name: m, exact: true }).isChecked()).toBe(true);
    await page.getByLabel('Rows', { exact: true }).click();
    await page.getByRole('option', { name: /held-out · v1 · 3 rows/ }).click();
    await page.getByLabel('Max new tokens', { exact: true }).fill('12');
    await page.getByRole('button', { name: 'Start evaluation' }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/evaluations/(?!new$)[\\w-]+$`));
    const evaluationId = page.url().split('/').at(-1) as string;

    // Progress on the page, live, until every answer is scored.
    await expect
      .poll(() => page.getByTestId('evaluation-progress').textContent(), { timeout: 300_000, interval: 500 })
      .toBe('6 of 6 answers');
    await page.getByText('Succeeded').first().waitFor();
    await screenshot(page, 'evaluation-results');

    // The metric table: one row per model, BLEU/ROUGE and exact match columns.
    const table = page.getByRole('table', { name: 'Metrics' });
    for (const m of evalModels) await table.getByRole('cell', { name: m, exact: true }).waitFor();
    for (const col of ['BLEU-4', 'ROUGE-L', 'Exact match']) {
      await table.getByRole('columnheader', { name: col }).waitFor();
    }

    // The per-row view: each row's label and both models' answers side by side, as the API stored them.
    const stored = (await getJson(`/api/workspaces/${slug}/evaluations/${evaluationId}/rows?limit=10`)) as {
      data: { index: number; outputs: { modelIndex: number; text: string }[] }[];
    };
    const first = page.getByRole('region', { name: 'Row 1' });
    await first.getByText(ROWS[0].a).waitFor();
    const answers = first.locator('[data-model]');
    expect(await answers.count()).toBe(2);
    for (const [i, o] of stored.data[0].outputs.entries()) {
      expect((await answers.nth(i).locator('p').first().textContent())?.trim()).toBe(o.text.trim());
    }
    // Sorting by disagreement keeps every row, in the order the API gives for that sort.
    await page.getByLabel('Order').click();
    await page.getByRole('option', { name: 'Most disagreement first' }).click();
    const sorted = (await getJson(
      `/api/workspaces/${slug}/evaluations/${evaluationId}/rows?sort=disagreement&limit=10`,
    )) as { data: { index: number }[] };
    await expect
      .poll(async () =>
        page
          .getByRole('region', { name: /^Row \d+$/ })
          .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))),
      )
      .toEqual(sorted.data.map((r) => `Row ${r.index + 1}`));
    // Exports are links to the CSV and JSONL downloads.
    expect(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href')).toContain('format=csv');

    // Blind rating: two pairs, identities hidden, then the win-rate table counts them.
    await page.getByRole('link', { name: 'Rate blind' }).click();
    await page.waitForURL(`**/evaluations/${evaluationId}/rate`);
    await page.getByRole('region', { name: 'Answer A' }).waitFor();
    const pairArea = page.getByRole('region', { name: 'Answer A' }).locator('..');
    for (const m of evalModels) expect(await pairArea.getByText(m).count()).toBe(0);
    await page.getByRole('button', { name: 'A is better' }).click();
    await page.getByText('You rated 1 pairs.').waitFor();
    await page.getByRole('button', { name: 'Tie' }).click();
    await page.getByText('You rated 2 pairs.').waitFor();
    const rates = page.getByRole('table', { name: 'Win rates' });
    await rates.getByRole('cell', { name: '2', exact: true }).waitFor();
    await screenshot(page, 'evaluation-blind-rating');
    const winRates = (await getJson(`/api/workspaces/${slug}/evaluations/${evaluationId}/win-rates`)) as {
      data: { n: number; ties: number }[];
    };
    expect(winRates.data).toMatchObject([{ n: 2, ties: 1 }]);

    // Feedback into data: row 2 with the base model's answer, corrected, into the held-out dataset — a new draft
    // version holding v1's rows and then this one, read back through the API.
    await page.goto(new URL(`/w/${slug}/evaluations/${evaluationId}`, page.url()).toString());
    await page.getByRole('checkbox', { name: 'Select row 2' }).check();
    await page.getByTestId('evaluation-rows-selected').getByText('1 selected').waitFor();
    await page.getByRole('button', { name: 'Add to dataset' }).click();
    const add = page.getByRole('dialog');
    await add.getByLabel('Dataset', { exact: true }).selectOption({ label: 'held-out' });
    await add.getByLabel('Row 2: answer to keep').selectOption({ label: `Answer of ${evalModels[1]}` });
    const answer = add.getByLabel('Row 2: answer', { exact: true });
    const baseAnswer = stored.data[1].outputs.find((o) => o.modelIndex === 1)?.text;
    // A textarea's value has its line breaks normalised to \n (HTML's API value); the answer may have \r\n.
    await expect.poll(() => answer.inputValue()).toBe(baseAnswer?.replace(/\r\n?/g, '\n'));
    await answer.fill('Karen Spärck Jones and the Crucible team made me.');
    await screenshot(page, 'evaluation-add-to-dataset');
    await add.getByRole('button', { name: 'Create draft version' }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/datasets/[\\w-]+$`));
    const datasets = (await getJson(`/api/workspaces/${slug}/datasets`)) as { data: { id: string; name: string }[] };
    const heldOut = datasets.data.find((d) => d.name === 'held-out');
    const versions = (await getJson(`/api/workspaces/${slug}/datasets/${heldOut?.id}/versions`)) as {
      data: { id: string; number: number; status: string; rowCount: number }[];
    };
    const v2 = versions.data.find((v) => v.number === 2);
    expect(v2).toMatchObject({ status: 'draft', rowCount: 4 });
    const rows = (await getJson(`/api/workspaces/${slug}/datasets/${heldOut?.id}/versions/${v2?.id}/rows`)) as {
      data: { row: unknown }[];
    };
    expect(rows.data.at(-1)?.row).toEqual({
      messages: [
        { role: 'user', content: ROWS[1].q },
        { role: 'assistant', content: 'Karen Spärck Jones and the Crucible team made me.' },
      ],
    });
  });
});
