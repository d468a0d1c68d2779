import type { APIRequestContext, Page } from 'playwright-core';
import { waitForShell } from './browser';

// better-auth allows 3 sign-in/sign-up requests per 10 s per client, and every test browser is the same client
// (127.0.0.1). The UI then says so (auth.rateLimited); a person would wait and try again, and so do the tests.
const RATE_LIMITED = /Too many attempts|尝试次数过多/;
const RATE_LIMIT_WINDOW_MS = 10_500;

/**
 * Submits an auth form and waits for `done`; when the console reports the rate limit instead, waits out the window
 * and submits again (up to 4 times).
 */
export async function submitAuthForm(page: Page, submit: () => Promise<void>, done: () => Promise<unknown>) {
  for (let attempt = 1; ; attempt++) {
    await submit();
    const outcome = await Promise.race([
      done().then(
        () => 'done' as const,
        (error: unknown) => ({ error }),
      ),
      page
        .getByText(RATE_LIMITED)
        .waitFor()
        .then(
          () => 'limited' as const,
          () => new Promise<never>(() => {}),
        ),
    ]);
    if (outcome === 'done') return;
    if (outcome !== 'limited') throw outcome.error;
    if (attempt === 4) throw new Error('still rate-limited after 4 attempts');
    await page.waitForTimeout(RATE_LIMIT_WINDOW_MS);
  }
}

/** Fills and submits the sign-up form (already open), past the rate limit, until the URL matches `next`. */
export async function signUp(page: Page, user: { name: string; email: string; password: string }, next: string) {
  await page.getByLabel('Full name').fill(user.name);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await submitAuthForm(
    page,
    () => page.getByRole('button', { name: 'Create account' }).click(),
    () => page.waitForURL(next),
  );
}

/** Signs up through the UI and creates a workspace; leaves the page on its Datasets page. */
export async function signUpWithWorkspace(
  page: Page,
  user: { name: string; email: string; password: string },
  workspace: { name: string; slug: string },
): Promise<void> {
  await page.goto('/sign-up');
  await signUp(page, user, '**/onboarding');
  await page.getByLabel('Workspace name').fill(workspace.name);
  await page.getByLabel('URL').fill(workspace.slug);
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await page.waitForURL(`**/w/${workspace.slug}/datasets`);
  await waitForShell(page);
}

/** Arithmetic chats: short, distinct and learnable by a tiny model, so the loss visibly moves. */
export function chatRows(n: number): string {
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i * 7) % 10;
    const b = (i * 3 + 1) % 10;
    rows.push(
      JSON.stringify({
        messages: [
          { role: 'user', content: `What is ${a} plus ${b}?` },
          { role: 'assistant', content: `${a} plus ${b} is ${a + b}.` },
        ],
      }),
    );
  }
  return `${rows.join('\n')}\n`;
}

/** Creates a dataset, uploads the rows through the presigned target, imports (waiting) and publishes v1. */
export async function publishDataset(request: APIRequestContext, slug: string, name: string, jsonl: string) {
  const base = `/api/workspaces/${slug}/datasets`;
  const ok = async (response: Awaited<ReturnType<APIRequestContext['post']>>, what: string) => {
    if (!response.ok()) throw new Error(`${what}: ${response.status()} ${await response.text()}`);
    return (await response.json()) as unknown;
  };
  const dataset = (await ok(await request.post(base, { data: { name } }), 'create dataset')) as { id: string };
  const start = (await ok(
    await request.post(`${base}/${dataset.id}/uploads`, {
      data: { fileName: `${name}.jsonl`, size: Buffer.byteLength(jsonl) },
    }),
    'start upload',
  )) as { uploadId: string; upload: { url: string; method: string; headers?: Record<string, string> } };
  const target = start.upload;
  const sent = await request.fetch(target.url, {
    method: target.method,
    headers: target.headers,
    data: Buffer.from(jsonl),
  });
  if (sent.status() >= 300) throw new Error(`upload: ${sent.status()} ${await sent.text()}`);
  const imported = (await ok(
    await request.post(`${base}/${dataset.id}/imports`, { data: { uploadId: start.uploadId, wait: true } }),
    'import',
  )) as { version: { id: string } };
  const versionId = imported.version.id;
  await ok(await request.post(`${base}/${dataset.id}/versions/${versionId}/publish`), 'publish');
  return { datasetId: dataset.id, versionId };
}
