import { chargeInference, chargeTraining } from '@crucible/billing';
import { createPrisma } from '@crucible/db';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot } from './browser';
import { signUpWithWorkspace } from './flows';

// The billing dashboard reads the ledger: usage charged through the same functions the workers call, at the seeded
// default prices (training 0.003 / 1K tokens, input 0.0005 / 1K, output 0.0015 / 1K), shows up as the totals
// computed here by hand; a bar opens the lines behind it; a budget below the spend shows its alerts.
describe('billing dashboard', () => {
  let browser: Browser;
  const prisma = createPrisma(inject('databaseUrl'), { max: 2 });
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await prisma.$disconnect();
  });

  it('shows month-to-date, category totals and the lines behind a bar, and budget alerts', async () => {
    const { context, page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-billing').catch(() => undefined);
    });
    const stamp = Date.now();
    const slug = `ledger-${stamp}`;
    await signUpWithWorkspace(
      page,
      { name: 'Luca Pacioli', email: `luca+${stamp}@example.com`, password: 'double-entry-1494' },
      { name: 'Accounts', slug },
    );
    const workspace = await prisma.workspace.findUniqueOrThrow({ where: { slug } });
    // two training windows of 5,000 tokens: 2 × 5 × 0.003 = 0.03; one request of 2,000 in / 1,000 out:
    // 2 × 0.0005 + 1 × 0.0015 = 0.0025; the second delivery of window 1 charges nothing
    for (const key of ['w1', 'w2', 'w1']) {
      await chargeTraining(
        {
          workspaceId: workspace.id,
          jobId: 'job-e2e',
          baseModel: 'tiny',
          method: 'sft_lora',
          tokens: 5000,
          idempotencyKey: `training:job-e2e:${key}`,
        },
        prisma,
      );
    }
    await chargeInference(
      { workspaceId: workspace.id, requestId: `req-${stamp}`, model: 'tiny', inputTokens: 2000, outputTokens: 1000 },
      prisma,
    );

    await page.goto(`/w/${slug}/billing`);
    const total = page.locator('[data-testid="billing-range-total"][data-amount]');
    await total.waitFor();
    expect(await total.getAttribute('data-amount')).toBe('0.0325');
    expect(await page.locator('[data-testid="billing-mtd"]').getAttribute('data-amount')).toBe('0.0325');
    expect(await page.locator('[data-testid="billing-total-training"]').getAttribute('data-amount')).toBe('0.03');
    expect(await page.locator('[data-testid="billing-total-inference"]').getAttribute('data-amount')).toBe('0.0025');
    // what a person reads: the formatted totals
    expect(await page.getByTestId('billing-total-training').textContent()).toContain('0.03');
    expect(await page.getByTestId('billing-mtd').textContent()).toContain('0.0325');
    // all lines of the month: 2 training + 2 inference
    await page.locator('[data-testid="billing-lines"][data-count="4"]').waitFor();
    await screenshot(page, 'billing-dashboard');

    // click the training part of today's bar: only the training lines remain
    await page.locator('.recharts-bar-rectangle path, .recharts-bar-rectangle').first().click();
    await page.getByText(/Ledger lines for .* Training/).waitFor();
    await page.locator('[data-testid="billing-lines"][data-count="2"]').waitFor();
    const amounts = await page
      .getByTestId('billing-line')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-amount')));
    expect(amounts).toEqual(['0.015', '0.015']);

    // a budget of 0.04 USD: 0.0325 is 81.25% -> the 50% and 80% alerts show
    await page.getByLabel('Amount per month').fill('0.04');
    await page.getByRole('button', { name: 'Save budget' }).click();
    await page.getByTestId('billing-alert').nth(1).waitFor();
    expect(await page.getByTestId('billing-alert').allInnerTexts()).toEqual([
      '50% of the budget reached',
      '80% of the budget reached',
    ]);
    expect(await page.getByTestId('billing-budget').getAttribute('data-exceeded')).toBe('false');
    await screenshot(page, 'billing-budget');
    // Without SMTP_URL nothing will be e-mailed: the alert says so instead of "E-mail queued".
    if (!process.env.SMTP_URL) {
      expect(await page.getByTestId('billing-alert-mail').first().textContent()).toMatch(/e-mail is not configured/);
    }

    // The default price list is in effect since the instance was installed, not "from Jan 1, 1970"; deployments are
    // priced per hour, billed by the minute.
    await page.getByRole('tab', { name: 'Price lists' }).click();
    const effective = page.getByTestId('billing-price-effective').first();
    await effective.waitFor();
    expect(await effective.textContent()).toMatch(/since the instance was installed/);
    expect(await page.getByTestId('billing-prices').textContent()).not.toMatch(/1970/);
    await page.getByText('hour, billed by the minute').first().waitFor();

    // the same numbers from the API the dashboard reads
    const res = await context.request.get(`/api/usage?workspace=${slug}`);
    expect(res.status()).toBe(200);
    expect((await res.json()).totals.byCurrency).toEqual({ USD: '0.0325' });
    await context.close();
  });
});
