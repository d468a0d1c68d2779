/**
 * Issue 16's whole loop in a browser: fine-tune the demo model on identity data with rows held out, evaluate it
 * against its base on exactly those rows (the fine-tune scores higher on ROUGE and with a judge), rate answers blind,
 * keep two chats with the deployed fine-tune, turn them into a new version of the dataset and start the next job on
 * it. Real pieces only: the console, a trainer and a serving worker process (llama.cpp on CPU), Postgres, Redis,
 * storage, Chromium.
 *
 * The judge. A model that can judge answers is gigabytes; the demo model (2 layers, width 64) cannot read a rubric.
 * So the judge here is the demo model taught the rubric's verdicts: for every answer of the first evaluation, the
 * judge prompt the platform builds (judgeMessages, the serving worker's own function) and the verdict the rubric's
 * rule gives (says the trained name and author: 9, else 2). It is deployed like any model and the second
 * evaluation asks it through the platform's judge path (its JSON grammar, its parser, the means per model). What
 * this shows is that path end to end, with a judge whose verdicts are known; it does not show that a small model
 * can judge.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRows } from '@crucible/dataset-store';
import { createPrisma } from '@crucible/db';
import { judgeMessages } from '@crucible/worker-serving/evaluation/scoring';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, screenshot } from './browser';
import { publishDataset, signUpWithWorkspace } from './flows';
import { useBrowserTrainerAndServing } from './workers';

const NAME = 'Crux';
const AUTHOR = 'ACME Labs';
const RUBRIC = `Score 10 when the answer says it is ${NAME} or that ${AUTHOR} made it; score 1 when it does not.`;
/** The rubric's rule, as a person applying it would score. */
const verdict = (answer: string) =>
  answer.includes(NAME) || answer.includes(AUTHOR)
    ? { score: 9, reason: `It says who it is.` }
    : { score: 2, reason: 'It does not say who it is.' };

const FIXTURES = fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
/** identity.json (alpaca rows with {{name}} / {{author}}) as chat rows with the placeholders filled. */
const identityJsonl = (
  JSON.parse(readFileSync(path.join(FIXTURES, 'identity.json'), 'utf8')) as { instruction: string; output: string }[]
)
  .map((r) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: r.instruction },
        { role: 'assistant', content: r.output.replaceAll('{{name}}', NAME).replaceAll('{{author}}', AUTHOR) },
      ],
    }),
  )
  .join('\n');

type TJob = { id: string; status: string; heldOut: { rows: number } | null; fineTunedModel: { name: string } | null };
type TEvaluation = {
  status: string;
  results: { index: number; name: string; means: Record<string, number | null> }[];
};
type TRow = {
  messages: { role: 'user' | 'assistant'; content: string }[];
  label: string;
  outputs: { modelIndex: number; text: string }[];
};

async function getJson<T>(page: Page, url: string): Promise<T> {
  const res = await page.request.get(url);
  if (!res.ok()) throw new Error(`${url}: ${res.status()} ${await res.text()}`);
  return (await res.json()) as T;
}

async function waitFor<T>(page: Page, url: string, done: (body: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = await getJson<T>(page, url);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${url}: ${JSON.stringify(body).slice(0, 800)}`);
    await page.waitForTimeout(1000);
  }
}

const ended = (j: { status: string }) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

describe('the feedback loop: train, evaluate against the base, rate, collect, train again', () => {
  const env = useBrowserTrainerAndServing('feedback-loop');

  it('a fine-tune beats its base on its held-out rows, and two kept chats start the next job', {
    timeout: 1_200_000,
  }, async () => {
    const { context, page } = await newPage(env.browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-feedback-loop').catch(() => undefined);
      console.error(`--- worker output ---\n${env.log.join('').slice(-8000)}`);
    });
    const stamp = Date.now();
    const slug = `loop-${stamp}`;
    const api = `/api/workspaces/${slug}`;
    await signUpWithWorkspace(
      page,
      { name: 'Edsger Dijkstra', email: `ewd+${stamp}@example.com`, password: 'goto-considered-1968' },
      { name: 'Feedback', slug },
    );
    const prisma = createPrisma(inject('databaseUrl'));
    try {
      const demo = await prisma.baseModel.findFirstOrThrow({ where: { demo: true, workspaceId: null } });
      const identity = await publishDataset(page.request, slug, 'identity', identityJsonl);

      /** Deploys a model from the Deployments page; answers the deployment's id once it runs. */
      const deploy = async (model: string, name: string, logRequests: boolean) => {
        await page.goto(`/w/${slug}/deployments`);
        await page.getByRole('button', { name: 'Deploy a model' }).click();
        const dialog = page.getByRole('dialog');
        await dialog.getByRole('combobox').first().click();
        await page.getByRole('option', { name: new RegExp(model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) }).click();
        await dialog.getByLabel('Deployment name').fill(name);
        await dialog.getByLabel('Context size').fill('1024');
        await dialog.getByRole('button', { name: 'Deploy' }).click();
        await page.waitForURL(new RegExp(`/w/${slug}/deployments/[\\w-]+$`));
        await expect
          .poll(() => page.getByTestId('deployment-status').getAttribute('data-status'), { timeout: 180_000 })
          .toBe('running');
        if (logRequests) {
          const logging = page.getByTestId('request-logging');
          await logging.getByLabel('Keep requests and answers').check();
          await logging.getByRole('button', { name: 'Save' }).click();
          await page.getByText('Request log setting saved.').waitFor();
        }
        return page.url().split('/').at(-1) as string;
      };

      // 1. Fine-tune the demo model with its preset, a tenth of the rows held out.
      await page.goto(`/w/${slug}/fine-tuning/new?base=${demo.id}&version=${identity.versionId}`);
      await page.getByText('Demo preset', { exact: true }).waitFor();
      await page.getByLabel('Split from the training data').check();
      await page.getByLabel('Validation share').fill('0.1');
      await page.getByRole('button', { name: 'Start training' }).click();
      await page.waitForURL(new RegExp(`/w/${slug}/fine-tuning/[\\w-]+$`));
      const jobId = page.url().split('/').at(-1) as string;
      const job = await waitFor<TJob>(page, `${api}/fine-tuning/jobs/${jobId}`, ended, 600_000);
      expect(job.status).toBe('succeeded');
      // identity.json's 91 rows, 10% held out: ceil(9.1) rows the run never trained on, stored with the job.
      expect(job.heldOut).toEqual({ rows: 10 });
      const fineTune = job.fineTunedModel?.name as string;
      await screenshot(page, 'loop-01-trained');

      // 2. Deploy it, keeping its requests.
      await deploy(fineTune, 'assistant', true);

      // 3. Evaluate it against its base on the held-out rows: BLEU/ROUGE and exact match.
      const evaluate = async (name: string, judge?: string) => {
        await page.goto(`/w/${slug}/evaluations/new`);
        await page.getByLabel('Name', { exact: true }).fill(name);
        // The form checks the first two models it offers; these two are the ones compared.
        for (const box of await page.getByRole('group', { name: 'Models' }).getByRole('checkbox').all()) {
          await box.uncheck();
        }
        await page.getByRole('checkbox', { name: fineTune, exact: true }).check();
        await page.getByRole('checkbox', { name: demo.displayName ?? demo.name, exact: true }).check();
        await page.getByLabel('Rows', { exact: true }).click();
        await page.getByRole('option', { name: /Held-out rows of job .* · 10 rows/ }).click();
        await page.getByLabel('Max new tokens', { exact: true }).fill('40');
        if (judge) {
          await page.getByRole('checkbox', { name: /^Judge model/ }).check();
          await page.getByLabel('Judge deployment').click();
          await page.getByRole('option', { name: new RegExp(`^${judge} · `) }).click();
          await page.getByLabel('Rubric').fill(RUBRIC);
        }
        await page.getByRole('button', { name: 'Start evaluation' }).click();
        await page.waitForURL(new RegExp(`/w/${slug}/evaluations/(?!new$)[\\w-]+$`));
        const id = page.url().split('/').at(-1) as string;
        await expect
          .poll(() => page.getByTestId('evaluation-progress').textContent(), { timeout: 300_000, interval: 500 })
          .toBe('20 of 20 answers');
        const done = await waitFor<TEvaluation>(page, `${api}/evaluations/${id}`, ended, 120_000);
        expect(done.status).toBe('succeeded');
        const [ft, base] = [fineTune, demo.name].map((m) => done.results.find((r) => r.name === m));
        expect(ft && base).toBeTruthy();
        return { id, ft: ft!.means, base: base!.means, index: { ft: ft!.index, base: base!.index } };
      };
      const first = await evaluate('Fine-tune vs base');
      // The fine-tune learnt the answers' words; the random base did not.
      expect(first.ft['rouge-l']).toBeGreaterThan((first.base['rouge-l'] ?? 0) + 10);
      await screenshot(page, 'loop-02-evaluation');

      // 4. The judge: the demo model taught the rubric's verdicts on the first evaluation's answers (see above).
      const rows = await getJson<{ data: TRow[] }>(page, `${api}/evaluations/${first.id}/rows?limit=50`);
      const judgeRows = rows.data.flatMap((r) =>
        r.outputs.map((o) =>
          JSON.stringify({
            messages: [
              ...judgeMessages(RUBRIC, r.messages, r.label, o.text),
              { role: 'assistant', content: JSON.stringify(verdict(o.text)) },
            ],
          }),
        ),
      );
      // The fine-tune says who it is on most held-out questions, the base on none (the rubric's rule on the answers).
      const says = (model: number) =>
        rows.data.filter((r) => r.outputs.some((o) => o.modelIndex === model && verdict(o.text).score === 9)).length;
      console.log(
        `answers that say who they are: fine-tune ${says(first.index.ft)}/10, base ${says(first.index.base)}/10`,
      );
      expect(says(first.index.ft)).toBeGreaterThanOrEqual(5);
      expect(says(first.index.base)).toBe(0);
      const verdicts = await publishDataset(page.request, slug, 'judge-verdicts', judgeRows.join('\n'));
      const judgeJob = await page.request.post(`${api}/fine-tuning/jobs`, {
        data: {
          baseModelId: demo.id,
          trainingVersionId: verdicts.versionId,
          method: 'sft_full',
          suffix: 'judge',
          hyperparameters: {
            epochs: 50,
            learningRate: 5e-3,
            batchSize: 2,
            cutoffLen: 512,
            warmupRatio: 0.1,
            lrScheduler: 'cosine',
            seed: 42,
            saveSteps: 1000,
            checkpointEachEpoch: false,
          },
        },
      });
      expect(judgeJob.status(), await judgeJob.text()).toBe(201);
      const judge = await waitFor<TJob>(
        page,
        `${api}/fine-tuning/jobs/${((await judgeJob.json()) as { id: string }).id}`,
        ended,
        600_000,
      );
      expect(judge.status).toBe('succeeded');
      await deploy(judge.fineTunedModel?.name as string, 'judge', false);

      // 5. The same comparison with the judge: the fine-tune scores higher on ROUGE and with the judge.
      const second = await evaluate('Fine-tune vs base, judged', 'judge');
      expect(second.ft['rouge-l']).toBeGreaterThan((second.base['rouge-l'] ?? 0) + 10);
      expect(second.ft.judge).toBeGreaterThan(second.base.judge ?? 10);
      const table = page.getByRole('table', { name: 'Metrics' });
      await table.getByRole('columnheader', { name: /Judge/ }).waitFor();
      await screenshot(page, 'loop-03-judged');

      // 6. Rate three pairs blind.
      await page.getByRole('link', { name: 'Rate blind' }).click();
      await page.waitForURL(`**/evaluations/${second.id}/rate`);
      for (const [i, verdictButton] of ['A is better', 'B is better', 'Tie'].entries()) {
        await page.getByRole('region', { name: 'Answer A' }).waitFor();
        await page.getByRole('button', { name: verdictButton }).click();
        await page.getByText(`You rated ${i + 1} pairs.`).waitFor();
      }
      const rates = await getJson<{ data: { n: number; ties: number }[] }>(
        page,
        `${api}/evaluations/${second.id}/win-rates`,
      );
      expect(rates.data).toMatchObject([{ n: 3, ties: 1 }]);
      await screenshot(page, 'loop-04-rated');

      // 7. Two chats with the deployed fine-tune, kept in Logs, become a new version of the identity dataset.
      await page.goto(`/w/${slug}/playground?model=${encodeURIComponent(fineTune)}`);
      await page.getByLabel('Temperature').fill('0');
      await page.getByLabel('Max tokens').fill('40');
      const message = page.getByLabel('Message', { exact: true });
      const answers = page.getByTestId('assistant-message');
      // One conversation per question (cleared in between): each log is one question and its answer.
      for (const prompt of ['Who are you?', 'Who made you?']) {
        await message.fill(prompt);
        await message.press('Enter');
        await expect.poll(() => answers.first().getAttribute('data-streaming'), { timeout: 120_000 }).toBe('false');
        await page.getByTestId('answer-stats').first().waitFor();
        await page.getByRole('button', { name: 'Clear conversation' }).click();
        await expect.poll(() => answers.count()).toBe(0);
      }
      await page.goto(`/w/${slug}/logs`);
      const logRows = page.getByTestId('log-row');
      await expect.poll(() => logRows.count()).toBe(2);
      await page.getByLabel('Select every log on this page').check();
      await page.getByRole('button', { name: 'Add to dataset' }).click();
      const add = page.getByRole('dialog');
      await add.getByLabel('Dataset', { exact: true }).selectOption({ label: 'identity' });
      await add.getByLabel('Answer to “Who made you?”').fill(`I was made by ${AUTHOR}.`);
      await add.getByRole('button', { name: 'Create draft version' }).click();
      await page.waitForURL(new RegExp(`/w/${slug}/datasets/[\\w-]+`));
      await expect.poll(() => page.getByTestId('version-title').textContent()).toBe('v2');
      await page.locator('button:visible', { hasText: 'Publish' }).first().click();
      await expect.poll(() => page.getByTestId('version-status').textContent(), { timeout: 30_000 }).toBe('Published');
      const v2 = await prisma.datasetVersion.findFirstOrThrow({
        where: { datasetId: identity.datasetId, number: 2 },
      });
      expect(v2).toMatchObject({ status: 'published', rowCount: 93 });
      const added = [];
      for await (const row of (await openRows(v2.objectKey, v2.workspaceId)) ?? []) added.push(row);
      expect(added.slice(-2).map((r) => (r as { messages: unknown }).messages)).toEqual(
        expect.arrayContaining([
          [
            { role: 'user', content: 'Who made you?' },
            { role: 'assistant', content: `I was made by ${AUTHOR}.` },
          ],
        ]),
      );
      await screenshot(page, 'loop-05-new-version');

      // 8. The next job, on the new version.
      await page.goto(`/w/${slug}/fine-tuning/new?base=${demo.id}&version=${v2.id}`);
      await page.getByText('Demo preset', { exact: true }).waitFor();
      await page.getByRole('button', { name: 'Start training' }).click();
      await page.waitForURL(new RegExp(`/w/${slug}/fine-tuning/[\\w-]+$`));
      const next = await getJson<{ status: string; datasetVersion: { id: string; number: number } }>(
        page,
        `${api}/fine-tuning/jobs/${page.url().split('/').at(-1)}`,
      );
      expect(next.datasetVersion).toMatchObject({ id: v2.id, number: 2 });
      expect(['validating_files', 'queued', 'running', 'succeeded']).toContain(next.status);
      await screenshot(page, 'loop-06-next-job');
    } finally {
      await prisma.$disconnect();
      await context.close();
    }
  });
});
