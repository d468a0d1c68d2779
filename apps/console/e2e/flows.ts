import type { Page } from 'playwright-core';

/** Signs up through the UI and creates a workspace; leaves the page on its Datasets page. */
export async function signUpWithWorkspace(
  page: Page,
  user: { name: string; email: string; password: string },
  workspace: { name: string; slug: string },
): Promise<void> {
  await page.goto('/sign-up');
  await page.getByLabel('Full name').fill(user.name);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/onboarding');
  await page.getByLabel('Workspace name').fill(workspace.name);
  await page.getByLabel('URL').fill(workspace.slug);
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await page.waitForURL(`**/w/${workspace.slug}/datasets`);
}
