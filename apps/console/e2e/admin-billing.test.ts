import { chargeInference, chargeTraining } from '@crucible/billing';
import { createPrisma, Prisma } from '@crucible/db';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { newPage, openBrowser, screenshot, waitForShell } from './browser';
import { signUpWithWorkspace } from './flows';

// Instance admins see all workspaces (issue 7): usage charged in two workspaces the admin is not a member of, through
// the same functions the workers call, shows on /admin/billing as the sums of their ledger lines, and the admin can
// open one workspace's dashboard read-only.
describe('instance admin billing', () => {
  let browser: Browser;
  const prisma = createPrisma(inject('databaseUrl'), { max: 2 });
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await prisma.$disconnect();
  });

  /** Per-category sums of a workspace's ledger lines this month, straight from the database. */
  async function ledgerOf(workspaceId: string) {
    const now = new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const rows = await prisma.usageRecord.groupBy({
      by: ['category'],
      where: { workspaceId, occurredAt: { gte: from } },
      _sum: { amount: true },
    });
    const by = Object.fromEntries(rows.map((r) => [r.category, r._sum.amount?.toFixed() ?? '0']));
    const total = rows.reduce((a, r) => a.add(r._sum.amount ?? 0), new Prisma.Decimal(0));
    return { by, total: total.toFixed() };
  }

  it('lists every workspace with totals that match the ledger, and opens one read-only', async () => {
    const { page } = await newPage(browser);
    onTestFailed(async () => {
      await screenshot(page, 'failure-admin-billing').catch(() => undefined);
    });
    const stamp = Date.now();
    const email = `ada+${stamp}@example.com`;
    await signUpWithWorkspace(
      page,
      { name: 'Ada Lovelace', email, password: 'analytical-engine-1843' },
      { name: 'Engines', slug: `engines-${stamp}` },
    );
    // not an instance admin yet: the admin page does not exist for her, and the menu has no link to it
    const refused = await page.goto('/admin/billing');
    expect(refused?.status()).toBe(404);

    // two workspaces of other people, with usage: lab 2 × 5,000 training tokens (0.03) + 2,000 in / 1,000 out
    // (0.0025); shop 20,000 training tokens (0.06) against a budget of 0.08 (75%)
    const lab = await prisma.workspace.create({ data: { name: `Lab ${stamp}`, slug: `lab-${stamp}` } });
    const shop = await prisma.workspace.create({ data: { name: `Shop ${stamp}`, slug: `shop-${stamp}` } });
    for (const w of ['w1', 'w2']) {
      await chargeTraining(
        {
          workspaceId: lab.id,
          jobId: 'job-lab',
          baseModel: 'tiny',
          method: 'sft_lora',
          tokens: 5000,
          idempotencyKey: `training:job-lab-${stamp}:${w}`,
        },
        prisma,
      );
    }
    await chargeInference(
      { workspaceId: lab.id, requestId: `lab-${stamp}`, model: 'tiny', inputTokens: 2000, outputTokens: 1000 },
      prisma,
    );
    await chargeTraining(
      {
        workspaceId: shop.id,
        jobId: 'job-shop',
        baseModel: 'tiny',
        method: 'sft_lora',
        tokens: 20_000,
        idempotencyKey: `training:job-shop-${stamp}:1`,
      },
      prisma,
    );
    await prisma.budget.create({ data: { workspaceId: shop.id, amount: '0.08', currency: 'USD' } });

    // `crucible user promote --email` does this
    await prisma.user.update({ where: { email }, data: { role: 'admin' } });
    await page.goto(`/w/engines-${stamp}/billing`);
    await waitForShell(page);
    await page.getByRole('button', { name: 'Account menu' }).click();
    await page.getByRole('menuitem', { name: 'Instance billing' }).click();
    await page.waitForURL('**/admin/billing');
    await page.getByRole('heading', { name: 'Instance billing' }).waitFor();

    const row = (slug: string) => page.locator(`[data-testid="admin-billing-row"][data-slug="${slug}"]`);
    await row(`lab-${stamp}`).waitFor();
    for (const [w, expected] of [
      [lab, { training: '0.03', inference: '0.0025', total: '0.0325' }],
      [shop, { training: '0.06', inference: '0', total: '0.06' }],
    ] as const) {
      const ledger = await ledgerOf(w.id);
      expect(ledger.total).toBe(expected.total);
      const r = row(w.slug);
      expect(await r.getByTestId('row-training').getAttribute('data-amount')).toBe(ledger.by.training);
      expect(await r.getByTestId('row-training').getAttribute('data-amount')).toBe(expected.training);
      expect(await r.getByTestId('row-inference').getAttribute('data-amount')).toBe(expected.inference);
      expect(await r.getByTestId('row-mtd').getAttribute('data-amount')).toBe(ledger.total);
      // what a person reads
      expect(await r.getByTestId('row-mtd').textContent()).toContain(expected.total);
    }
    expect(await row(`shop-${stamp}`).getByTestId('row-used').getAttribute('data-percent')).toBe('75');
    expect(await row(`shop-${stamp}`).getByTestId('row-used').textContent()).toContain('75%');
    expect(await row(`lab-${stamp}`).getByTestId('row-used').getAttribute('data-percent')).toBeNull();
    // the instance total is every workspace's ledger (other browser tests' workspaces included)
    const all = await prisma.usageRecord.aggregate({
      where: { occurredAt: { gte: new Date(`${new Date().toISOString().slice(0, 8)}01T00:00:00Z`) } },
      _sum: { amount: true },
    });
    expect(await page.getByTestId('admin-billing-total').getAttribute('data-amount')).toBe(all._sum.amount?.toFixed());
    await screenshot(page, 'admin-billing');

    // into a workspace she is not a member of: its dashboard, read-only, with the same month-to-date
    await row(`lab-${stamp}`)
      .getByRole('link', { name: `Open the billing of Lab ${stamp}` })
      .click();
    await page.waitForURL(`**/admin/billing/lab-${stamp}`);
    const mtd = page.locator('[data-testid="billing-mtd"][data-amount]');
    await mtd.waitFor();
    expect(await mtd.getAttribute('data-amount')).toBe('0.0325');
    expect(await page.getByTestId('billing-total-inference').getAttribute('data-amount')).toBe('0.0025');
    await page.locator('[data-testid="billing-lines"][data-count="4"]').waitFor();
    await page.getByText('Only workspace admins can change the budget.').waitFor();
    expect(await page.getByLabel('Amount per month').count()).toBe(0);
    await screenshot(page, 'admin-billing-workspace');

    // still no way into the rest of that workspace
    const datasets = await page.goto(`/w/lab-${stamp}/datasets`);
    expect(datasets?.status()).toBe(404);
    const api = await fetch(`${inject('baseURL')}/api/workspaces/lab-${stamp}/members`, {
      headers: { cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    expect(api.status).toBe(404);
    await page.context().close();
  });
});
