/**
 * The ledger adds up. Expected charges are computed here by hand from the prices the test sets (integer arithmetic
 * on scaled values, not the package's Decimal code), then compared with the ledger lines and the report totals.
 */
import { Prisma } from '@crucible/db';
import { createPriceList, upsertBudgetRow } from '@crucible/db/billing';
import { createTestDatabase, type TTestDatabase } from '@crucible/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accrueDeploymentHours,
  accrueStorage,
  assertWithinBudget,
  BillingError,
  billedHours,
  chargeInference,
  chargeTraining,
  checkBudgetAlerts,
  estimateTrainingCost,
  ledgerCsv,
  monthlyStatement,
  resolvePrice,
  settleDeploymentRun,
  usageReport,
  workspaceSummary,
} from '../src/index';

let db: TTestDatabase;
let ws: string;
let other: string;
const T0 = new Date('2026-03-02T08:00:00Z');
const H = 3_600_000;

/** price × quantity in micro-cents as BigInt: 1 unit = 10^-12, exact for our test prices. */
const SCALE = 10n ** 12n;
const toScaled = (s: string) => {
  const [i, f = ''] = s.split('.');
  return BigInt(i) * SCALE + BigInt((f + '0'.repeat(12)).slice(0, 12));
};
const fromScaled = (v: bigint) => {
  const i = v / SCALE;
  const f = (v % SCALE).toString().padStart(12, '0').replace(/0+$/, '');
  return f ? `${i}.${f}` : `${i}`;
};
/** amount of `raw` units at `price` per `per` raw units, exactly (all test values divide evenly). */
const expectCharge = (raw: number, price: string, per: number) => (BigInt(raw) * toScaled(price)) / BigInt(per);
/** amount of a decimal quantity (as stored, 8 decimals) at `price`, exactly. */
const scaledAmount = (quantity: string, price: string) => (toScaled(quantity) * toScaled(price)) / SCALE;

beforeAll(async () => {
  db = await createTestDatabase();
  ws = (await db.prisma.workspace.create({ data: { name: 'W', slug: 'w' } })).id;
  other = (await db.prisma.workspace.create({ data: { name: 'O', slug: 'o' } })).id;
  // instance list from the epoch, and a workspace override for one model from March 1st
  await createPriceList(
    {
      workspaceId: null,
      name: 'Instance 2026',
      currency: 'USD',
      effectiveFrom: new Date('2026-01-01T00:00:00Z'),
      items: [
        { category: 'training', meter: 'training_tokens', unit: '1K tokens', unitPrice: '0.004' },
        {
          category: 'training',
          meter: 'training_tokens',
          unit: '1K tokens',
          unitPrice: '0.008',
          modelRef: 'qwen-7b',
          method: 'sft_full',
        },
        { category: 'inference', meter: 'input_tokens', unit: '1K tokens', unitPrice: '0.0006' },
        { category: 'inference', meter: 'output_tokens', unit: '1K tokens', unitPrice: '0.0018' },
        { category: 'deployment', meter: 'deployment_hours', unit: 'hour', unitPrice: '0.75' },
        { category: 'deployment', meter: 'deployment_hours', unit: 'hour', unitPrice: '2.5', workerClass: 'gpu-small' },
        { category: 'storage', meter: 'storage_gb_months', unit: 'GB-month', unitPrice: '0.02' },
      ],
    },
    db.prisma,
  );
  await createPriceList(
    {
      workspaceId: ws,
      name: 'W discount',
      currency: 'USD',
      effectiveFrom: new Date('2026-03-01T00:00:00Z'),
      items: [
        {
          category: 'inference',
          meter: 'output_tokens',
          unit: '1K tokens',
          unitPrice: '0.0012',
          modelRef: 'ft:w-chat',
        },
      ],
    },
    db.prisma,
  );
});
afterAll(() => db?.drop());

describe('resolvePrice', () => {
  it('prefers the workspace override, then the most specific item of the newest list', async () => {
    const at = T0;
    expect(
      (
        await resolvePrice({ workspaceId: ws, meter: 'output_tokens', modelRef: 'ft:w-chat', at }, db.prisma)
      ).unitPrice.toFixed(),
    ).toBe('0.0012');
    // another model, or another workspace: the instance price
    expect(
      (
        await resolvePrice({ workspaceId: ws, meter: 'output_tokens', modelRef: 'x', at }, db.prisma)
      ).unitPrice.toFixed(),
    ).toBe('0.0018');
    expect(
      (
        await resolvePrice({ workspaceId: other, meter: 'output_tokens', modelRef: 'ft:w-chat', at }, db.prisma)
      ).unitPrice.toFixed(),
    ).toBe('0.0018');
    // before the override's effective date
    expect(
      (
        await resolvePrice(
          { workspaceId: ws, meter: 'output_tokens', modelRef: 'ft:w-chat', at: new Date('2026-02-27T00:00:00Z') },
          db.prisma,
        )
      ).unitPrice.toFixed(),
    ).toBe('0.0018');
    expect(
      (
        await resolvePrice(
          { workspaceId: ws, meter: 'training_tokens', modelRef: 'qwen-7b', method: 'sft_full', at },
          db.prisma,
        )
      ).unitPrice.toFixed(),
    ).toBe('0.008');
    expect(
      (
        await resolvePrice(
          { workspaceId: ws, meter: 'training_tokens', modelRef: 'qwen-7b', method: 'sft_lora', at },
          db.prisma,
        )
      ).unitPrice.toFixed(),
    ).toBe('0.004');
    expect(
      (
        await resolvePrice({ workspaceId: ws, meter: 'deployment_hours', workerClass: 'gpu-small', at }, db.prisma)
      ).unitPrice.toFixed(),
    ).toBe('2.5');
  });

  it('refuses a time before any list when the instance already has prices (no silent default)', async () => {
    await expect(
      resolvePrice({ workspaceId: ws, meter: 'input_tokens', at: new Date('2025-06-01T00:00:00Z') }, db.prisma),
    ).rejects.toMatchObject({ code: 'no_price' });
  });

  it('the estimate is tokens × epochs at the same price the ledger uses', async () => {
    const est = await estimateTrainingCost(
      { workspaceId: ws, baseModel: 'qwen-7b', method: 'sft_full', tokens: 125_000, epochs: 3 },
      db.prisma,
    );
    expect(est.amount.toFixed()).toBe(fromScaled(expectCharge(375_000, '0.008', 1000)));
    expect(est.amount.toFixed()).toBe('3');
  });
});

describe('a scripted month: the ledger adds up', () => {
  let expected = 0n;
  const expectedByCategory = { training: 0n, inference: 0n, deployment: 0n, storage: 0n };

  it('charges a job step by step, requests, and a deployment per hour, the last one by the minute', async () => {
    // a job of 4 step windows of 12_345 trained tokens each (sft_full on qwen-7b: 0.008 / 1K)
    for (let step = 1; step <= 4; step++) {
      const r = await chargeTraining(
        {
          workspaceId: ws,
          jobId: 'job1',
          baseModel: 'qwen-7b',
          method: 'sft_full',
          tokens: 12_345,
          idempotencyKey: `training:job1:step:${step}`,
          occurredAt: new Date(T0.getTime() + step * 60_000),
        },
        db.prisma,
      );
      expect(r.created).toBe(true);
    }
    expectedByCategory.training += 4n * expectCharge(12_345, '0.008', 1000);

    // 5 requests to ft:w-chat (override output price) and 2 to base-chat, with an API key
    for (let i = 0; i < 5; i++) {
      await chargeInference(
        {
          workspaceId: ws,
          requestId: `r${i}`,
          model: 'ft:w-chat',
          inputTokens: 1000 + i,
          outputTokens: 250 * (i + 1),
          apiKeyId: 'key1',
          occurredAt: new Date(T0.getTime() + H + i * 1000),
        },
        db.prisma,
      );
      expectedByCategory.inference +=
        expectCharge(1000 + i, '0.0006', 1000) + expectCharge(250 * (i + 1), '0.0012', 1000);
    }
    for (let i = 0; i < 2; i++) {
      await chargeInference(
        {
          workspaceId: ws,
          requestId: `b${i}`,
          model: 'base-chat',
          inputTokens: 777,
          outputTokens: 333,
          userId: 'u1',
          occurredAt: new Date(T0.getTime() + 26 * H),
        },
        db.prisma,
      );
      expectedByCategory.inference += expectCharge(777, '0.0006', 1000) + expectCharge(333, '0.0018', 1000);
    }

    // a gpu-small deployment, 2 replicas, up 5 h 10 min then stopped: 5 hours and 10/60 of one × 2 replicas × 2.5
    const dep = await db.prisma.deployment.create({
      data: {
        workspaceId: ws,
        name: 'd',
        workerClass: 'gpu-small',
        replicas: 2,
        status: 'running',
        startedAt: new Date(T0.getTime() + 2 * H),
      },
    });
    // 2.5 h in: the 2 complete hours; the third is charged when it completes or the deployment stops
    const mid = await accrueDeploymentHours(new Date(T0.getTime() + 4.5 * H), db.prisma);
    expect(mid.linesCreated).toBe(2);
    await db.prisma.deployment.update({
      where: { id: dep.id },
      data: { status: 'stopped', stoppedAt: new Date(T0.getTime() + 7 * H + 10 * 60_000) },
    });
    const end = await accrueDeploymentHours(new Date(T0.getTime() + 30 * H), db.prisma);
    expect(end.linesCreated).toBe(4);
    expect((await accrueDeploymentHours(new Date(T0.getTime() + 31 * H), db.prisma)).linesCreated).toBe(0);
    const depLines = await db.prisma.usageRecord.findMany({
      where: { idempotencyKey: { startsWith: `deployment:${dep.id}:` } },
      orderBy: { occurredAt: 'asc' },
    });
    // quantity in hours (the price's unit): 2 replicas × 1 h five times, then 2 × 10 min = 0.33333333 h
    expect(depLines.map((l) => l.quantity.toFixed())).toEqual(['2', '2', '2', '2', '2', '0.33333333']);
    expectedByCategory.deployment += 5n * expectCharge(2, '2.5', 1) + scaledAmount('0.33333333', '2.5');

    expected = Object.values(expectedByCategory).reduce((a, b) => a + b, 0n);
  });

  it('duplicate events charge once', async () => {
    const before = await db.prisma.usageRecord.count();
    const again = await chargeTraining(
      {
        workspaceId: ws,
        jobId: 'job1',
        baseModel: 'qwen-7b',
        method: 'sft_full',
        tokens: 99_999,
        idempotencyKey: 'training:job1:step:2',
      },
      db.prisma,
    );
    expect(again.created).toBe(false);
    await chargeInference(
      { workspaceId: ws, requestId: 'r0', model: 'ft:w-chat', inputTokens: 5, outputTokens: 5 },
      db.prisma,
    );
    expect(await db.prisma.usageRecord.count()).toBe(before);
  });

  it('summary totals = sum of ledger lines = the charges computed here', async () => {
    const now = new Date('2026-03-16T00:00:00Z');
    const s = await workspaceSummary(ws, { from: '2026-03-01', to: '2026-03-31' }, now, db.prisma);
    for (const c of ['training', 'inference', 'deployment', 'storage'] as const) {
      expect([c, s.totals.byCategory[c]]).toEqual([c, fromScaled(expectedByCategory[c])]);
    }
    expect(s.totals.byCurrency).toEqual({ USD: fromScaled(expected) });
    const lines = await db.prisma.usageRecord.findMany({ where: { workspaceId: ws } });
    const lineSum = lines.reduce((a, l) => a + toScaled(l.amount.toFixed()), 0n);
    expect(lineSum).toBe(expected);
    // the daily series adds up to the same total, and the two days carry what happened on them
    const dailyTotal = s.daily.reduce((a, d) => a + toScaled(d.total), 0n);
    expect(dailyTotal).toBe(expected);
    expect(s.daily.find((d) => d.day === '2026-03-03')?.inference).toBe(
      fromScaled(2n * (expectCharge(777, '0.0006', 1000) + expectCharge(333, '0.0018', 1000))),
    );
    expect(s.breakdowns.job).toEqual([{ key: 'job1', amount: fromScaled(expectedByCategory.training), lines: 4 }]);
    expect(s.breakdowns.apiKey[0]).toMatchObject({ key: 'key1', lines: 10 });
    // month to date on the 16th (half of March's 31 days gone): forecast = mtd × 31 / 15
    expect(s.monthToDate.amount).toBe(fromScaled(expected));
    const forecastCents = (expected * 31n * 100n) / (15n * SCALE);
    expect(Math.abs(Number(s.monthToDate.forecast) * 100 - Number(forecastCents))).toBeLessThanOrEqual(1);
    const report = await usageReport({ workspaceId: ws, from: '2026-03-02', to: '2026-03-02' }, {}, db.prisma);
    expect(report.lines.every((l) => l.occurredAt.toISOString().startsWith('2026-03-02'))).toBe(true);
    // CSV: a header + one row per line, amounts as written
    const csv = ledgerCsv(lines);
    expect(csv.trim().split('\r\n')).toHaveLength(lines.length + 1);
    const st = await monthlyStatement(ws, '2026-03', now, db.prisma);
    expect(st.items.reduce((a, i) => a + toScaled(i.amount), 0n)).toBe(expected);
  });

  it('a price change takes effect from its date and never touches past lines', async () => {
    const before = await db.prisma.usageRecord.findMany({ where: { workspaceId: ws }, orderBy: { id: 'asc' } });
    await createPriceList(
      {
        workspaceId: null,
        name: 'April',
        currency: 'USD',
        effectiveFrom: new Date('2026-04-01T00:00:00Z'),
        items: [{ category: 'training', meter: 'training_tokens', unit: '1K tokens', unitPrice: '0.01' }],
      },
      db.prisma,
    );
    const after = await db.prisma.usageRecord.findMany({ where: { workspaceId: ws }, orderBy: { id: 'asc' } });
    expect(after).toEqual(before);
    const april = await chargeTraining(
      {
        workspaceId: ws,
        jobId: 'job2',
        baseModel: 'qwen-7b',
        method: 'sft_full',
        tokens: 2000,
        idempotencyKey: 'training:job2:step:1',
        occurredAt: new Date('2026-04-02T00:00:00Z'),
      },
      db.prisma,
    );
    // the April list has no qwen-7b item, and a newer list supersedes the March one entirely
    expect(april.record.amount.toFixed()).toBe('0.02');
    // the ledger refuses rewrites at the database too
    await expect(
      db.prisma.usageRecord.update({ where: { id: before[0].id }, data: { amount: '0' } }),
    ).rejects.toThrow();
  });
});

describe('budgets', () => {
  it('alerts once per threshold and month, and the hard limit refuses new jobs', async () => {
    const now = new Date('2026-03-20T00:00:00Z');
    // march spend so far (scripted month): set a budget the spend is between 80% and 100% of, then exceed it
    const s = await workspaceSummary(ws, {}, now, db.prisma);
    const spent = Number(s.monthToDate.amount);
    await upsertBudgetRow(
      ws,
      { amount: (spent / 0.9).toFixed(2), currency: 'USD', thresholds: [50, 80, 100], hardLimit: true },
      db.prisma,
    );
    expect((await checkBudgetAlerts(ws, now, db.prisma)).map((a) => a.threshold)).toEqual([50, 80]);
    expect(await checkBudgetAlerts(ws, now, db.prisma)).toEqual([]);
    await expect(assertWithinBudget(ws, now, db.prisma)).resolves.toBeUndefined();
    await chargeInference(
      {
        workspaceId: ws,
        requestId: 'big',
        model: 'base-chat',
        inputTokens: 0,
        outputTokens: 50_000_000,
        occurredAt: new Date('2026-03-19T00:00:00Z'),
      },
      db.prisma,
    );
    const err = await assertWithinBudget(ws, now, db.prisma).catch((e) => e);
    expect(err).toBeInstanceOf(BillingError);
    expect(err.code).toBe('budget_exceeded');
    expect(
      (await db.prisma.budgetAlert.findMany({ where: { workspaceId: ws } })).map((a) => a.threshold).sort(),
    ).toEqual([100, 50, 80]);
    // each alert is in the workspace's audit log once
    const audit = await db.prisma.auditLog.findMany({ where: { workspaceId: ws, action: 'budget.alert' } });
    expect(audit.map((a) => (a.data as { threshold: number }).threshold).sort()).toEqual([100, 50, 80]);
    // without the hard limit the same spend only alerts
    await upsertBudgetRow(ws, { amount: '1', currency: 'USD', thresholds: [50, 80, 100], hardLimit: false }, db.prisma);
    await expect(assertWithinBudget(ws, now, db.prisma)).resolves.toBeUndefined();
    // another workspace is untouched
    await expect(assertWithinBudget(other, now, db.prisma)).resolves.toBeUndefined();
  });
});

describe('storage', () => {
  it('accrues GB-months per day from stored bytes, once per day', async () => {
    // 3 GB of dataset versions in workspace "other": each March day is 3/31 GB-months at 0.02 per GB-month
    const ds = await db.prisma.dataset.create({ data: { workspaceId: other, name: 'big' } });
    await db.prisma.datasetVersion.create({
      data: {
        workspaceId: other,
        datasetId: ds.id,
        number: 1,
        format: 'chatml',
        objectKey: 'k',
        sha256: '0'.repeat(64),
        sizeBytes: 3_000_000_000n,
      },
    });
    const at = new Date('2026-03-10T12:00:00Z');
    const first = await accrueStorage(at, db.prisma);
    expect(first.linesCreated).toBe(1);
    expect((await accrueStorage(new Date('2026-03-10T18:00:00Z'), db.prisma)).linesCreated).toBe(0);
    const line = await db.prisma.usageRecord.findUniqueOrThrow({
      where: { idempotencyKey: `storage:${other}:2026-03-10` },
    });
    // quantity: 3/31 rounded half-up to 8 decimals, computed here in integers of 1e-8
    const q8 = (3n * 10n ** 8n * 2n + 31n) / (31n * 2n);
    expect(line.quantity.toFixed()).toBe(`0.${q8.toString().padStart(8, '0')}`);
    expect(toScaled(line.amount.toFixed())).toBe((q8 * 10n ** 4n * toScaled('0.02')) / 10n ** 12n);
    expect(line.occurredAt.toISOString()).toBe('2026-03-10T00:00:00.000Z');
  });
});

describe('default prices', () => {
  it('a fresh instance seeds the default list and can price every meter', async () => {
    const fresh = await createTestDatabase();
    try {
      const w = (await fresh.prisma.workspace.create({ data: { name: 'F', slug: 'f' } })).id;
      for (const meter of [
        'training_tokens',
        'input_tokens',
        'output_tokens',
        'deployment_hours',
        'storage_gb_months',
      ] as const) {
        const p = await resolvePrice({ workspaceId: w, meter }, fresh.prisma);
        expect(p.scope).toBe('instance');
      }
      expect(await fresh.prisma.priceList.count()).toBe(1);
    } finally {
      await fresh.drop();
    }
  });

  it('prices preference training with the seeded dpo and kto items, also on an instance priced before they existed (issue 15)', async () => {
    const fresh = await createTestDatabase();
    try {
      const w = (await fresh.prisma.workspace.create({ data: { name: 'F', slug: 'f' } })).id;
      // An instance whose default list predates the preference items: only the generic training price.
      await createPriceList(
        {
          workspaceId: null,
          name: 'Default',
          currency: 'USD',
          effectiveFrom: new Date(0),
          items: [{ category: 'training', meter: 'training_tokens', unit: '1K tokens', unitPrice: '0.003' }],
        },
        fresh.prisma,
      );
      const price = (method: string) =>
        resolvePrice({ workspaceId: w, meter: 'training_tokens', method }, fresh.prisma).then((p) =>
          p.unitPrice.toString(),
        );
      expect(await price('sft_lora')).toBe('0.003');
      // The dpo item (method "dpo") applies to every dpo method; seeded once, on the first preference lookup.
      expect(await price('dpo_lora')).toBe('0.006');
      expect(await price('dpo_full')).toBe('0.006');
      expect(await price('kto_lora')).toBe('0.006');
      expect(await price('sft_full')).toBe('0.003');
      expect(await fresh.prisma.priceItem.count({ where: { method: { in: ['dpo', 'kto'] } } })).toBe(2);
      // A price for the exact method beats the stage's item in the same list; another stage's never applies.
      await createPriceList(
        {
          workspaceId: w,
          name: 'W',
          currency: 'USD',
          effectiveFrom: new Date(0),
          items: [
            { category: 'training', meter: 'training_tokens', method: 'dpo', unit: '1K tokens', unitPrice: '0.01' },
            {
              category: 'training',
              meter: 'training_tokens',
              method: 'dpo_full',
              unit: '1K tokens',
              unitPrice: '0.02',
            },
          ],
        },
        fresh.prisma,
      );
      expect(await price('dpo_full')).toBe('0.02');
      expect(await price('dpo_lora')).toBe('0.01');
      expect(await price('kto_lora')).toBe('0.006');
      expect(await price('sft_lora')).toBe('0.003');
      // The estimate is the same code: tokens x epochs at the dpo item.
      const est = await estimateTrainingCost(
        { workspaceId: w, baseModel: null, method: 'kto_full', tokens: 2000, epochs: 3 },
        fresh.prisma,
      );
      expect(est.amount.toString()).toBe('0.036');
    } finally {
      await fresh.drop();
    }
  });

  it('concurrent first lookups all find a price and seed one list (a gateway answered 403 no_price to two of eight)', async () => {
    const fresh = await createTestDatabase();
    try {
      const w = (await fresh.prisma.workspace.create({ data: { name: 'F', slug: 'f' } })).id;
      const prices = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          resolvePrice({ workspaceId: w, meter: i % 2 ? 'input_tokens' : 'output_tokens' }, fresh.prisma),
        ),
      );
      expect(prices.map((p) => p.status)).toEqual(Array(12).fill('fulfilled'));
      expect(await fresh.prisma.priceList.count()).toBe(1);
    } finally {
      await fresh.drop();
    }
  });
});

describe('deployment hours are billed by the minute (issue 13, item 10)', () => {
  const start = new Date('2026-03-02T10:00:00Z');
  const at = (minutes: number) => new Date(start.getTime() + minutes * 60_000);

  it('charges a deployment stopped one minute after it started 1/60 of an hour, not a whole hour', () => {
    // running for a minute: nothing yet (no whole hour is charged up front)
    expect(billedHours(start, at(1), false)).toEqual([]);
    // stopped after a minute: one started minute
    expect(billedHours(start, at(1), true)).toEqual([{ index: 0, minutes: 1 }]);
    // 30 seconds count as a started minute
    expect(billedHours(start, new Date(start.getTime() + 30_000), true)).toEqual([{ index: 0, minutes: 1 }]);
  });

  it('charges complete hours while running and the partial last hour once the run is over', () => {
    expect(billedHours(start, at(130), false)).toEqual([
      { index: 0, minutes: 60 },
      { index: 1, minutes: 60 },
    ]);
    expect(billedHours(start, at(130), true)).toEqual([
      { index: 0, minutes: 60 },
      { index: 1, minutes: 60 },
      { index: 2, minutes: 10 },
    ]);
    expect(billedHours(start, at(120), true)).toHaveLength(2);
  });

  it('settles a stopped run: 1 minute of 2 replicas at 2.5 / hour is 2 × 1/60 h', async () => {
    const dep = await db.prisma.deployment.create({
      data: {
        workspaceId: other,
        name: 'one-minute',
        workerClass: 'gpu-small',
        replicas: 2,
        status: 'stopped',
        startedAt: at(0),
        stoppedAt: at(1),
      },
    });
    const r = await settleDeploymentRun(dep.id, at(5), db.prisma);
    expect(r.linesCreated).toBe(1);
    expect((await settleDeploymentRun(dep.id, at(6), db.prisma)).linesCreated).toBe(0);
    const [line] = await db.prisma.usageRecord.findMany({ where: { deploymentId: dep.id } });
    expect(line.unit).toBe('hour');
    expect(line.quantity.toFixed()).toBe('0.03333333');
    expect(line.amount.toFixed()).toBe(new Prisma.Decimal('0.03333333').mul('2.5').toFixed());
  });
});
