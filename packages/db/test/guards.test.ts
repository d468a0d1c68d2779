/** Database-level guards from prisma/migrations/*_ledger_and_version_guards and the schema's foreign keys. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TTestDatabase } from '../src/testing';
import { appendUsage } from '../src/usage';

let db: TTestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

let seq = 0;
async function workspaceWithVersion() {
  const n = ++seq;
  const p = db.prisma;
  const ws = await p.workspace.create({ data: { name: `W${n}`, slug: `w${n}` } });
  const dataset = await p.dataset.create({ data: { workspaceId: ws.id, name: 'chat' } });
  const version = await p.datasetVersion.create({
    data: {
      workspaceId: ws.id,
      datasetId: dataset.id,
      number: 1,
      format: 'chatml',
      objectKey: `workspaces/${ws.id}/datasets/${dataset.id}/v1.jsonl`,
      sha256: 'a'.repeat(64),
      rowCount: 10,
    },
  });
  return { ws, dataset, version };
}

const usage = (workspaceId: string, key: string) => ({
  workspaceId,
  category: 'training' as const,
  meter: 'training_tokens',
  quantity: '12',
  unit: '1K tokens',
  amount: '0.36',
  currency: 'CNY',
  idempotencyKey: key,
});

describe('usage ledger is append-only', () => {
  it('refuses UPDATE and DELETE of a line', async () => {
    const { ws } = await workspaceWithVersion();
    const { record } = await appendUsage(usage(ws.id, `g-${ws.id}`), db.prisma);
    await expect(db.prisma.usageRecord.update({ where: { id: record.id }, data: { amount: '0' } })).rejects.toThrow(
      /append-only/,
    );
    await expect(db.prisma.usageRecord.delete({ where: { id: record.id } })).rejects.toThrow(/append-only/);
    await expect(db.prisma.$executeRawUnsafe(`DELETE FROM usage_record`)).rejects.toThrow(/append-only/);
    expect((await db.prisma.usageRecord.findUniqueOrThrow({ where: { id: record.id } })).amount.toString()).toBe(
      '0.36',
    );
  });

  it('goes with its workspace when the whole workspace is deleted', async () => {
    const { ws } = await workspaceWithVersion();
    await appendUsage(usage(ws.id, `h-${ws.id}`), db.prisma);
    await db.prisma.workspace.delete({ where: { id: ws.id } });
    expect(await db.prisma.usageRecord.count({ where: { workspaceId: ws.id } })).toBe(0);
  });
});

describe('dataset versions', () => {
  it('a draft may change; a published version may not, nor be unpublished', async () => {
    const { version } = await workspaceWithVersion();
    const p = db.prisma;
    await p.datasetVersion.update({ where: { id: version.id }, data: { rowCount: 11, stats: { rows: 11 } } });
    await p.datasetVersion.update({
      where: { id: version.id },
      data: { status: 'published', publishedAt: new Date() },
    });
    await expect(p.datasetVersion.update({ where: { id: version.id }, data: { rowCount: 12 } })).rejects.toThrow(
      /immutable/,
    );
    await expect(
      p.datasetVersion.update({ where: { id: version.id }, data: { sha256: 'b'.repeat(64) } }),
    ).rejects.toThrow(/immutable/);
    await expect(p.datasetVersion.update({ where: { id: version.id }, data: { status: 'draft' } })).rejects.toThrow(
      /immutable/,
    );
    // descriptive statistics may still be filled in
    await p.datasetVersion.update({ where: { id: version.id }, data: { tokenCount: 1234n, tokenizer: 'qwen2' } });
    expect((await p.datasetVersion.findUniqueOrThrow({ where: { id: version.id } })).rowCount).toBe(11);
  });

  it('version numbers are unique per dataset', async () => {
    const { version } = await workspaceWithVersion();
    const { id: _id, createdAt: _c, updatedAt: _u, stats: _s, validationReport: _v, ...copy } = version;
    await expect(db.prisma.datasetVersion.create({ data: copy })).rejects.toMatchObject({ code: 'P2002' });
  });

  it('a version used by a training job cannot be deleted', async () => {
    const { ws, version } = await workspaceWithVersion();
    const p = db.prisma;
    const model = await p.baseModel.create({ data: { workspaceId: ws.id, name: 'tiny', arch: 'qwen2' } });
    await p.trainingJob.create({
      data: { workspaceId: ws.id, baseModelId: model.id, trainingFileId: version.id, hyperparameters: { n_epochs: 1 } },
    });
    await expect(p.datasetVersion.delete({ where: { id: version.id } })).rejects.toThrow();
    expect(await p.datasetVersion.count({ where: { id: version.id } })).toBe(1);
  });
});

describe('training metrics', () => {
  it('one row per job and step: a duplicate delivery cannot double a point', async () => {
    const { ws, version } = await workspaceWithVersion();
    const p = db.prisma;
    const model = await p.baseModel.create({ data: { workspaceId: ws.id, name: 'tiny', arch: 'qwen2' } });
    const job = await p.trainingJob.create({
      data: { workspaceId: ws.id, baseModelId: model.id, trainingFileId: version.id, hyperparameters: {} },
    });
    const point = { workspaceId: ws.id, jobId: job.id, step: 1, loss: 2.5 };
    await p.trainingMetric.createMany({ data: [point], skipDuplicates: true });
    const again = await p.trainingMetric.createMany({ data: [point, { ...point, step: 2 }], skipDuplicates: true });
    expect(again.count).toBe(1);
    expect(await p.trainingMetric.count({ where: { jobId: job.id } })).toBe(2);
  });
});
