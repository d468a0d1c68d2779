import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPrisma } from '@crucible/db';
import { getStorage, uploadDir } from '@crucible/storage';
import { tinyAdapter, tinyBase } from '@crucible/trainer/testing';
import { describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, screenshot } from './browser';
import { signUpWithWorkspace } from './flows';
import { useBrowserAndServing } from './workers';

// Issue 6, "Models": a user opens a fine-tuned model from the models page, reads its lineage, downloads its PEFT
// adapter (a tar GNU tar lists), builds merged weights on a real serving worker and downloads them, renames the
// model, follows the lineage to the base model, and deletes the fine-tuned model. Real console, Postgres, Redis,
// storage and serving worker; the model is a tiny random Qwen2 with a hand-made LoRA adapter.

describe('models: lineage, downloads, exports, edit and delete', () => {
  const env = useBrowserAndServing('models');

  it('shows a model, downloads its adapter, builds merged weights, renames and deletes it', {
    timeout: 600_000,
  }, async () => {
    const { context, page } = await newPage(env.browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-models').catch(() => undefined);
      console.error(`--- serving worker output ---\n${env.log.join('')}`);
    });
    const stamp = Date.now();
    const slug = `models-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Ada Lovelace', email: `ada+${stamp}@example.com`, password: 'analytical-engine-1843' },
      { name: 'Engines', slug },
    );

    // A base model and a fine-tuned LoRA model on it, stored as a training job leaves them.
    const baseDir = path.join(env.scratch, 'base');
    const adapterDir = path.join(env.scratch, 'adapter');
    await tinyBase(baseDir);
    await tinyAdapter(baseDir, adapterDir, 21);
    writeFileSync(path.join(adapterDir, 'trainer_log.jsonl'), '{"current_steps": 1, "loss": 1.25}\n');
    const prisma = createPrisma(inject('databaseUrl'));
    let ftName = '';
    try {
      const ws = await prisma.workspace.findUniqueOrThrow({ where: { slug } });
      const base = await prisma.baseModel.create({
        data: { workspaceId: ws.id, name: 'tiny-qwen', arch: 'qwen2', sourceRef: 'Qwen/Qwen2.5-0.5B-Instruct' },
      });
      const baseKey = `workspaces/${ws.id}/models/${base.id}`;
      await uploadDir(getStorage(), baseDir, baseKey);
      await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: baseKey } });
      const dataset = await prisma.dataset.create({ data: { workspaceId: ws.id, name: 'identity' } });
      const version = await prisma.datasetVersion.create({
        data: {
          workspaceId: ws.id,
          datasetId: dataset.id,
          number: 2,
          format: 'chatml',
          objectKey: 'k',
          sha256: '0'.repeat(64),
        },
      });
      const job = await prisma.trainingJob.create({
        data: {
          workspaceId: ws.id,
          baseModelId: base.id,
          trainingFileId: version.id,
          status: 'succeeded',
          finishedAt: new Date(),
          hyperparameters: { epochs: 3, loraRank: 4 },
        },
      });
      const outKey = `workspaces/${ws.id}/jobs/${job.id}/output`;
      await uploadDir(getStorage(), adapterDir, outKey);
      ftName = `ft:tiny-qwen:${slug}:identity:${job.id.slice(-8)}`;
      await prisma.fineTunedModel.create({
        data: {
          workspaceId: ws.id,
          name: ftName,
          baseModelId: base.id,
          jobId: job.id,
          datasetVersionId: version.id,
          method: 'sft_lora',
          hyperparameters: { epochs: 3, loraRank: 4 },
          trainLoss: 0.8125,
          adapterObjectKey: outKey,
          ggufAdapterObjectKey: `${outKey}/adapter.gguf`,
        },
      });
    } finally {
      await prisma.$disconnect();
    }

    // From the models table to the model's page.
    await page.goto(`/w/${slug}/models`);
    await page.getByRole('table', { name: 'Fine-tuned models' }).getByRole('link', { name: ftName }).click();
    await page.getByTestId('model-title').waitFor();
    expect(await page.getByTestId('model-title').textContent()).toBe(ftName);
    expect(await page.getByTestId('lineage-base').textContent()).toBe('tiny-qwen');
    expect(await page.getByTestId('lineage-dataset').textContent()).toBe('identity · v2');
    expect(await page.getByTestId('lineage-train-loss').textContent()).toBe('0.8125');
    expect(await page.getByTestId('snippet-transformers').textContent()).toContain(
      'AutoModelForCausalLM.from_pretrained("Qwen/Qwen2.5-0.5B-Instruct")',
    );
    await screenshot(page, 'model-detail');

    // The PEFT adapter downloads as one tar holding the adapter and its card.
    const adapterRow = page.getByTestId('artifact-adapter');
    const [adapterDownload] = await Promise.all([
      page.waitForEvent('download'),
      adapterRow.getByRole('link', { name: 'Download PEFT adapter' }).click(),
    ]);
    const adapterTar = path.join(env.scratch, 'adapter.tar');
    await adapterDownload.saveAs(adapterTar);
    expect(adapterDownload.suggestedFilename()).toMatch(/-adapter\.tar$/);
    const listing = execFileSync('tar', ['-tf', adapterTar]).toString().split('\n').filter(Boolean).sort();
    expect(listing).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);

    // The GGUF adapter is one file, straight from storage.
    const [ggufDownload] = await Promise.all([
      page.waitForEvent('download'),
      page
        .getByTestId('artifact-gguf-adapter')
        .getByRole('link', { name: /^Download/ })
        .click(),
    ]);
    const ggufFile = path.join(env.scratch, 'adapter.gguf');
    await ggufDownload.saveAs(ggufFile);
    expect(readFileSync(ggufFile).equals(readFileSync(path.join(adapterDir, 'adapter.gguf')))).toBe(true);

    // Merged weights are built on request by the housekeeping worker (global-setup starts one); the row turns into a download by itself.
    const merged = page.getByTestId('artifact-merged-BF16');
    expect(await merged.getAttribute('data-state')).toBe('missing');
    await merged.getByRole('button', { name: 'Build' }).click();
    await expect.poll(() => merged.getAttribute('data-state'), { timeout: 180_000, interval: 500 }).toBe('ready');
    const [mergedDownload] = await Promise.all([
      page.waitForEvent('download'),
      merged.getByRole('link', { name: /^Download/ }).click(),
    ]);
    const mergedTar = path.join(env.scratch, 'merged.tar');
    await mergedDownload.saveAs(mergedTar);
    const mergedFiles = execFileSync('tar', ['-tf', mergedTar]).toString();
    expect(mergedFiles).toContain('model.safetensors');
    expect(mergedFiles).toContain('config.json');
    await screenshot(page, 'model-merged-built');

    // Rename: the title and the card follow.
    await page.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Display name').fill('Identity bot');
    await dialog.getByLabel('Description').fill('Says who it is.');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.getByTestId('model-title').textContent()).toBe('Identity bot');
    expect(await page.getByTestId('model-card').textContent()).toContain('# Identity bot');

    // The lineage leads to the base model, which knows what was built on it.
    await page.getByTestId('lineage-base').getByRole('link').click();
    await page.waitForURL(`**/w/${slug}/models/base/*`);
    await expect.poll(() => page.getByTestId('base-usage').textContent()).toBe('1 fine-tuned models, 1 jobs');
    await page.goBack();

    // Delete it: back on the models page, it is gone.
    await page.getByTestId('model-title').waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(`**/w/${slug}/models`);
    // it was the only fine-tuned model: the empty state is back
    await page.getByText('No models yet').waitFor();
    expect(await page.getByRole('link', { name: ftName }).count()).toBe(0);
    await context.close();
  });
});
