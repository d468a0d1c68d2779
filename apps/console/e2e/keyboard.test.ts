import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot, waitForShell } from './browser';
import { signUpWithWorkspace, submitAuthForm } from './flows';

// The console must work from the keyboard alone (issue 2, "accessible by keyboard"): skip link, menus and dialogs
// (Radix semantics: Enter/Arrow keys/Escape), and signing out and back in lands on the last workspace.
describe('keyboard only', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('skips to content, creates and switches workspaces with the keyboard, signs out and back in', async () => {
    const { context, page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-keyboard').catch(() => undefined);
    });
    const stamp = Date.now();
    const user = { name: 'Alan Turing', email: `alan+${stamp}@example.com`, password: 'enigma-bombe-1940' };
    await signUpWithWorkspace(page, user, { name: 'Bletchley', slug: `bletchley-${stamp}` });

    // First Tab from the top of the page reaches the skip link; Enter moves focus to the main region.
    await page.reload();
    await waitForShell(page);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');

    // Workspace switcher -> "New workspace" -> dialog form, all by keyboard.
    await page.getByRole('button', { name: 'Switch workspace' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'New workspace' }).waitFor();
    // Radix moves focus into the menu a frame after it renders: on a busy machine a key pressed before that lands on
    // the trigger, not the menu. Wait for focus to be inside the menu, then for End to reach the last item.
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('role'))).toMatch(/menu/);
    await page.keyboard.press('End');
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('New workspace');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Workspace name').waitFor();
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('name');
    await page.keyboard.type('Hut Eight');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/w/hut-eight/datasets');
    await waitForShell(page);

    // Escape closes a menu without acting.
    await page.getByRole('button', { name: 'Switch workspace' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menu').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('menu').waitFor({ state: 'detached' });
    // Radix hands focus back to the trigger after the menu is gone; on a busy machine an Enter pressed before that
    // lands nowhere (seen in CI: the menu never reopened).
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label')))
      .toBe('Switch workspace');

    // Back to the first workspace: first item in the menu.
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'Bletchley' }).waitFor();
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/w/bletchley-${stamp}/datasets`);
    await waitForShell(page);

    // Sign out from the account menu.
    await page.getByRole('button', { name: 'Account menu' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'Sign out' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL('**/sign-in');

    // A wrong password is refused with a message; the right one signs in and "/" returns to the last workspace.
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill('not-the-password');
    await submitAuthForm(
      page,
      () => page.keyboard.press('Enter'),
      () => page.getByText('The email or password is incorrect.').waitFor(),
    );
    await page.getByLabel('Password').fill(user.password);
    await submitAuthForm(
      page,
      () => page.keyboard.press('Enter'),
      () => page.waitForURL(`**/w/bletchley-${stamp}/datasets`),
    );
    await context.close();
  });
});
