import type { Page } from 'playwright-core';
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
