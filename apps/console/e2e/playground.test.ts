import path from 'node:path';
import { describe, expect, inject, it, onTestFailed } from 'vitest';
import { parseSse } from '../components/playground/stream';
import { newPage, screenshot } from './browser';
import { signUpWithWorkspace } from './flows';
import { addTinyBaseModel, useBrowserAndServing } from './workers';

// Issue 6, "Tests": a browser deploys a model and chats with it in the playground, seeing streamed text. Real
// pieces only: the console (global-setup), a serving worker process (llama.cpp through node-llama-cpp, CPU) on the
// same database, Redis and storage, and a tiny random Qwen2 registered as the workspace's base model. Random
// weights answer gibberish, so the test checks the wire and the page against each other, not the words.

type TWireChunk = {
  choices?: Array<{ delta?: { content?: string | null } }>;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
};

/** What the gateway sent: the SSE payloads, the text they add up to, and the usage chunk. */
function readWire(body: string) {
  const { data } = parseSse(`${body}\n\n`);
  const chunks = data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as TWireChunk);
  const text = chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
  const usage = chunks.find((c) => c.usage)?.usage ?? null;
  return { payloads: data, chunks, text, usage };
}

type TTapWindow = { __sse: string[] };

/**
 * Runs in the page before its scripts: keeps a copy of every /v1/chat/completions response body. `clone()` tees
 * the stream, so the app still reads it chunk by chunk while the copy fills.
 */
function tapChatStreams() {
  const w = window as unknown as TTapWindow;
  w.__sse = [];
  const original = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const response = await original(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.endsWith('/v1/chat/completions'))
      void response
        .clone()
        .text()
        .then((body) => w.__sse.push(body));
    return response;
  };
}

describe('playground: deploy a model and chat with it', () => {
  const env = useBrowserAndServing('playground');

  it('deploys from the deployments page, then chats with streamed answers, alone and side by side', {
    timeout: 600_000,
  }, async () => {
    const { context, page } = await newPage(env.browser);
    await context.addInitScript(tapChatStreams);
    onTestFailed(async () => {
      await screenshot(page, 'failure-playground').catch(() => undefined);
      console.error(`--- serving worker output ---\n${env.log.join('')}`);
    });
    const stamp = Date.now();
    const slug = `pg-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Grace Hopper', email: `grace+${stamp}@example.com`, password: 'compiler-a0-1952' },
      { name: 'Compilers', slug },
    );

    // The base model: a tiny random Qwen2 in the workspace's models prefix, the way `crucible models import` stores it.
    await addTinyBaseModel(slug, path.join(env.scratch, 'tiny-qwen'), 11);

    // The models page offers Deploy on the model's row, with that model chosen in the dialog.
    await page.goto(`/w/${slug}/models`);
    await page
      .getByRole('table', { name: 'Base models' })
      .getByRole('row', { name: /tiny-qwen/ })
      .getByRole('button', { name: 'Deploy' })
      .click();
    await expect.poll(() => page.getByRole('dialog').getByLabel('Deployment name').inputValue()).toBe('tiny-qwen');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    // Empty list, then the Deploy dialog: the model is preselected and names the deployment.
    await page.goto(`/w/${slug}/deployments`);
    await page.getByText('No deployments yet').waitFor();
    await page.getByRole('button', { name: 'Deploy a model' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('tiny-qwen').first().waitFor();
    await expect.poll(() => dialog.getByLabel('Deployment name').inputValue()).toBe('tiny-qwen');
    // A bad value is caught beside its field before anything is sent.
    await dialog.getByLabel('Replicas').fill('0');
    await dialog.getByRole('button', { name: 'Deploy' }).click();
    await expect.poll(() => dialog.getByLabel('Replicas').getAttribute('aria-invalid')).toBe('true');
    await dialog.getByLabel('Replicas').fill('1');
    await dialog.getByLabel('Context size').fill('512');
    await dialog.getByRole('button', { name: 'Deploy' }).click();
    await page.waitForURL(new RegExp(`/w/${slug}/deployments/[\\w-]+$`));
    const deploymentUrl = page.url();

    // deploying -> running, seen by the page's own polling.
    await expect
      .poll(() => page.getByTestId('deployment-status').getAttribute('data-status'), {
        timeout: 180_000,
        interval: 500,
      })
      .toBe('running');
    // Its replica, on the serving worker, health-checked.
    await expect.poll(() => page.getByTestId('replicas-ready').textContent()).toBe('Replicas: 1 of 1 ready');
    expect(await page.getByTestId('replica-0').getAttribute('data-status')).toBe('ready');
    await screenshot(page, 'deployment-running');

    // The list shows it running.
    await page.goto(`/w/${slug}/deployments`);
    const row = page.getByRole('row', { name: /tiny-qwen/ });
    await row.getByText('Running').waitFor();

    // Open it in the playground: the deployed model is chosen.
    await page.goto(deploymentUrl);
    await page.getByRole('link', { name: 'Open in playground' }).click();
    await page.waitForURL(`**/w/${slug}/playground?model=*`);
    const message = page.getByLabel('Message', { exact: true });
    await message.waitFor();

    // Shift+Enter is a new line, not a send.
    await message.fill('Say hello');
    await message.press('Shift+Enter');
    await message.pressSequentially('in one line');
    expect(await message.inputValue()).toBe('Say hello\nin one line');
    expect(await page.getByTestId('user-message').count()).toBe(0);

    await page.getByLabel('Max tokens').fill('24');
    // Enter sends; the answer streams over SSE and what the page shows is exactly what the wire carried.
    const answered = page.waitForResponse(
      (r) => r.url().endsWith('/v1/chat/completions') && r.request().method() === 'POST',
    );
    await message.press('Enter');
    const response = await answered;
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toMatch(/text\/event-stream/);
    expect(response.request().postDataJSON()).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 24,
      messages: [{ role: 'user', content: 'Say hello\nin one line' }],
    });
    // Chromium keeps no body for a streamed response (Network.getResponseBody fails), so the page's own tee of it
    // (installed below, before the page loaded) is what we compare against.
    await page.waitForFunction(() => (window as unknown as TTapWindow).__sse.length >= 1, undefined, {
      timeout: 120_000,
    });
    const wire = readWire(await page.evaluate(() => (window as unknown as TTapWindow).__sse[0] ?? ''));
    expect(wire.payloads.at(-1)).toBe('[DONE]');
    expect(wire.chunks.length).toBeGreaterThan(2);
    expect(wire.text.length).toBeGreaterThan(0);
    expect(wire.usage?.completion_tokens).toBeGreaterThan(0);
    const answer = page.getByTestId('assistant-message').first();
    await expect.poll(() => answer.getAttribute('data-streaming'), { timeout: 30_000 }).toBe('false');
    expect(await answer.textContent()).toBe(wire.text);
    expect(await message.inputValue()).toBe('');
    const stats = page.getByTestId('answer-stats').first();
    expect(await stats.textContent()).toContain(
      `${wire.usage?.prompt_tokens} prompt · ${wire.usage?.completion_tokens} completion tokens`,
    );
    expect(await stats.textContent()).toMatch(/First token \d[\d,]* ms/);
    await screenshot(page, 'playground-answer');

    // View code: the real endpoint and the chosen model id, a key placeholder, never a key.
    const modelId = decodeURIComponent(new URL(page.url()).searchParams.get('model') ?? '');
    await page.getByRole('button', { name: 'View code' }).click();
    const code = page.getByRole('dialog');
    const curl = (await code.getByTestId('code-curl').textContent()) ?? '';
    expect(curl).toContain(`${inject('baseURL')}/v1/chat/completions`);
    expect(curl).toContain(`"model": ${JSON.stringify(modelId)}`);
    expect(curl).toContain('$CRUCIBLE_API_KEY');
    await code.getByRole('tab', { name: 'Python' }).click();
    expect(await code.getByTestId('code-python').textContent()).toContain(`base_url="${inject('baseURL')}/v1"`);
    await code.getByRole('tab', { name: 'JavaScript' }).click();
    expect(await code.getByTestId('code-javascript').textContent()).toContain(`model: ${JSON.stringify(modelId)}`);
    await code.getByRole('link', { name: /API keys/ }).waitFor();
    await page.keyboard.press('Escape');

    // Side by side: the same prompt goes to both panes; the first keeps its history, the second starts fresh.
    await page.getByRole('button', { name: 'Compare side by side' }).click();
    expect(await page.getByTestId('chat-pane').count()).toBe(2);
    await page.getByLabel('Max tokens').fill('6');
    await message.fill('And again');
    await message.press('Enter');
    const panes = page.getByTestId('chat-pane');
    for (const [i, expected] of [
      [0, 2],
      [1, 1],
    ] as const) {
      await expect.poll(() => panes.nth(i).getByTestId('answer-stats').count(), { timeout: 240_000 }).toBe(expected);
    }
    await screenshot(page, 'playground-side-by-side');

    // Clear empties both conversations.
    await page.getByRole('button', { name: 'Clear conversation' }).click();
    expect(await page.getByTestId('assistant-message').count()).toBe(0);

    // The deployment page counts the traffic: the first chat and pane one's "And again" (pane two compares another
    // model: the instance's demo model is there too).
    await page.goto(deploymentUrl);
    await expect
      .poll(
        async () => {
          await page.reload();
          return Number(((await page.getByTestId('stat-requests').textContent()) ?? '0').replace(/\D/g, ''));
        },
        { timeout: 30_000, interval: 2000 },
      )
      .toBeGreaterThanOrEqual(2);
    await page.getByTestId('requests-chart').waitFor();
    await screenshot(page, 'deployment-traffic');

    // Stop (confirmed), then delete (confirmed): the list is empty again.
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
    await expect
      .poll(() => page.getByTestId('deployment-status').getAttribute('data-status'), { timeout: 30_000 })
      .toBe('stopped');
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(`**/w/${slug}/deployments`);
    await page.getByText('No deployments yet').waitFor();
    await context.close();
  });
});
