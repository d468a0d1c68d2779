import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';

/** Connects to the Chromium started by global-setup.ts; each test gets its own context (cookies, storage). */
export async function openBrowser(): Promise<Browser> {
  return chromium.connect(inject('wsEndpoint'));
}

export async function newPage(
  browser: Browser,
  options: { locale?: string; baseURL?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL: options.baseURL ?? inject('baseURL'),
    locale: options.locale ?? 'en-US',
    viewport: { width: 1360, height: 860 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(inject('resultsDir'), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Waits until the workspace shell is hydrated (keys pressed before that reach no handler). */
export async function waitForShell(page: Page): Promise<void> {
  await page.locator('[data-hydrated]').waitFor();
}
