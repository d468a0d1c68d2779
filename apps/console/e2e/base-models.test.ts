import { execFileSync } from 'node:child_process';
import { cpSync, statSync } from 'node:fs';
import path from 'node:path';
import { initModel } from '@crucible/trainer';
import { describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, screenshot } from './browser';
import { chatRows, publishDataset, signUpWithWorkspace } from './flows';
import { useBrowserAndTrainer } from './workers';

// Issue 14, "Catalog and import in the console": a user adds a base model from a hub (the local hub-shaped server
// global-setup starts, which the housekeeping worker downloads from as it would from huggingface.co, CDN redirect
// and sha256 included), watches its progress bar fill, reads the model's page and fine-tunes it on a real trainer
// worker. The model is a tiny random Qwen2 with the real Qwen tokenizer that this test writes and publishes.

describe('base models: add from a hub, watch the download, fine-tune it', () => {
  const env = useBrowserAndTrainer('bases');

  it('adds acme/tiny-chat from the hub with a live progress bar, then fine-tunes it', {
    timeout: 540_000,
  }, async () => {
    const { context, page } = await newPage(env.browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-base-models').catch(() => undefined);
      console.error(`--- trainer output ---\n${env.log.join('')}`);
    });
    const stamp = Date.now();
    const slug = `bases-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Ada Lovelace', email: `bases+${stamp}@example.com`, password: 'analytical-engine-1843' },
      { name: 'Engines', slug },
    );
    // The hub's repo: a 2-layer Qwen2 (hidden 32) with the real vocabulary, about 27 MB with its tokenizer, which the
    // throttled hub serves in several seconds.
    const repo = `acme/tiny-chat-${stamp}`;
    const modelDir = path.join(env.scratch, 'tiny-chat');
    await initModel(
      { arch: 'qwen2', layers: 2, hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, seed: 7 },
      modelDir,
    );
    cpSync(modelDir, path.join(inject('hubRoot'), ...repo.split('/')), { recursive: true });

    // The catalog is there before anything is downloaded, with what each model needs.
    await page.goto(`/w/${slug}/models`);
    const catalog = page.getByRole('table', { name: 'Catalog' });
    await catalog.getByText('Qwen2.5 0.5B Instruct').waitFor();
    await catalog.getByRole('button', { name: 'Add Qwen2.5 0.5B Instruct' }).waitFor();

    // Add base model → Hugging Face: repository and name.
    await page.getByRole('button', { name: 'Add base model' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Repository').fill(repo);
    await dialog.getByLabel('Name', { exact: true }).fill('tiny-chat');
    await dialog.getByRole('button', { name: 'Add model' }).click();
    await dialog.waitFor({ state: 'detached' });

    // The row's progress bar fills by itself: seen part-way, then the model is ready.
    const bases = page.getByRole('table', { name: 'Base models' });
    const row = bases.getByRole('row').filter({ hasText: 'tiny-chat' });
    const progress = row.getByTestId('download-progress');
    await progress.waitFor({ timeout: 30_000 });
    const seen = new Set<number>();
    await expect
      .poll(
        async () => {
          if ((await progress.count()) === 0) return 'gone';
          const pct = Number((await progress.getAttribute('data-percent').catch(() => '')) || 'NaN');
          if (Number.isFinite(pct)) seen.add(pct);
          return (await progress.getAttribute('data-state').catch(() => null)) ?? 'gone';
        },
        { timeout: 120_000, interval: 200 },
      )
      .toBe('gone');
    expect(
      [...seen].some((p) => p > 0 && p < 100),
      `percentages seen: ${[...seen].join(', ')}`,
    ).toBe(true);
    await row.getByText('Hugging Face download').waitFor();
    await screenshot(page, 'base-model-added');

    // Its page: architecture, dtype, chat template, and what can train it.
    await row.getByRole('link', { name: 'tiny-chat' }).click();
    await page.waitForURL(`**/w/${slug}/models/base/*`);
    await expect.poll(() => page.getByTestId('base-arch').textContent()).toBe('Qwen2ForCausalLM');
    expect(await page.getByTestId('base-dtype').textContent()).toBe('float32');
    expect(await page.getByTestId('base-chat-template').textContent()).toContain('<|im_start|>');
    expect(await page.getByTestId('base-training').textContent()).toMatch(/LoRA.*needs.*Full fine-tuning.*needs/);
    await screenshot(page, 'base-model-page');

    // Fine-tune it: the form opens with this model chosen; a short full fine-tune on a published dataset.
    await publishDataset(page.request, slug, 'sums', chatRows(12));
    await page.getByRole('link', { name: 'Fine-tune' }).click();
    await page.waitForURL(`**/w/${slug}/fine-tuning/new?base=*`);
    await page.getByLabel('Base model').getByText('tiny-chat').waitFor();
    await page.getByRole('combobox', { name: 'Training data' }).click();
    await page.getByRole('option', { name: /sums · v1/ }).click();
    await page.getByLabel('Epochs', { exact: true }).fill('1');
    await page.getByLabel('Gradient accumulation', { exact: true }).fill('1');
    await page.getByTestId('estimate-time').waitFor();
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/fine-tuning/(?!new)[\\w-]+$`));
    await page.getByText('Succeeded').first().waitFor({ timeout: 300_000 });
    await page.getByRole('link', { name: 'View model' }).waitFor();
    await screenshot(page, 'base-model-fine-tuned');
    await context.close();
  });
  it('uploads a .tar of a model in parts, continues after a dropped connection and a reload, and adds it', {
    timeout: 300_000,
  }, async () => {
    const { context, page } = await newPage(env.browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-base-model-upload').catch(() => undefined);
    });
    const stamp = Date.now();
    const slug = `uploads-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Ada Lovelace', email: `uploads+${stamp}@example.com`, password: 'analytical-engine-1843' },
      { name: 'Uploads', slug },
    );
    // A tiny Qwen2 with the real tokenizer, tarred: about 5 MB, in parts of MODEL_UPLOAD_PART_BYTES (1 MiB here,
    // vitest.e2e.config.ts), so several parts.
    const modelDir = path.join(env.scratch, 'tiny-upload');
    await initModel({ arch: 'qwen2', layers: 1, hidden: 8, intermediate: 16, heads: 2, kvHeads: 1, seed: 5 }, modelDir);
    const archive = path.join(env.scratch, 'tiny-upload.tar');
    execFileSync('tar', ['-cf', archive, '-C', env.scratch, 'tiny-upload']);
    const parts = Math.ceil(statSync(archive).size / Number(process.env.MODEL_UPLOAD_PART_BYTES));
    expect(parts).toBeGreaterThanOrEqual(4);

    const openUploadTab = async () => {
      await page.getByRole('button', { name: 'Add base model' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('tab', { name: 'Upload archive' }).click();
      await dialog.locator('input[type=file]').setInputFiles(archive);
      return dialog;
    };
    const isPartPut = (r: { method(): string; url(): string }) =>
      r.method() === 'PUT' && new URL(r.url()).pathname === '/api/storage/upload';

    // The connection drops after two parts: every later part PUT fails, the dialog says the upload stopped.
    let allowed = 2;
    await page.route(
      (url) => url.pathname === '/api/storage/upload',
      (route) => (isPartPut(route.request()) && allowed-- <= 0 ? route.abort('connectionreset') : route.continue()),
    );
    await page.goto(`/w/${slug}/models`);
    let dialog = await openUploadTab();
    await dialog.getByRole('button', { name: 'Add model' }).click();
    await dialog.getByText(/The upload stopped \(part #\d+: no connection\)/).waitFor({ timeout: 60_000 });
    await page.unrouteAll();
    // What the server holds: the parts that got through (two, unless the client stopped one mid-way).
    const uploadId = await page.evaluate(
      () => Object.entries(window.localStorage).find(([k]) => k.startsWith('crucible:model-upload:'))?.[1],
    );
    const held = await (await page.request.get(`/api/workspaces/${slug}/base-models/uploads/${uploadId}`)).json();
    expect(held).toMatchObject({ status: 'uploading', partCount: parts });
    expect(held.parts.length).toBeGreaterThan(0);
    expect(held.parts.length).toBeLessThanOrEqual(2);

    // A reload forgets everything but the browser's note of the upload: choosing the same file finds it.
    await page.reload();
    dialog = await openUploadTab();
    await expect.poll(() => dialog.getByTestId('upload-resumable').textContent()).toMatch(/stopped at .* of /);
    const sent: string[] = [];
    page.on('request', (r) => {
      if (isPartPut(r)) sent.push(r.url());
    });
    await dialog.getByLabel('Name', { exact: true }).fill('tiny-upload');
    await dialog.getByRole('button', { name: 'Add model' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 120_000 });
    // Only the missing parts went again.
    expect(sent.length).toBe(parts - held.parts.length);

    // The worker unpacks the archive and the model becomes ready.
    const row = page.getByRole('table', { name: 'Base models' }).getByRole('row').filter({ hasText: 'tiny-upload' });
    await row.getByRole('link', { name: 'tiny-upload' }).click();
    await page.waitForURL(`**/w/${slug}/models/base/*`);
    await expect.poll(() => page.getByTestId('base-arch').textContent(), { timeout: 120_000 }).toBe('Qwen2ForCausalLM');
    await screenshot(page, 'base-model-uploaded');
    await context.close();
  });
});
