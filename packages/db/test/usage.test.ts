import { Prisma } from '@prisma/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TTestDatabase } from '../src/testing';
import { appendUsage } from '../src/usage';

let db: TTestDatabase;
let workspaceId: string;
let otherWorkspaceId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  workspaceId = (await db.prisma.workspace.create({ data: { name: 'W', slug: 'w' } })).id;
  otherWorkspaceId = (await db.prisma.workspace.create({ data: { name: 'X', slug: 'x' } })).id;
});
afterAll(() => db?.drop());

const line = (key: string, extra: Partial<Parameters<typeof appendUsage>[0]> = {}) => ({
  workspaceId,
  category: 'inference' as const,
  meter: 'output_tokens',
  quantity: '1.234',
  unit: '1K tokens',
  unitPrice: '0.0020000000',
  amount: '0.002468',
  currency: 'USD',
  idempotencyKey: key,
  ...extra,
});

describe('appendUsage', () => {
  it('records a line with exact decimals', async () => {
    const { record, created } = await appendUsage(line('req-1', { apiKeyId: 'key_1', modelId: 'ft:m' }), db.prisma);
    expect(created).toBe(true);
    expect(record.amount.toString()).toBe('0.002468');
    expect(record.quantity.toString()).toBe('1.234');
    expect(record).toMatchObject({ workspaceId, category: 'inference', apiKeyId: 'key_1', modelId: 'ft:m' });
  });

  it('a duplicate idempotency key returns the existing line and never charges twice', async () => {
    const first = await appendUsage(line('req-dup'), db.prisma);
    // a retry with a different amount (say, the price changed between attempts) still returns the first charge
    const again = await appendUsage(line('req-dup', { amount: '99' }), db.prisma);
    expect(again.created).toBe(false);
    expect(again.record.id).toBe(first.record.id);
    expect(again.record.amount.toString()).toBe('0.002468');
    expect(await db.prisma.usageRecord.count({ where: { idempotencyKey: 'req-dup' } })).toBe(1);
  });

  it('concurrent deliveries of one event charge once', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        appendUsage(line('req-race', { category: 'training', meter: 'training_tokens' }), db.prisma),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.record.id)).size).toBe(1);
    const sum = await db.prisma.usageRecord.aggregate({
      where: { idempotencyKey: 'req-race' },
      _sum: { amount: true },
    });
    expect(sum._sum.amount?.toString()).toBe('0.002468');
  });

  it('works inside a transaction, duplicate included, without aborting it', async () => {
    const ids = await db.prisma.$transaction(async (tx) => {
      const a = await appendUsage(line('req-tx'), tx);
      const b = await appendUsage(line('req-tx'), tx);
      await tx.auditLog.create({ data: { workspaceId, action: 'usage.test' } }); // the transaction is still usable
      return [a.record.id, b.record.id, b.created];
    });
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(false);
  });

  it('refuses a key already used by another workspace', async () => {
    await appendUsage(line('req-shared'), db.prisma);
    await expect(appendUsage(line('req-shared', { workspaceId: otherWorkspaceId }), db.prisma)).rejects.toMatchObject({
      code: 'idempotency_conflict',
    });
  });

  it('refuses floats, bad currencies and empty keys with invalid_input', async () => {
    await expect(appendUsage(line('f1', { amount: 0.1 }), db.prisma)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(appendUsage(line('f2', { currency: 'usd' }), db.prisma)).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(appendUsage(line(''), db.prisma)).rejects.toMatchObject({ code: 'invalid_input' });
    // integers, bigints and Prisma.Decimal are exact
    const r = await appendUsage(line('f3', { amount: new Prisma.Decimal('1.10'), quantity: 3n }), db.prisma);
    expect([r.record.amount.toString(), r.record.quantity.toString()]).toEqual(['1.1', '3']);
  });

  it('sums exactly: 0.1 + 0.2 is 0.3 in the ledger', async () => {
    await appendUsage(line('sum-1', { workspaceId: otherWorkspaceId, amount: '0.1' }), db.prisma);
    await appendUsage(line('sum-2', { workspaceId: otherWorkspaceId, amount: '0.2' }), db.prisma);
    const sum = await db.prisma.usageRecord.aggregate({
      where: { workspaceId: otherWorkspaceId },
      _sum: { amount: true },
    });
    expect(sum._sum.amount?.toString()).toBe('0.3');
  });
});
