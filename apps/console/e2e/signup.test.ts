import { createPrisma } from '@crucible/db';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot } from './browser';
import { submitAuthForm } from './flows';

// The first thing a new user does: sign up, create a workspace, land on the (empty) Datasets page, and switch the
// console to Chinese. Every step goes through the real UI, the real API routes, better-auth and Postgres.
describe('sign up -> workspace -> datasets -> 中文', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('signs up, creates a workspace, sees the empty Datasets page, and switches to Chinese', async () => {
    const { context, page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure').catch(() => undefined);
    });
    const email = `ada+${Date.now()}@example.com`;

    // Signed out: "/" goes to the sign-in page, which links to sign-up.
    await page.goto('/');
    await page.waitForURL('**/sign-in');
    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.waitForURL('**/sign-up');

    // Client-side validation with the shared zod schema: a short password is refused before any request.
    await page.getByLabel('Full name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('The password must have at least 8 characters.').waitFor();

    await page.getByLabel('Password').fill('correct horse battery staple');
    await screenshot(page, 'sign-up');
    await submitAuthForm(
      page,
      () => page.getByRole('button', { name: 'Create account' }).click(),
      () => page.waitForURL('**/onboarding'),
    );

    // The slug follows the name until edited.
    await page.getByLabel('Workspace name').fill('Acme Research');
    expect(await page.getByLabel('URL').inputValue()).toBe('acme-research');
    await screenshot(page, 'onboarding');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.waitForURL('**/w/acme-research/datasets');

    await page.getByRole('heading', { level: 1, name: 'Datasets' }).waitFor();
    await page.getByText('No datasets yet').waitFor();
    const nav = page.getByRole('navigation', { name: 'Main navigation' });
    for (const item of ['Datasets', 'Fine-tuning', 'Models', 'Deployments', 'Playground', 'Billing', 'Settings']) {
      await nav.getByRole('link', { name: item }).waitFor();
    }
    expect(await nav.getByRole('link', { name: 'Datasets' }).getAttribute('aria-current')).toBe('page');
    await screenshot(page, 'datasets-empty');

    // Language switch from the user menu, by keyboard-reachable menu items.
    await page.getByRole('button', { name: 'Account menu' }).click();
    await page.getByRole('menuitem', { name: /Language/ }).click();
    await page.getByRole('menuitemradio', { name: '中文（简体）' }).click();

    const zhNav = page.getByRole('navigation', { name: '主导航' });
    await zhNav.getByRole('link', { name: '数据集' }).waitFor();
    for (const item of ['模型微调', '模型', '模型部署', '体验中心', '费用中心', '设置']) {
      await zhNav.getByRole('link', { name: item, exact: true }).waitFor();
    }
    await page.getByRole('heading', { level: 1, name: '数据集' }).waitFor();
    await page.getByText('还没有数据集').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    await screenshot(page, 'datasets-empty-zh');

    // The choice is saved on the user, not only in the page: a reload renders Chinese on the server,
    // and the database row says so.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: '数据集' }).waitFor();
    const prisma = createPrisma(inject('databaseUrl'));
    try {
      const user = await prisma.user.findUniqueOrThrow({ where: { email } });
      expect(user.locale).toBe('zh-CN');
      const workspace = await prisma.workspace.findUniqueOrThrow({ where: { slug: 'acme-research' } });
      expect(workspace.name).toBe('Acme Research');
    } finally {
      await prisma.$disconnect();
    }

    // Small screens: the sidebar becomes a drawer behind a menu button.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: '打开导航' }).click();
    await page.getByRole('dialog').getByRole('link', { name: '模型部署' }).click();
    await page.waitForURL('**/w/acme-research/deployments');
    await page.getByRole('heading', { level: 1, name: '模型部署' }).waitFor();
    await screenshot(page, 'mobile-deployments-zh');
    await context.close();
  });

  it('greets a Chinese browser in Chinese and keeps that language through sign-up', async () => {
    const { context, page } = await newPage(browser, { locale: 'zh-CN' });
    await page.goto('/sign-up');
    await page.getByRole('heading', { level: 1, name: '创建账号' }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    await page.getByLabel('姓名').fill('李白');
    await page.getByLabel('邮箱').fill(`libai+${Date.now()}@example.com`);
    await page.getByLabel('密码').fill('jiang-jin-jiu-701');
    await submitAuthForm(
      page,
      () => page.getByRole('button', { name: '创建账号' }).click(),
      () => page.waitForURL('**/onboarding'),
    );
    // By role: Next's route announcer repeats the page title ("… · Crucible"), so plain text would match twice.
    await page.getByRole('heading', { name: '创建你的第一个工作空间' }).waitFor();
    // Validation messages follow the language too.
    await page.getByRole('button', { name: '创建工作空间' }).click();
    await page.getByText('此项为必填项。').waitFor();
    await screenshot(page, 'onboarding-zh');
    await context.close();
  });
});
