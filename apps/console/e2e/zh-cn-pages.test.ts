import { chargeInference, chargeTraining } from '@crucible/billing';
import { appendUsage, createPrisma } from '@crucible/db';
import { JOB_EVENT_CODES, JOB_EVENT_EXAMPLES, jobEvent } from '@crucible/jobs/events';
import { defaultHyperparameters } from '@crucible/jobs/fine-tuning';
import type { APIRequestContext, Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot, waitForShell } from './browser';
import { englishWords } from './english';
import { signUpWithWorkspace } from './flows';

// Issue 13, item 11: no English reaches a Chinese reader. A zh-CN user visits every page of a workspace that has
// a dataset with invalid rows, a finished job with one event of every code (and a failed one), a fine-tuned model,
// a running deployment and a month of billing; on each page the visible text (document.body.innerText, less
// <code>/<pre>/<kbd>) must hold no English word outside the allow-list of e2e/english.ts — whatever produced it:
// JSX, job events stored by the worker, API errors, dataset validation, hyper-parameter names, units, durations.
// `trainer_log` (a training-core line not mapped to a code yet) is the one event left out: it shows the core's own
// English line by design, and the worker's test fails when a real run produces one.

type TOk = Awaited<ReturnType<APIRequestContext['post']>>;

async function ok<T>(response: TOk, what: string): Promise<T> {
  if (!response.ok()) throw new Error(`${what}: ${response.status()} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Creates a dataset and imports `jsonl` as its first version (through the REST API the upload page uses). */
async function importDataset(request: APIRequestContext, slug: string, name: string, jsonl: string) {
  const base = `/api/workspaces/${slug}/datasets`;
  const dataset = await ok<{ id: string }>(await request.post(base, { data: { name } }), 'create dataset');
  const start = await ok<{
    uploadId: string;
    upload: { url: string; method: string; headers?: Record<string, string> };
  }>(
    await request.post(`${base}/${dataset.id}/uploads`, {
      data: { fileName: 'rows.jsonl', size: Buffer.byteLength(jsonl) },
    }),
    'start upload',
  );
  const sent = await request.fetch(start.upload.url, {
    method: start.upload.method,
    headers: start.upload.headers,
    data: Buffer.from(jsonl),
  });
  if (sent.status() >= 300) throw new Error(`upload: ${sent.status()} ${await sent.text()}`);
  const imported = await ok<{ version: { id: string } }>(
    await request.post(`${base}/${dataset.id}/imports`, { data: { uploadId: start.uploadId, wait: true } }),
    'import',
  );
  return { datasetId: dataset.id, versionId: imported.version.id, base };
}

const chat = (q: string, a: string) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: q },
      { role: 'assistant', content: a },
    ],
  });

/** The page's visible text without code blocks, once it has stopped changing (lists load after hydration). */
async function visibleText(page: Page): Promise<string> {
  await waitForShell(page);
  let last = '';
  for (let i = 0; i < 20; i++) {
    await page.waitForTimeout(500);
    const text = await page.evaluate(() => {
      const hidden = [...document.querySelectorAll<HTMLElement>('code, pre, kbd')];
      const before = hidden.map((el) => el.style.display);
      for (const el of hidden) el.style.display = 'none';
      // biome-ignore lint/performance/useDomNodeTextContent: the visible text is the point (hidden nodes excluded)
      const out = document.body.innerText;
      hidden.forEach((el, j) => {
        el.style.display = before[j] ?? '';
      });
      return out;
    });
    const loading = /加载中|Loading/.test(text) || (await page.locator('[data-slot="skeleton"]').count()) > 0;
    if (text === last && !loading) return text;
    last = text;
  }
  return last;
}

describe('zh-CN: no English on any page of a populated workspace', () => {
  let browser: Browser;
  const prisma = createPrisma(inject('databaseUrl'), { max: 2 });
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await prisma.$disconnect();
  });

  it('every page, with events of every code, validation problems, billing units and uptimes', {
    timeout: 300_000,
  }, async () => {
    const { context, page } = await newPage(browser);
    let current = 'sign-up';
    onTestFailed(async () => {
      await screenshot(page, `failure-zh-cn-${current.replace(/\W+/g, '-')}`).catch(() => undefined);
    });
    const stamp = Date.now();
    const slug = `zh-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: '王小明', email: `wang+${stamp}@example.com`, password: 'analytical-engine-1843' },
      { name: '研究院', slug },
    );
    await ok(await page.request.patch('/api/me', { data: { locale: 'zh-CN' } }), 'set locale');

    // Datasets: a clean published one, and one whose rows have an unknown role and a duplicate.
    const rows = Array.from({ length: 6 }, (_, i) => chat(`${i} 加 ${i + 1} 等于几？`, `等于 ${2 * i + 1}。`));
    const good = await importDataset(page.request, slug, '算术问答', `${rows.join('\n')}\n`);
    await ok(await page.request.post(`${good.base}/${good.datasetId}/versions/${good.versionId}/publish`), 'publish');
    const invalid = JSON.stringify({
      messages: [
        { role: '机器人', content: '你好' },
        { role: 'assistant', content: '你好！' },
      ],
    });
    // a row that is not an object and one without a list of messages: their details are sentences, not just data
    const lines = [rows[0], rows[0], invalid, JSON.stringify(['不是对象']), JSON.stringify({ messages: '你好' })];
    const bad = await importDataset(page.request, slug, '待修正数据', `${lines.join('\n')}\n`);

    const ws = await prisma.workspace.findUniqueOrThrow({ where: { slug } });
    const user = await prisma.user.findFirstOrThrow({ where: { email: `wang+${stamp}@example.com` } });
    const baseModel = await prisma.baseModel.create({
      data: { workspaceId: ws.id, name: 'qwen2-tiny', arch: 'qwen2', sourceRef: 'Qwen/Qwen2.5-0.5B-Instruct' },
    });
    const hp = { ...defaultHyperparameters('sft_lora'), epochs: 3, requestedEpochs: 'auto' };
    const finishedAt = new Date();
    const job = await prisma.trainingJob.create({
      data: {
        workspaceId: ws.id,
        baseModelId: baseModel.id,
        trainingFileId: good.versionId,
        method: 'sft_lora',
        hyperparameters: hp,
        status: 'succeeded',
        currentStep: 12,
        totalSteps: 12,
        trainedTokens: BigInt(12_345),
        workerId: 'trainer-1',
        startedAt: new Date(finishedAt.getTime() - 95_000),
        finishedAt,
        createdById: user.id,
      },
    });
    // one event of every code, as the writers store them (code + params + the English message)
    const codes = JOB_EVENT_CODES.filter((c) => c !== 'trainer_log');
    for (const [i, code] of codes.entries()) {
      const e = jobEvent(code as 'worker_claimed', JOB_EVENT_EXAMPLES[code] as { worker: string; attempt: number });
      await prisma.jobEvent.create({
        data: {
          workspaceId: ws.id,
          jobId: job.id,
          level: code === 'job_failed' ? 'error' : code.endsWith('_retry') ? 'warn' : 'info',
          ...e,
          createdAt: new Date(finishedAt.getTime() - 60_000 + i * 1000),
        },
      });
    }
    for (let step = 1; step <= 12; step++) {
      await prisma.trainingMetric.create({
        data: {
          workspaceId: ws.id,
          jobId: job.id,
          step,
          epoch: step / 4,
          loss: 2 / step,
          learningRate: 5e-5,
          tokensPerSecond: 900,
          tokensSeen: BigInt(step * 1000),
        },
      });
    }
    await prisma.checkpoint.create({
      data: { workspaceId: ws.id, jobId: job.id, step: 12, epoch: 3, objectKey: `workspaces/${ws.id}/ckpt-12` },
    });
    const failed = await prisma.trainingJob.create({
      data: {
        workspaceId: ws.id,
        baseModelId: baseModel.id,
        trainingFileId: good.versionId,
        hyperparameters: hp,
        status: 'failed',
        errorCode: 'out_of_memory',
        errorMessage: 'The worker ran out of memory while training (heap). Lower batchSize or cutoffLen, or use LoRA.',
        errorParam: 'hyperparameters',
        finishedAt,
        createdById: user.id,
      },
    });
    await prisma.jobEvent.create({
      data: {
        workspaceId: ws.id,
        jobId: failed.id,
        level: 'error',
        ...jobEvent('job_failed', { errorCode: 'out_of_memory', message: 'The worker ran out of memory.' }),
      },
    });
    const model = await prisma.fineTunedModel.create({
      data: {
        workspaceId: ws.id,
        name: `ft:qwen2-tiny:${slug}::${job.id.slice(-8)}`,
        baseModelId: baseModel.id,
        jobId: job.id,
        datasetVersionId: good.versionId,
        method: 'sft_lora',
        hyperparameters: hp,
        trainLoss: 0.1234,
        createdById: user.id,
      },
    });
    const deployment = await prisma.deployment.create({
      data: {
        workspaceId: ws.id,
        name: `dep-${stamp}`,
        fineTunedModelId: model.id,
        status: 'running',
        replicas: 1,
        contextSize: 2048,
        startedAt: new Date(Date.now() - 3 * 3600_000 - 12 * 60_000),
        createdById: user.id,
      },
    });
    // billing: every unit (1K tokens, hour, GB-month) at the seeded "Default" prices
    await chargeTraining(
      {
        workspaceId: ws.id,
        jobId: job.id,
        baseModel: 'qwen2-tiny',
        method: 'sft_lora',
        tokens: 12_345,
        idempotencyKey: `training:${job.id}:0`,
      },
      prisma,
    );
    await chargeInference(
      { workspaceId: ws.id, requestId: `req-${stamp}`, model: model.name, inputTokens: 2000, outputTokens: 500 },
      prisma,
    );
    for (const [meter, category, unit, key] of [
      ['deployment_hours', 'deployment', 'hour', `deployment:${deployment.id}:h0`],
      ['storage_gb_months', 'storage', 'GB-month', `storage:${ws.id}:d0`],
    ] as const) {
      await appendUsage(
        {
          workspaceId: ws.id,
          category,
          meter,
          quantity: '1.5',
          unit,
          unitPrice: '0.01',
          amount: '0.015',
          currency: 'USD',
          idempotencyKey: key,
        },
        prisma,
      );
    }

    const pages: [string, string, (() => Promise<unknown>)?][] = [
      ['start', `/w/${slug}/start`],
      ['datasets', `/w/${slug}/datasets`],
      ['datasets-new', `/w/${slug}/datasets/new`],
      ['dataset-invalid', `/w/${slug}/datasets/${bad.datasetId}`, () => page.getByTestId('problems').waitFor()],
      ['dataset-published', `/w/${slug}/datasets/${good.datasetId}`],
      ['fine-tuning', `/w/${slug}/fine-tuning`],
      ['fine-tuning-new', `/w/${slug}/fine-tuning/new`],
      ['job', `/w/${slug}/fine-tuning/${job.id}`, () => page.getByText('训练完成：共 12 步').waitFor()],
      ['job-failed', `/w/${slug}/fine-tuning/${failed.id}`, () => page.getByText('任务失败：').first().waitFor()],
      ['models', `/w/${slug}/models`],
      ['model', `/w/${slug}/models/${model.id}`],
      ['base-model', `/w/${slug}/models/base/${baseModel.id}`],
      [
        'deployments',
        `/w/${slug}/deployments`,
        () =>
          page
            .getByText(/3小时\s?12分钟/)
            .first()
            .waitFor(),
      ],
      ['deployment', `/w/${slug}/deployments/${deployment.id}`],
      ['playground', `/w/${slug}/playground`],
      ['billing', `/w/${slug}/billing`, () => page.getByText('千 Token').first().waitFor()],
      ['settings', `/w/${slug}/settings`],
    ];
    const leaks: string[] = [];
    for (const [name, url, ready] of pages) {
      current = name;
      await page.goto(url);
      if (ready) await ready();
      const text = await visibleText(page);
      expect(text, `${name} rendered in Chinese`).toMatch(/[\u4e00-\u9fff]/);
      leaks.push(...englishWords(text).map((w) => `${name}: ${w}`));
      await screenshot(page, `zh-cn-${name}`);
    }

    // The billing page's price lists (a tab): the seeded "Default" list and its units
    current = 'billing-prices';
    await page.goto(`/w/${slug}/billing`);
    await waitForShell(page);
    await page.getByRole('tab', { name: '价格表' }).click();
    await page.getByTestId('billing-prices').getByText('默认').first().waitFor();
    leaks.push(...englishWords(await visibleText(page)).map((w) => `billing/prices: ${w}`));
    await screenshot(page, 'zh-cn-billing-prices');

    // Settings tabs, and a validation message of a form (the schemas' English sentences, given in Chinese)
    current = 'settings-tabs';
    await page.goto(`/w/${slug}/settings`);
    await waitForShell(page);
    for (const tab of ['成员', 'API 密钥']) {
      await page.getByRole('tab', { name: tab }).click();
      leaks.push(...englishWords(await visibleText(page)).map((w) => `settings/${tab}: ${w}`));
    }
    current = 'fine-tuning-validation';
    await page.goto(`/w/${slug}/fine-tuning/new`);
    await waitForShell(page);
    await page.getByLabel('模型名称后缀').fill('带 空格 的后缀');
    await page.getByRole('button', { name: '开始训练' }).click();
    await page.getByRole('alert').first().waitFor();
    leaks.push(...englishWords(await visibleText(page)).map((w) => `fine-tuning-validation: ${w}`));

    expect(leaks, `English on zh-CN pages:\n${leaks.join('\n')}`).toEqual([]);
    await context.close();
  });
});
