import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropPrefix } from '@crucible/jobs/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TIo } from '../admin/io';
import { runJobsCommand } from './index';

/**
 * `crucible models import` and `crucible jobs ...` against a fresh database, real Redis (a private key prefix)
 * and local storage. No worker runs here: a created job waits in the queue, which is what cancel is tried on.
 */
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const root = mkdtempSync(join(tmpdir(), 'crucible-cli-jobs-'));
const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const saved = { ...process.env };
let drop: (() => Promise<void>) | undefined;
let workspaceId = '';
let publishedId = '';
let draftId = '';

beforeAll(async () => {
  const { createTestDatabase } = await import('@crucible/db/testing');
  const db = await createTestDatabase();
  drop = db.drop;
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    REDIS_PREFIX: prefix,
    STORAGE_DRIVER: 'local',
    STORAGE_DIR: join(root, 'storage'),
  });
  const ws = await db.prisma.workspace.create({ data: { name: 'Acme', slug: 'acme' } });
  workspaceId = ws.id;
  const { getStorage } = await import('@crucible/storage');
  const ds = await db.prisma.dataset.create({ data: { workspaceId, name: 'chats' } });
  for (const [n, status] of [
    [1, 'published'],
    [2, 'draft'],
  ] as const) {
    const objectKey = `workspaces/${workspaceId}/datasets/${ds.id}/v${n}.jsonl`;
    await getStorage().putObject(objectKey, Buffer.from('{"messages":[]}\n'));
    const v = await db.prisma.datasetVersion.create({
      data: {
        workspaceId,
        datasetId: ds.id,
        number: n,
        status,
        format: 'chatml',
        objectKey,
        sha256: '0'.repeat(64),
        rowCount: 40,
      },
    });
    if (status === 'published') publishedId = v.id;
    else draftId = v.id;
  }
});

afterAll(async () => {
  const { disconnectAll } = await import('@crucible/db');
  const jobs = await import('@crucible/jobs');
  await disconnectAll();
  await jobs.closeQueues();
  const redis = jobs.createRedisConnection();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await jobs.closeRedisConnection();
  await drop?.();
  process.env = saved;
  rmSync(root, { recursive: true, force: true });
});

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const io: TIo = { out: (t) => (out += t), err: (t) => (err += t) };
  const code = await runJobsCommand(argv, io, { close: false });
  return { code, out, err };
}

describe('crucible models import / jobs', () => {
  it('imports a model directory as a base model, files in storage, parameters counted', async () => {
    const { initModel, loadWeights } = await import('@crucible/trainer');
    const dir = join(root, 'tiny');
    await initModel({ arch: 'qwen2', layers: 2, hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, seed: 1 }, dir);
    const r = await run(['models', 'import', dir, '--workspace', 'acme', '--name', 'tiny']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);

    const { getPrisma } = await import('@crucible/db');
    const { getStorage } = await import('@crucible/storage');
    const base = await getPrisma().baseModel.findFirstOrThrow({ where: { workspaceId, name: 'tiny' } });
    expect(base).toMatchObject({
      arch: 'qwen2',
      status: 'ready',
      source: 'local',
      objectKey: `workspaces/${workspaceId}/models/${base.id}`,
    });
    // Independent count: the training core's own safetensors reader.
    const weights = await loadWeights(dir);
    const expected = [...weights.values()].reduce((s, t) => s + t.data.length, 0);
    expect(Number(base.parameterCount)).toBe(expected);
    const keys = (await getStorage().listObjects(`${base.objectKey}/`)).map((o) =>
      o.key.slice(base.objectKey!.length + 1),
    );
    expect(keys).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));

    const again = await run(['models', 'import', dir, '--workspace', 'acme', '--name', 'tiny']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already has a base model named "tiny"/);
    expect((await run(['models', 'import', '--workspace', 'acme'])).code).toBe(2);
  });

  it('creates, lists, shows and cancels a job; refuses a draft version', async () => {
    const draft = await run([
      'jobs',
      'create',
      '--workspace',
      'acme',
      '--model',
      'tiny',
      '--training-version',
      draftId,
    ]);
    expect(draft.code).toBe(1);
    expect(draft.err).toMatch(/is a draft: publish it/);

    const c = await run([
      'jobs',
      'create',
      '--workspace',
      'acme',
      '--model',
      'tiny',
      '--training-version',
      publishedId,
      '--epochs',
      'auto',
      '--learning-rate',
      '0.0002',
      '--suffix',
      'cli',
    ]);
    expect(c.err).toBe('');
    expect(c.code).toBe(0);
    const id = c.out.trim();

    const { getPrisma } = await import('@crucible/db');
    const row = await getPrisma().trainingJob.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ status: 'validating_files', method: 'sft_lora', suffix: 'cli' });
    // 40 examples: OpenAI's auto gives ceil(100 / 40) = 3 epochs; LoRA defaults from LLaMA-Factory.
    expect(row.hyperparameters).toMatchObject({ epochs: 3, learningRate: 0.0002, loraRank: 8, loraAlpha: 16 });
    const { getQueue } = await import('@crucible/jobs');
    const queued = await getQueue('training', { prefix }).getJob(row.queueJobId!);
    expect(queued?.data).toEqual({ jobId: id });

    const list = await run(['jobs', 'list', '--workspace', 'acme']);
    expect(list.out).toContain(`${id}\tvalidating_files\ttiny\tchats v1`);
    const get = await run(['jobs', 'get', id, '--workspace', 'acme']);
    expect(JSON.parse(get.out)).toMatchObject({ id, status: 'validating_files', baseModel: 'tiny' });

    const cancel = await run(['jobs', 'cancel', id, '--workspace', 'acme']);
    expect(cancel.out).toBe(`cancelled ${id}\n`);
    expect((await getPrisma().trainingJob.findUniqueOrThrow({ where: { id } })).status).toBe('cancelled');
    const events = await run(['jobs', 'events', id, '--workspace', 'acme']);
    expect(events.out).toMatch(/info {2}Job created from the CLI\.\n.*info {2}Cancel requested \(CLI\)\.\n$/s);
    const twice = await run(['jobs', 'cancel', id, '--workspace', 'acme']);
    expect(twice).toMatchObject({
      code: 1,
      err: 'crucible jobs cancel: The job is already cancelled; only a job that has not finished can be cancelled.\n',
    });
    expect((await run(['jobs', 'get', 'nope', '--workspace', 'acme'])).code).toBe(1);
  });
});

/**
 * `crucible jobs create` is the console's createJob (issue 17): the CLI used to write the row itself and skipped
 * these rules. Each refusal leaves no job behind; a job the queue does not take is marked failed, not left waiting.
 */
describe('crucible jobs create: the platform rules hold from the CLI', () => {
  const create = (model: string, version: string) =>
    run(['jobs', 'create', '--workspace', 'acme', '--model', model, '--training-version', version]);
  const jobCount = async () => {
    const { getPrisma } = await import('@crucible/db');
    return getPrisma().trainingJob.count({ where: { workspaceId } });
  };

  it('refuses a job once the hard budget limit is reached', async () => {
    const { upsertBudgetRow, deleteBudgetRow } = await import('@crucible/db/billing');
    const { chargeTraining } = await import('@crucible/billing');
    // 100K trained tokens at the default 0.003 / 1K = 0.30 USD spent, over a 0.01 USD hard limit.
    await chargeTraining({
      workspaceId,
      jobId: 'job-over-budget',
      baseModel: 'tiny',
      method: 'sft_lora',
      tokens: 100_000,
      idempotencyKey: 'training:job-over-budget:1',
    });
    await upsertBudgetRow(workspaceId, { amount: '0.01', currency: 'USD', thresholds: [100], hardLimit: true });
    try {
      const before = await jobCount();
      const r = await create('tiny', publishedId);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^crucible jobs create: This workspace has spent .* which is a hard limit/);
      expect(await jobCount()).toBe(before);
    } finally {
      await deleteBudgetRow(workspaceId);
    }
  });

  it('refuses a base model that is not ready', async () => {
    const { getPrisma } = await import('@crucible/db');
    await getPrisma().baseModel.create({
      data: { workspaceId, name: 'half-uploaded', arch: 'qwen2', status: 'downloading' },
    });
    const before = await jobCount();
    const r = await create('half-uploaded', publishedId);
    expect(r).toMatchObject({
      code: 1,
      err: 'crucible jobs create: Base model half-uploaded is downloading, not ready.\n',
    });
    expect(await jobCount()).toBe(before);
  });

  it('refuses a published version of a deleted dataset', async () => {
    const { getPrisma } = await import('@crucible/db');
    const prisma = getPrisma();
    const ds = await prisma.dataset.create({ data: { workspaceId, name: 'gone' } });
    const v = await prisma.datasetVersion.create({
      data: {
        workspaceId,
        datasetId: ds.id,
        number: 1,
        status: 'published',
        format: 'chatml',
        objectKey: `workspaces/${workspaceId}/datasets/${ds.id}/v1.jsonl`,
        sha256: '0'.repeat(64),
        rowCount: 40,
      },
    });
    await prisma.dataset.update({ where: { id: ds.id }, data: { deletedAt: new Date() } });
    const before = await jobCount();
    const r = await create('tiny', v.id);
    expect(r).toMatchObject({ code: 1, err: `crucible jobs create: No dataset version ${v.id} in this workspace.\n` });
    expect(await jobCount()).toBe(before);
  });

  it('marks the job failed with queue_unavailable when Redis does not take it', async () => {
    const jobs = await import('@crucible/jobs');
    const { getPrisma } = await import('@crucible/db');
    // A Redis nobody listens on: the add never lands and enqueue gives up after its 5 s limit.
    await jobs.closeQueues();
    await jobs.closeRedisConnection();
    process.env.REDIS_URL = 'redis://127.0.0.1:1';
    // The connection and the queue log each refused reconnect; that is expected here.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await create('tiny', publishedId);
    } finally {
      quiet.mockRestore();
      await jobs.closeQueues();
      jobs.getRedisConnection().disconnect();
      await jobs.closeRedisConnection();
      process.env.REDIS_URL = saved.REDIS_URL ?? '';
    }
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^crucible jobs create: The job queue did not take the job: Redis did not accept/);
    const row = await getPrisma().trainingJob.findFirstOrThrow({
      where: { workspaceId },
      orderBy: { createdAt: 'desc' },
    });
    expect(row).toMatchObject({ status: 'failed', errorCode: 'queue_unavailable', queueJobId: null });
    expect(row.finishedAt).toBeInstanceOf(Date);
  });
});
