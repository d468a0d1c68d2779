import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot } from './browser';
import { signUp, signUpWithWorkspace } from './flows';

// Workspace administration through the UI: an API key is shown once and works against the real API, an invite
// link lets a second person join with the chosen role, and the owner sees them in the members list.
describe('settings: API keys and invitations', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('creates an API key that is shown once and authenticates the REST API', async () => {
    const { context, page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-api-key').catch(() => undefined);
    });
    const stamp = Date.now();
    await signUpWithWorkspace(
      page,
      { name: 'Grace Hopper', email: `grace+${stamp}@example.com`, password: 'cobol-forever-1959' },
      { name: 'Compilers', slug: `compilers-${stamp}` },
    );

    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('tab', { name: 'API keys' }).click();
    await page.getByText('No API keys').waitFor();
    await page.getByRole('button', { name: 'Create API key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('CI pipeline');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Save your API key').waitFor();
    const key = await dialog.getByLabel('Key').inputValue();
    expect(key).toMatch(/^crk_/);
    await screenshot(page, 'api-key-created');
    await dialog.getByRole('button', { name: "I've saved it" }).click();

    // Listed by its visible start only; the full key is nowhere on the page any more.
    const row = page.getByRole('row', { name: /CI pipeline/ });
    await row.waitFor();
    expect(await page.content()).not.toContain(key);

    // The key is real: it lists this workspace's datasets over plain HTTP.
    const response = await fetch(`${inject('baseURL')}/api/workspaces/compilers-${stamp}/datasets`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: [] });

    // Revoke -> the same key is refused.
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByText('No API keys').waitFor();
    const after = await fetch(`${inject('baseURL')}/api/workspaces/compilers-${stamp}/datasets`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(after.status).toBe(401);
    await context.close();
  });

  it('invites by link; the invitee signs up, accepts, and appears in the members list', async () => {
    const owner = await newPage(browser);
    const invitee = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(owner.page, 'failure-invite-owner').catch(() => undefined);
      await screenshot(invitee.page, 'failure-invite-invitee').catch(() => undefined);
    });
    const stamp = Date.now();
    const slug = `lab-${stamp}`;
    const inviteeEmail = `katherine+${stamp}@example.com`;
    await signUpWithWorkspace(
      owner.page,
      { name: 'Dorothy Vaughan', email: `dorothy+${stamp}@example.com`, password: 'fortran-for-all-1961' },
      { name: 'Flight Research', slug },
    );
    await owner.page.goto(`/w/${slug}/settings?tab=members`);
    await owner.page.getByLabel('Email address').fill(inviteeEmail);
    await owner.page.getByRole('combobox', { name: 'Role' }).click();
    await owner.page.getByRole('option', { name: 'Viewer' }).click();
    await owner.page.getByRole('button', { name: 'Create invite link' }).click();
    const link = await owner.page.getByLabel('Invite link').first().inputValue();
    expect(link).toMatch(/\/invite\/[\w-]+$/);
    await screenshot(owner.page, 'members-invite');

    // The invitee follows the link signed out: the page names the workspace, the role and the inviter, and sign-up
    // comes with the invited address filled in. Then back to accept.
    await invitee.page.goto(new URL(link).pathname);
    await invitee.page
      .getByTestId('invite-preview')
      .getByText(`Dorothy Vaughan invited ${inviteeEmail} to the workspace Flight Research as Viewer.`)
      .waitFor();
    await invitee.page.getByRole('link', { name: 'Sign up' }).click();
    await expect.poll(() => invitee.page.getByLabel('Email').inputValue()).toBe(inviteeEmail);
    await signUp(
      invitee.page,
      { name: 'Katherine Johnson', email: inviteeEmail, password: 'trajectory-1962-ok' },
      '**/invite/**',
    );
    await invitee.page.getByText('Join the workspace Flight Research as Viewer.').waitFor();
    await invitee.page.getByRole('button', { name: 'Accept invitation' }).click();
    await invitee.page.waitForURL(`**/w/${slug}/datasets`);
    // A viewer is told up front why there is no upload, and the upload form is not offered at all.
    await invitee.page
      .getByTestId('role-notice')
      .first()
      .getByText(/As a Viewer you can look at datasets/)
      .waitFor();
    expect(await invitee.page.getByRole('link', { name: 'Upload dataset' }).count()).toBe(0);
    await invitee.page.goto(`/w/${slug}/datasets/new`);
    await invitee.page.getByTestId('role-notice').waitFor();
    expect(await invitee.page.getByRole('button', { name: 'Upload and validate' }).count()).toBe(0);
    // A dataset that does not exist is "not found", not "Something went wrong". (The HTTP status stays 200: the
    // segment's loading.tsx has already streamed the page head when the page finds out.)
    await invitee.page.goto(`/w/${slug}/datasets/cmxbcqs1k001g7a7dxrgnfvvd`);
    await invitee.page.getByText('No such dataset').waitFor();
    await invitee.page.getByRole('link', { name: 'All datasets' }).waitFor();
    // The favicon.
    const icon = await invitee.page.request.get('/icon.svg');
    expect(icon.status()).toBe(200);
    expect(await invitee.page.locator('link[rel="icon"]').count()).toBeGreaterThan(0);

    // A viewer sees the members but none of the management controls.
    await invitee.page.goto(`/w/${slug}/settings?tab=members`);
    await invitee.page.getByRole('row', { name: /Dorothy Vaughan/ }).waitFor();
    expect(await invitee.page.getByRole('button', { name: 'Create invite link' }).count()).toBe(0);
    expect(await invitee.page.getByRole('combobox').count()).toBe(0);
    await invitee.page.getByRole('tab', { name: 'API keys' }).click();
    await invitee.page.getByText('Your role in this workspace does not allow this action.').waitFor();

    await owner.page.reload();
    await owner.page.getByRole('row', { name: /Katherine Johnson/ }).waitFor();
    await screenshot(owner.page, 'members-list');
    await owner.context.close();
    await invitee.context.close();
  });
});
