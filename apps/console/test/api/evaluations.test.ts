// @vitest-environment node
/**
 * Evaluation jobs end to end (issue 16): the console's REST routes, a real serving worker process (workers/serving:
 * node-llama-cpp on CPU) taking `evaluation.run` from the evaluations queue, a tiny Qwen2 base and a LoRA fine-tune
 * of it, a judge deployment, on real Postgres, Redis and storage. Answers are checked against what the OpenAI gateway
 * answers for the same prompt (same engine, greedy), progress, cancel, a crash resumed without redoing stored
 * answers, the ledger, tenancy, blind A/B ratings, and OpenAI's Evals API through the official `openai` client.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scoreSimilarity } from '@crucible/metrics';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wilsonInterval } from '../../lib/server/evaluations/ratings';
import { chatCompletions } from '../../lib/server/gateway/handlers';
import { useTestStorage } from './datasets-helpers';
import {
  spawnEvaluationWorker,
  spawnServingWorker,
  stopServingWorker,
  tearDownServing,
  testWorkerEnv,
  tinyAdapter,
  tinyBase,
} from './gateway-fixtures';
import { APP_URL, addMember, call, makeWorkspace, signUp, startTestDatabase, type TCaller } from './helpers';

const prefix = `crucible-test-${randomUUID().slice(0, 12)}`;
const scratch = mkdtempSync(path.join(tmpdir(), 'crucible-eval-'));
const saved = { ...process.env };
const E = '/api/workspaces/[slug]/evaluations/[evaluationId]';

let owner: TCaller & { email: string; userId: string };
let viewer: TCaller & { email: string; userId: string };
let outsider: TCaller & { email: string; userId: string };
let key = '';
let wsId = '';
let worker: ReturnType<typeof spawnServingWorker> | null = null;
let baseId = '';
let ftId = '';
let judgeId = '';
let versionId = '';
let bigVersionId = '';
let firstAnswer = '';
const slug = 'ev-a';

const PROMPTS = ['Who are you?', 'Say hello.', 'Name a colour.', 'Count to three.'];
/** Rows of the dataset the cancel and crash tests run long enough to stop in the middle. */
const BIG = 12;

async function until<T>(
  what: string,
  fn: () => Promise<T | null | false | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${worker?.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const workerEnv = () => ({
  ...testWorkerEnv(prefix, path.join(scratch, 'cache')),
  SERVING_CONTEXT_SIZE: '1024',
  // One llama.cpp thread: on a shared 2-core machine two threads waited at every barrier (20x slower measured).
  SERVING_THREADS: '1',
});

async function startWorker() {
  worker = spawnServingWorker(workerEnv());
  const { getRedisConnection } = await import('@crucible/jobs');
  await until(
    'the serving worker in the registry',
    async () => (await getRedisConnection().keys(`${prefix}:serving:*`)).length,
    60_000,
  );
}

async function dataset(name: string, rows: { prompt: string; label: string }[]): Promise<string> {
  const { getPrisma } = await import('@crucible/db');
  const { writeVersion } = await import('@crucible/dataset-store');
  const ds = await getPrisma().dataset.create({ data: { workspaceId: wsId, name } });
  const jsonl = rows
    .map((r) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: r.prompt },
          { role: 'assistant', content: r.label },
        ],
      }),
    )
    .join('\n');
  const v = await writeVersion(
    { source: jsonl, fileName: `${name}.jsonl` },
    { workspaceId: wsId, datasetId: ds.id, userId: null },
  );
  return v.id;
}

/** The gateway's own greedy answer (the playground and /v1 path) to one prompt. */
async function gatewayAnswer(model: string, prompt: string, maxTokens: number): Promise<string> {
  const res = await chatCompletions(
    new Request(`${APP_URL}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model,
        messages: [{ role: 'user', content: prompt }],
        max_tokens: maxTokens,
        temperature: 0,
      }),
    }),
    {},
  );
  const body = (await res.json()) as { choices: { message: { content: string } }[] };
  expect(res.status).toBe(200);
  return body.choices[0].message.content;
}

const evaluation = (evaluationId: string, caller: TCaller = owner, s = slug) =>
  call('GET', E, { caller, params: { slug: s, evaluationId } });

async function finished(evaluationId: string, seen?: number[]) {
  return until('the evaluation to finish', async () => {
    const r = await evaluation(evaluationId);
    seen?.push(r.body.progress.done);
    return ['succeeded', 'failed', 'cancelled'].includes(r.body.status) ? r.body : null;
  });
}

beforeAll(async () => {
  useTestStorage();
  Object.assign(process.env, { REDIS_PREFIX: prefix, GATEWAY_RATE_LIMIT: '1000' });
  await startTestDatabase();
  owner = await signUp('ev-owner');
  viewer = await signUp('ev-viewer');
  outsider = await signUp('ev-outsider');
  wsId = (await makeWorkspace(owner, slug)).id;
  await addMember(owner, slug, viewer, 'viewer');
  await makeWorkspace(outsider, 'ev-b');
  key = (
    await call('POST', '/api/workspaces/[slug]/api-keys', { caller: owner, params: { slug }, body: { name: 'sdk' } })
  ).body.key;

  const { getPrisma } = await import('@crucible/db');
  const { getStorage, uploadDir } = await import('@crucible/storage');
  const prisma = getPrisma();
  const storage = getStorage();
  const baseDir = path.join(scratch, 'tiny');
  await tinyBase(baseDir);
  const base = await prisma.baseModel.create({ data: { workspaceId: wsId, name: 'tiny-qwen', arch: 'qwen2' } });
  baseId = base.id;
  const baseKey = `workspaces/${wsId}/models/${base.id}`;
  await uploadDir(storage, baseDir, baseKey);
  await prisma.baseModel.update({ where: { id: base.id }, data: { objectKey: baseKey } });
  const adapterDir = path.join(scratch, 'adapter');
  mkdirSync(adapterDir, { recursive: true });
  const gguf = await tinyAdapter(baseDir, adapterDir, 321);
  const adapterKey = `workspaces/${wsId}/jobs/job0/output/adapter.gguf`;
  await storage.putObject(adapterKey, readFileSync(gguf));
  ftId = 'ftmodeleval0';
  await prisma.fineTunedModel.create({
    data: {
      id: ftId,
      workspaceId: wsId,
      name: `ft:tiny-qwen:${slug}:v0:modeval0`,
      baseModelId: base.id,
      method: 'sft_lora',
      ggufAdapterObjectKey: adapterKey,
    },
  });

  await startWorker();
  // The label of the first row is the base model's own greedy answer: its exact match must be 100 there.
  firstAnswer = await gatewayAnswer('tiny-qwen', PROMPTS[0], 12);
  versionId = await dataset('eval-set', [
    { prompt: PROMPTS[0], label: firstAnswer },
    ...PROMPTS.slice(1).map((p) => ({ prompt: p, label: `a reference answer to "${p}"` })),
  ]);
  bigVersionId = await dataset(
    'eval-big',
    Array.from({ length: BIG }, (_, i) => ({ prompt: `${PROMPTS[i % 4]} (${i})`, label: `answer ${i}` })),
  );
  const dep = await call('POST', '/api/workspaces/[slug]/deployments', {
    caller: owner,
    params: { slug },
    body: { name: 'judge', modelId: base.id, modelKind: 'base', contextSize: 1024 },
  });
  expect(dep.status).toBe(201);
  judgeId = dep.body.id;
  await until('the judge deployment', async () => {
    const d = await call('GET', '/api/workspaces/[slug]/deployments/[deploymentId]', {
      caller: owner,
      params: { slug, deploymentId: judgeId },
    });
    if (d.body.status === 'failed') throw new Error(JSON.stringify(d.body.error));
    return d.body.status === 'running';
  });
}, 240_000);

afterAll(async () => {
  await tearDownServing({ prefix, scratch, env: saved, workers: [worker], server: evalsServer });
}, 60_000);

const create = (body: unknown, caller: TCaller = owner) =>
  call('POST', '/api/workspaces/[slug]/evaluations', { caller, params: { slug }, body });

let mainEval = '';

describe('an evaluation of a base model and its fine-tune', () => {
  it('answers every row with both models on the serving path, scores them, and shows progress as it goes', async () => {
    const res = await create({
      name: 'base vs ft',
      models: [
        { kind: 'base', id: baseId },
        { kind: 'fine_tuned', id: ftId },
      ],
      source: { datasetVersionId: versionId },
      settings: { maxNewTokens: 12, temperature: 0 },
      criteria: [
        { type: 'similarity' },
        { type: 'exact_match' },
        { type: 'json_schema', schema: { type: 'object', required: ['answer'] } },
        { type: 'judge', deploymentId: judgeId, rubric: 'Is the answer correct and polite?' },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'queued', rowCount: 4, progress: { done: 0, total: 8 } });
    mainEval = res.body.id;
    const seen: number[] = [];
    const done = await finished(mainEval, seen);
    expect(done.status).toBe('succeeded');
    expect(done.progress).toEqual({ done: 8, total: 8 });
    // progress only grows, and was seen short of the end while it ran
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.some((d) => d < 8)).toBe(true);

    const rows = await call('GET', `${E}/rows`, {
      caller: owner,
      params: { slug, evaluationId: mainEval },
      headers: {},
    });
    expect(rows.status).toBe(200);
    expect(rows.body.total).toBe(4);
    const first = rows.body.data[0];
    expect(first.label).toBe(firstAnswer);
    expect(first.outputs.map((o: { modelIndex: number }) => o.modelIndex)).toEqual([0, 1]);
    // The same engine as the gateway: the base model's answer is the gateway's, word for word.
    expect(first.outputs[0].text).toBe(firstAnswer);
    expect(first.outputs[0].scores.exact_match).toBe(100);
    // Each answer of each model, to the other prompts, is what the gateway answers too.
    for (const r of rows.body.data.slice(1)) {
      expect(r.outputs[1].text).toBe(await gatewayAnswer(`ft:tiny-qwen:${slug}:v0:modeval0`, PROMPTS[r.index], 12));
    }
    // BLEU-4 and ROUGE as LLaMA-Factory computes them (@crucible/metrics): an answer equal to its label scores 100.
    for (const k of ['bleu-4', 'rouge-1', 'rouge-2', 'rouge-l']) expect(first.outputs[0].scores[k]).toBe(100);
    for (const r of rows.body.data) {
      for (const o of r.outputs) {
        expect(o.scores).toMatchObject(scoreSimilarity(o.text, r.label));
        expect(o.scores.exact_match).toBe(o.text.trim() === r.label.trim() ? 100 : 0);
        expect([0, 100]).toContain(o.scores.json_valid);
        if (o.scores.json_valid === 0) expect(o.details.json_error).toEqual(expect.any(String));
        // The judge's reply is held to {"score": 1..10, "reason"} by a grammar: always a score and a reason.
        expect(Number.isInteger(o.scores.judge) && o.scores.judge >= 1 && o.scores.judge <= 10).toBe(true);
        expect(typeof o.details.judge_reason).toBe('string');
      }
    }
    // The metric table: each model's mean of its stored scores.
    const table = done.results as { index: number; answered: number; means: Record<string, number | null> }[];
    expect(table.map((m) => m.answered)).toEqual([4, 4]);
    for (const m of table) {
      const mine = rows.body.data.map((r: { outputs: { modelIndex: number; scores: Record<string, number> }[] }) =>
        r.outputs.find((o) => o.modelIndex === m.index),
      );
      const mean = (k: string) =>
        mine.reduce((n: number, o: { scores: Record<string, number> }) => n + o.scores[k], 0) / 4;
      expect(m.means.exact_match).toBeCloseTo(mean('exact_match'), 10);
      expect(m.means['rouge-l']).toBeCloseTo(mean('rouge-l'), 10);
      expect(m.means.judge).toBeCloseTo(mean('judge'), 10);
    }
    expect(done.metrics).toEqual(['bleu-4', 'rouge-1', 'rouge-2', 'rouge-l', 'exact_match', 'json_valid', 'judge']);
  }, 300_000);

  it('charges every answer and every judge reply as inference tokens, once', async () => {
    const { getPrisma } = await import('@crucible/db');
    const prisma = getPrisma();
    const outputs = await prisma.evaluationOutput.findMany({ where: { evaluationId: mainEval } });
    const lines = await prisma.usageRecord.findMany({
      where: { workspaceId: wsId, idempotencyKey: { startsWith: `inference:eval-${mainEval}-` } },
    });
    for (const o of outputs) {
      const input = lines.find(
        (l) => l.idempotencyKey === `inference:eval-${mainEval}-${o.modelIndex}-${o.rowIndex}:input`,
      );
      expect(input).toMatchObject({ category: 'inference', meter: 'input_tokens' });
      expect(input?.metadata).toMatchObject({ tokens: o.promptTokens, evaluationId: mainEval });
      const judged = lines.filter((l) =>
        l.idempotencyKey.startsWith(`inference:eval-${mainEval}-${o.modelIndex}-${o.rowIndex}-judge:`),
      );
      expect(judged.map((l) => l.meter).sort()).toEqual(['input_tokens', 'output_tokens']);
      expect(judged[0].deploymentId).toBe(judgeId);
    }
    // the fine-tune's lines are reported under its own model; prices per 1K tokens from the default list
    const ftLine = lines.find((l) => l.idempotencyKey === `inference:eval-${mainEval}-1-0:output`);
    expect(ftLine?.modelId).toBe(ftId);
    expect(lines.length).toBeGreaterThanOrEqual(outputs.length * 3);
  });

  it('sorts rows by disagreement and exports CSV and JSONL', async () => {
    const url = `${APP_URL}/api/workspaces/${slug}/evaluations/${mainEval}/rows?sort=disagreement&metric=judge&limit=4`;
    const { ROUTES } = await import('../../lib/server/route-table');
    const rowsRoute = ROUTES.find((r) => r.path === `${E}/rows`)!;
    const res = await rowsRoute.handler(new Request(url, { headers: { cookie: viewer.cookie ?? '' } }), {
      slug,
      evaluationId: mainEval,
    });
    const body = (await res.json()) as {
      metric: string;
      data: { spread: number; outputs: { scores: { judge: number } }[] }[];
    };
    expect(body.metric).toBe('judge');
    for (const r of body.data) {
      const js = r.outputs.map((o) => o.scores.judge);
      expect(r.spread).toBe(Math.max(...js) - Math.min(...js));
    }
    expect(body.data.map((r) => r.spread)).toEqual(body.data.map((r) => r.spread).sort((a, b) => b - a));

    const exportRoute = ROUTES.find((r) => r.path === `${E}/export`)!;
    const csv = await exportRoute.handler(
      new Request(`${APP_URL}/api/workspaces/${slug}/evaluations/${mainEval}/export?format=csv`, {
        headers: { cookie: viewer.cookie ?? '' },
      }),
      { slug, evaluationId: mainEval },
    );
    expect(csv.headers.get('content-disposition')).toContain(`evaluation-${mainEval}.csv`);
    const text = await csv.text();
    const lines = text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'row,model,prompt,label,answer,finish_reason,prompt_tokens,completion_tokens,bleu-4,rouge-1,rouge-2,rouge-l,exact_match,json_valid,judge,judge_reason,error',
    );
    expect(lines[1].startsWith('1,tiny-qwen,user: Who are you?,')).toBe(true);
    const jsonl = await exportRoute.handler(
      new Request(`${APP_URL}/api/workspaces/${slug}/evaluations/${mainEval}/export?format=jsonl`, {
        headers: { cookie: viewer.cookie ?? '' },
      }),
      { slug, evaluationId: mainEval },
    );
    const objects = (await jsonl.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(objects).toHaveLength(4);
    expect(objects[0]).toMatchObject({
      row: 1,
      label: firstAnswer,
      answers: [{ model: 'tiny-qwen', text: firstAnswer }, {}],
    });
  });

  it('answers 404 to a non-member and through another workspace, and refuses a viewer creating one', async () => {
    expect((await evaluation(mainEval, outsider)).status).toBe(404);
    expect((await evaluation(mainEval, outsider, 'ev-b')).status).toBe(404);
    expect((await evaluation(mainEval, owner, 'ev-b')).status).toBe(404);
    const v = await create(
      {
        name: 'x',
        models: [{ kind: 'base', id: baseId }],
        source: { datasetVersionId: versionId },
        criteria: [{ type: 'exact_match' }],
      },
      viewer,
    );
    expect(v.status).toBe(403);
  });

  it('refuses bad input with the field at fault', async () => {
    const noJudge = await create({
      name: 'bad',
      models: [{ kind: 'base', id: baseId }],
      source: { datasetVersionId: versionId },
      criteria: [{ type: 'judge', deploymentId: 'nope', rubric: 'r' }],
    });
    expect(noJudge.status).toBe(404);
    expect(noJudge.body.error.param).toBe('criteria.0.deploymentId');
    const badSchema = await create({
      name: 'bad',
      models: [{ kind: 'base', id: baseId }],
      source: { datasetVersionId: versionId },
      criteria: [{ type: 'json_schema', schema: { type: 'no-such-type' } }],
    });
    expect(badSchema.status).toBe(400);
    expect(badSchema.body.error.message).toContain('JSON schema');
    const job = await create({
      name: 'bad',
      models: [{ kind: 'base', id: baseId }],
      source: { trainingJobId: 'nope' },
      criteria: [{ type: 'exact_match' }],
    });
    expect(job.status).toBe(404);
  });
});

describe('the rows a training job held out', () => {
  it('evaluates on the rows its valSplit held out, once the run has stored them', async () => {
    const { getPrisma } = await import('@crucible/db');
    const { getStorage } = await import('@crucible/storage');
    const prisma = getPrisma();
    const job = await prisma.trainingJob.create({
      data: {
        workspaceId: wsId,
        baseModelId: baseId,
        trainingFileId: versionId,
        hyperparameters: { valSplit: 0.5 },
        status: 'queued',
        suffix: 'heldout',
      },
    });
    const body = {
      name: 'held-out',
      models: [{ kind: 'base', id: baseId }],
      source: { trainingJobId: job.id },
      settings: { maxNewTokens: 4, temperature: 0 },
      criteria: [{ type: 'exact_match' }],
    };
    // Before its run stored them there are no rows to evaluate on: the error says so and names the field.
    const early = await create(body);
    expect(early.status).toBe(400);
    expect(early.body.error).toMatchObject({ param: 'source.trainingJobId' });
    expect(early.body.error.message).toMatch(/holds out no rows/);
    // What the trainer worker stores when the run starts (workers/trainer: training/held-out.ts).
    const held = [
      { prompt: 'Held out one?', label: 'Yes, one.' },
      { prompt: 'Held out two?', label: 'Yes, two.' },
    ];
    const key = `workspaces/${wsId}/jobs/${job.id}/held-out.jsonl`;
    const jsonl = held.map((r) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: r.prompt },
          { role: 'assistant', content: r.label },
        ],
      }),
    );
    await getStorage().putObject(key, Buffer.from(`${jsonl.join('\n')}\n`));
    await prisma.trainingJob.update({ where: { id: job.id }, data: { heldOutObjectKey: key, heldOutRowCount: 2 } });
    const listed = await call('GET', '/api/workspaces/[slug]/fine-tuning/jobs/[jobId]', {
      caller: owner,
      params: { slug, jobId: job.id },
    });
    expect(listed.body.heldOut).toEqual({ rows: 2 });
    const res = await create(body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ rowCount: 2, source: { datasetVersionId: null, trainingJobId: job.id } });
    const done = await finished(res.body.id);
    expect(done.status).toBe('succeeded');
    const rows = await call('GET', `${E}/rows`, { caller: owner, params: { slug, evaluationId: res.body.id } });
    expect(rows.body.data.map((r: { label: string }) => r.label)).toEqual(held.map((r) => r.label));
    // Another workspace cannot evaluate on them.
    const other = await call('POST', '/api/workspaces/[slug]/evaluations', {
      caller: outsider,
      params: { slug: 'ev-b' },
      body,
    });
    expect(other.status).toBe(404);
  }, 120_000);
});

describe('blind A/B ratings', () => {
  it('shows pairs without model identities, on random sides, and counts win rates with Wilson intervals', async () => {
    const { getPrisma } = await import('@crucible/db');
    const prisma = getPrisma();
    const params = { slug, evaluationId: mainEval };
    let pair = (await call('POST', `${E}/ratings`, { caller: viewer, params })).body.pair;
    expect(Object.keys(pair).sort()).toEqual(['id', 'label', 'left', 'messages', 'rated', 'right']);
    // Asking again shows the same pair until it is rated.
    expect((await call('POST', `${E}/ratings`, { caller: viewer, params })).body.pair.id).toBe(pair.id);
    const verdicts = ['left', 'right', 'tie', 'left'] as const;
    for (const verdict of verdicts) {
      const r = await call('POST', `${E}/ratings/[ratingId]`, {
        caller: viewer,
        params: { ...params, ratingId: pair.id },
        body: { verdict },
      });
      expect(r.status).toBe(200);
      pair = r.body.pair;
    }
    // 4 rows x 1 pair: all rated, nothing left to show.
    expect(pair).toBeNull();
    const again = await call('POST', `${E}/ratings/[ratingId]`, {
      caller: viewer,
      params: {
        ...params,
        ratingId: (await prisma.evaluationRating.findFirstOrThrow({ where: { evaluationId: mainEval } })).id,
      },
      body: { verdict: 'tie' },
    });
    expect(again.status).toBe(409);

    // The truth the page never saw: which model was on which side.
    const stored = await prisma.evaluationRating.findMany({ where: { evaluationId: mainEval } });
    expect(stored).toHaveLength(4);
    let winsBase = 0;
    let ties = 0;
    for (const s of stored) {
      if (s.verdict === 'tie') ties += 1;
      else if ((s.verdict === 'left' ? s.leftModel : s.rightModel) === 0) winsBase += 1;
    }
    const rates = await call('GET', `${E}/win-rates`, { caller: viewer, params });
    expect(rates.body).toMatchObject({ confidence: 0.95, interval: 'wilson', ties: 'half' });
    const [row] = rates.body.data;
    expect(row).toMatchObject({
      a: { index: 0 },
      b: { index: 1 },
      n: 4,
      winsA: winsBase,
      winsB: 4 - ties - winsBase,
      ties,
    });
    expect(ties).toBe(1);
    expect(row.winRateA).toBeCloseTo((winsBase + 0.5) / 4, 12);
    expect(row.interval).toEqual(wilsonInterval(winsBase + 0.5, 4));
  });
});

let cancelledEval = '';

describe('cancel and crash', () => {
  it('cancels a running evaluation: it stops before the next answer, and what is done stays', async () => {
    const res = await create({
      name: 'to cancel',
      models: [{ kind: 'base', id: baseId }],
      source: { datasetVersionId: bigVersionId },
      settings: { maxNewTokens: 48 },
      criteria: [{ type: 'exact_match' }],
    });
    const id = res.body.id;
    cancelledEval = id;
    await until('the first answers', async () => (await evaluation(id)).body.progress.done >= 1);
    const c = await call('POST', `${E}/cancel`, { caller: owner, params: { slug, evaluationId: id } });
    expect(c.status).toBe(202);
    expect(c.body.cancelRequested).toBe(true);
    const done = await finished(id);
    expect(done.status).toBe('cancelled');
    expect(done.progress.done).toBeLessThan(BIG);
    const { getPrisma } = await import('@crucible/db');
    expect(await getPrisma().evaluationOutput.count({ where: { evaluationId: id } })).toBe(done.progress.done);
    expect((await call('POST', `${E}/cancel`, { caller: owner, params: { slug, evaluationId: id } })).status).toBe(409);
  }, 300_000);

  it('resumes after its worker is killed, without redoing the answers it stored', async () => {
    await stopServingWorker(worker);
    worker = null;
    const fixture = spawnEvaluationWorker(workerEnv());
    await until('the evaluation fixture worker', async () => fixture.output().includes('ready'), 60_000);
    const res = await create({
      name: 'crash',
      models: [{ kind: 'base', id: baseId }],
      source: { datasetVersionId: bigVersionId },
      settings: { maxNewTokens: 32 },
      criteria: [{ type: 'exact_match' }],
    });
    const id = res.body.id;
    const { getPrisma } = await import('@crucible/db');
    const prisma = getPrisma();
    await until('a few answers', async () => (await evaluation(id)).body.progress.done >= 3);
    fixture.child.kill('SIGKILL');
    await fixture.exited;
    const before = await prisma.evaluationOutput.findMany({
      where: { evaluationId: id },
      orderBy: { rowIndex: 'asc' },
    });
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThan(BIG);
    expect((await evaluation(id)).body.status).toBe('running');

    await startWorker(); // the real serving worker takes the job once the dead one's 2 s lock expired
    const done = await finished(id);
    expect(done).toMatchObject({ status: 'succeeded', progress: { done: BIG, total: BIG } });
    const row = await prisma.evaluation.findUniqueOrThrow({ where: { id } });
    expect(row.attempts).toBe(2);
    const after = await prisma.evaluationOutput.findMany({ where: { evaluationId: id }, orderBy: { rowIndex: 'asc' } });
    expect(after.map((o) => o.rowIndex)).toEqual(Array.from({ length: BIG }, (_, i) => i));
    // The answers stored before the crash are the same rows, untouched (same ids, same time).
    for (const b of before) {
      const a = after.find((o) => o.rowIndex === b.rowIndex);
      expect([a?.id, a?.createdAt.getTime()]).toEqual([b.id, b.createdAt.getTime()]);
    }
    const lines = await prisma.usageRecord.count({
      where: { idempotencyKey: { startsWith: `inference:eval-${id}-` }, meter: 'input_tokens' },
    });
    expect(lines).toBe(BIG);
  }, 300_000);
});

describe('rows into a dataset', () => {
  const ADD = `${E}/add-to-dataset`;
  const add = (body: unknown, caller: TCaller = owner, s = slug, evaluationId = mainEval) =>
    call('POST', ADD, { caller, params: { slug: s, evaluationId }, body });
  const rowsOf = async (datasetId: string, versionId: string) =>
    (
      await call('GET', '/api/workspaces/[slug]/datasets/[datasetId]/versions/[versionId]/rows', {
        caller: owner,
        params: { slug, datasetId, versionId },
      })
    ).body.data.map((r: { row: unknown }) => r.row);
  const answer = async (row: number, model: number) => {
    const { getPrisma } = await import('@crucible/db');
    return (
      await getPrisma().evaluationOutput.findFirstOrThrow({
        where: { evaluationId: mainEval, rowIndex: row, modelIndex: model },
      })
    ).text;
  };
  const chat = (prompt: string, answer: string) => ({
    messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: answer },
    ],
  });

  it('makes the first draft version of a new dataset: the label, a model answer as is, an edited one', async () => {
    const res = await add({
      rows: [
        { index: 2, keep: 'label' },
        { index: 1, keep: 'model', modelIndex: 1 },
        { index: 3, keep: 'model', modelIndex: 0, text: 'One, two, three.' },
      ],
      datasetName: 'from-eval',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      dataset: { name: 'from-eval' },
      version: { number: 1, status: 'draft', format: 'chatml', rowCount: 3, errorCount: 0 },
      added: 3,
    });
    // In the order they were given.
    expect(await rowsOf(res.body.dataset.id, res.body.version.id)).toEqual([
      chat(PROMPTS[2], `a reference answer to "${PROMPTS[2]}"`),
      chat(PROMPTS[1], await answer(1, 1)),
      chat(PROMPTS[3], 'One, two, three.'),
    ]);
  });

  it('appends to an existing ChatML dataset as a new draft version after every row of its latest', async () => {
    const { getPrisma } = await import('@crucible/db');
    const v1 = await getPrisma().datasetVersion.findUniqueOrThrow({ where: { id: versionId } });
    const res = await add({ rows: [{ index: 0, keep: 'model', modelIndex: 1 }], datasetId: v1.datasetId });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version).toMatchObject({ number: 2, status: 'draft', rowCount: 5, parentVersionId: versionId });
    const rows = await rowsOf(v1.datasetId, res.body.version.id);
    expect(rows.slice(0, 4)).toEqual(await rowsOf(v1.datasetId, versionId));
    expect(rows[4]).toEqual(chat(PROMPTS[0], await answer(0, 1)));
  });

  it('refuses rows, models, answers and targets that do not fit, naming the field; makes nothing', async () => {
    const { getPrisma } = await import('@crucible/db');
    const before = await getPrisma().datasetVersion.count();
    const refused = async (body: unknown, status: number, param: string, evaluationId = mainEval) => {
      const r = await add(body, owner, slug, evaluationId);
      expect([r.status, r.body.error?.param], JSON.stringify(r.body)).toEqual([status, param]);
      return r.body.error.message as string;
    };
    expect(await refused({ rows: [{ index: 9, keep: 'label' }], datasetName: 'x' }, 400, 'rows.0.index')).toContain(
      'it has 4 rows',
    );
    await refused({ rows: [{ index: 0, keep: 'model' }], datasetName: 'x' }, 400, 'rows.0.modelIndex');
    expect(
      await refused({ rows: [{ index: 0, keep: 'model', modelIndex: 5 }], datasetName: 'x' }, 400, 'rows.0.modelIndex'),
    ).toContain('0 (tiny-qwen)');
    await refused({ rows: [{ index: 0, keep: 'label', text: '   ' }], datasetName: 'x' }, 400, 'rows.0.text');
    await refused(
      {
        rows: [
          { index: 1, keep: 'label' },
          { index: 1, keep: 'label' },
        ],
        datasetName: 'x',
      },
      400,
      'rows.1.index',
    );
    await refused({ rows: [{ index: 0, keep: 'label' }] }, 400, 'datasetId');
    await refused({ rows: [], datasetName: 'x' }, 400, 'rows');
    // The cancelled evaluation left rows unanswered: their model answer cannot be kept, but written text can.
    const unanswered = await getPrisma().evaluationRow.findFirstOrThrow({
      where: { evaluationId: cancelledEval, index: BIG - 1 },
    });
    expect(
      await refused(
        { rows: [{ index: unanswered.index, keep: 'model', modelIndex: 0 }], datasetName: 'x' },
        409,
        'rows.0.modelIndex',
        cancelledEval,
      ),
    ).toContain(`no answer to row ${BIG}`);
    expect(await getPrisma().datasetVersion.count()).toBe(before);
    expect(await getPrisma().dataset.count({ where: { name: 'x' } })).toBe(0);
    const written = await add(
      { rows: [{ index: unanswered.index, keep: 'model', modelIndex: 0, text: 'Written by hand.' }], datasetName: 'y' },
      owner,
      slug,
      cancelledEval,
    );
    expect(written.status, JSON.stringify(written.body)).toBe(201);
  });

  it('answers 404 to another workspace and 403 to a viewer; adds nothing', async () => {
    const { getPrisma } = await import('@crucible/db');
    const before = await getPrisma().datasetVersion.count();
    const body = { rows: [{ index: 0, keep: 'label' }], datasetName: 'stolen' };
    expect((await add(body, outsider)).status).toBe(404);
    expect((await add(body, outsider, 'ev-b')).status).toBe(404);
    expect((await add(body, owner, 'ev-b')).status).toBe(404);
    expect((await add(body, viewer)).status).toBe(403);
    expect(await getPrisma().datasetVersion.count()).toBe(before);
  });
});

describe('checkpoints of a job as models', () => {
  let loraJob = '';
  let fullJob = '';

  beforeAll(async () => {
    const { getPrisma } = await import('@crucible/db');
    const { getStorage, uploadDir } = await import('@crucible/storage');
    const prisma = getPrisma();
    const storage = getStorage();
    const job = (method: string) =>
      prisma.trainingJob.create({
        data: { workspaceId: wsId, baseModelId: baseId, trainingFileId: versionId, method, hyperparameters: {} },
      });
    // A LoRA job: its checkpoint of step 10 is stored as the trainer worker uploads one (the PEFT adapter beside the
    // optimizer state), the adapter the fine-tune's GGUF was made from; step 20 was pruned by save_total_limit.
    loraJob = (await job('sft_lora')).id;
    await prisma.fineTunedModel.update({ where: { id: ftId }, data: { jobId: loraJob } });
    const key = (jobId: string, step: number) => `workspaces/${wsId}/jobs/${jobId}/checkpoints/checkpoint-${step}`;
    for (const f of ['adapter_model.safetensors', 'adapter_config.json']) {
      await storage.putObject(`${key(loraJob, 10)}/${f}`, readFileSync(path.join(scratch, 'adapter', f)));
    }
    await storage.putObject(`${key(loraJob, 10)}/train_state.bin`, Buffer.alloc(64));
    await prisma.checkpoint.create({
      data: { workspaceId: wsId, jobId: loraJob, step: 10, objectKey: key(loraJob, 10) },
    });
    await prisma.checkpoint.create({
      data: { workspaceId: wsId, jobId: loraJob, step: 20, objectKey: key(loraJob, 20), prunedAt: new Date() },
    });
    // A full fine-tuning job whose checkpoint of step 5 holds complete weights: the base's own, so it answers as the
    // base does.
    fullJob = (await job('sft_full')).id;
    await uploadDir(storage, path.join(scratch, 'tiny'), key(fullJob, 5));
    await prisma.checkpoint.create({
      data: { workspaceId: wsId, jobId: fullJob, step: 5, objectKey: key(fullJob, 5) },
    });
  });

  it("serves a LoRA checkpoint's adapter (converted to GGUF) and a full checkpoint's weights, named by step", async () => {
    const res = await create({
      name: 'checkpoints',
      models: [
        { kind: 'fine_tuned', id: ftId },
        { kind: 'checkpoint', id: loraJob, step: 10 },
        { kind: 'checkpoint', id: fullJob, step: 5 },
      ],
      source: { datasetVersionId: versionId },
      settings: { maxNewTokens: 12, temperature: 0 },
      criteria: [{ type: 'exact_match' }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const ftName = `ft:tiny-qwen:${slug}:v0:modeval0`;
    expect(res.body.models).toEqual([
      { index: 0, kind: 'fine_tuned', id: ftId, name: ftName, displayName: ftName },
      { index: 1, kind: 'checkpoint', id: loraJob, step: 10, name: ftName, displayName: `${ftName} · step 10` },
      {
        index: 2,
        kind: 'checkpoint',
        id: fullJob,
        step: 5,
        // no model yet: the name the job's model will get, as the trainer worker names it
        name: `ft:tiny-qwen:${slug}::${fullJob.slice(-8)}`,
        displayName: `ft:tiny-qwen:${slug}::${fullJob.slice(-8)} · step 5`,
      },
    ]);
    const done = await finished(res.body.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.results.map((m: { displayName: string }) => m.displayName)).toEqual([
      ftName,
      `${ftName} · step 10`,
      `ft:tiny-qwen:${slug}::${fullJob.slice(-8)} · step 5`,
    ]);
    const { getPrisma } = await import('@crucible/db');
    const outputs = await getPrisma().evaluationOutput.findMany({ where: { evaluationId: res.body.id } });
    const base = await getPrisma().evaluationOutput.findMany({ where: { evaluationId: mainEval, modelIndex: 0 } });
    const text = (rows: typeof outputs, model: number, row: number) =>
      rows.find((o) => o.modelIndex === model && o.rowIndex === row)?.text;
    for (let row = 0; row < PROMPTS.length; row++) {
      // The checkpoint's adapter is the fine-tune's: the same answers, word for word.
      expect(text(outputs, 1, row)).toBe(text(outputs, 0, row));
      // The full checkpoint holds the base's weights: the base's answers.
      expect(text(outputs, 2, row)).toBe(text(base, 0, row));
    }
    // ...and the adapter was applied: it does not answer as the base does.
    expect(PROMPTS.some((_, row) => text(outputs, 1, row) !== text(base, 0, row))).toBe(true);
    expect(worker?.output()).toContain('converted checkpoint 10');
  }, 300_000);

  it('refuses a pruned or missing checkpoint and another workspace’s job, naming the field', async () => {
    const refused = async (model: unknown, status: number, param: string) => {
      const r = await create({
        name: 'bad',
        models: [{ kind: 'base', id: baseId }, model],
        source: { datasetVersionId: versionId },
        criteria: [{ type: 'exact_match' }],
      });
      expect([r.status, r.body.error?.param], JSON.stringify(r.body)).toEqual([status, param]);
      return r.body.error.message as string;
    };
    const pruned = await refused({ kind: 'checkpoint', id: loraJob, step: 20 }, 400, 'models.1.step');
    expect(pruned).toContain('pruned');
    expect(pruned).toContain('steps 10');
    expect(await refused({ kind: 'checkpoint', id: loraJob, step: 99 }, 400, 'models.1.step')).toContain(
      'no checkpoint of step 99',
    );
    await refused({ kind: 'checkpoint', id: loraJob }, 400, 'models.1.step');
    const other = await call('POST', '/api/workspaces/[slug]/evaluations', {
      caller: outsider,
      params: { slug: 'ev-b' },
      body: {
        name: 'steal',
        models: [{ kind: 'checkpoint', id: loraJob, step: 10 }],
        source: { datasetVersionId: versionId },
        criteria: [{ type: 'exact_match' }],
      },
    });
    expect([other.status, other.body.error?.param]).toEqual([404, 'models.0.id']);
  });
});

// ───────────────────────────── OpenAI Evals API ─────────────────────────────

let evalsServer: Server | undefined;

describe('OpenAI Evals API with the openai client', () => {
  let client: OpenAI;
  beforeAll(async () => {
    const { nodeHandler } = await import('./gateway-fixtures');
    const h = await import('../../lib/server/routes/openai-evals');
    evalsServer = createServer((req, res) => {
      nodeHandler({
        '/v1/evals': { GET: h.listEvals, POST: h.createEval },
        '/v1/evals/[evalId]': { GET: h.retrieveEval },
        '/v1/evals/[evalId]/runs': { GET: h.listEvalRuns, POST: h.createEvalRun },
        '/v1/evals/[evalId]/runs/[runId]': { GET: h.retrieveEvalRun },
        '/v1/evals/[evalId]/runs/[runId]/output_items': { GET: h.listEvalRunOutputItems },
      })(req, res).catch((e) => res.writeHead(500).end(String(e)));
    });
    await new Promise<void>((resolve) => evalsServer?.listen(0, '127.0.0.1', resolve));
    client = new OpenAI({
      apiKey: key,
      baseURL: `http://127.0.0.1:${(evalsServer.address() as AddressInfo).port}/v1`,
      maxRetries: 0,
    });
  });

  it('creates an eval, runs it on a stored file with a model, and reads the run and its output items', async () => {
    const ev = await client.evals.create({
      name: 'greetings',
      data_source_config: {
        type: 'custom',
        item_schema: { type: 'object', properties: { input: {}, reference: { type: 'string' } } },
        include_sample_schema: true,
      },
      testing_criteria: [
        {
          type: 'string_check',
          name: 'same',
          input: '{{sample.output_text}}',
          reference: '{{item.reference}}',
          operation: 'eq',
        },
        {
          type: 'text_similarity',
          name: 'close',
          input: '{{sample.output_text}}',
          reference: '{{item.reference}}',
          evaluation_metric: 'rouge_l',
          pass_threshold: 0.99,
        },
        {
          type: 'score_model',
          name: 'judge',
          model: 'judge',
          input: [{ role: 'user', content: 'Rate from 1 to 10: {{sample.output_text}}' }],
          range: [1, 10],
          pass_threshold: 5,
        },
      ],
    });
    expect(ev).toMatchObject({ object: 'eval', name: 'greetings', data_source_config: { type: 'custom' } });
    expect((await client.evals.retrieve(ev.id)).id).toBe(ev.id);
    const list = await client.evals.list();
    expect(list.data.map((e) => e.id)).toContain(ev.id);

    const run = await client.evals.runs.create(ev.id, {
      name: 'tiny',
      data_source: {
        type: 'completions',
        model: 'tiny-qwen',
        source: { type: 'file_id', id: `file-${versionId}` },
        input_messages: { type: 'item_reference', item_reference: 'item.input' },
        sampling_params: { max_completion_tokens: 12, temperature: 0 },
      },
    });
    expect(run).toMatchObject({ object: 'eval.run', eval_id: ev.id, model: 'tiny-qwen', status: 'queued' });
    const done = await until('the run', async () => {
      const r = await client.evals.runs.retrieve(run.id, { eval_id: ev.id });
      return r.status === 'completed' || r.status === 'failed' ? r : null;
    });
    expect(done.status).toBe('completed');
    expect(done.result_counts.total).toBe(4);
    const same = done.per_testing_criteria_results.find((c) => c.testing_criteria === 'same');
    // The first row's reference is the model's own greedy answer: that one passes the eq check.
    expect(same?.passed).toBeGreaterThanOrEqual(1);
    expect(done.per_model_usage[0]).toMatchObject({ model_name: 'tiny-qwen', invocation_count: 4 });
    const runs = await client.evals.runs.list(ev.id);
    expect(runs.data.map((r) => r.id)).toEqual([run.id]);
    const items = await client.evals.runs.outputItems.list(run.id, { eval_id: ev.id });
    expect(items.data).toHaveLength(4);
    const first = items.data.find((i) => i.datasource_item_id === 0);
    expect(first?.sample.output[0].content).toBe(firstAnswer);
    expect(first?.results.find((r) => r.name === 'same')).toMatchObject({ passed: true, score: 1 });
    // text_similarity rouge_l: LLaMA-Factory's ROUGE-L / 100; the answer equal to its reference scores 1 and passes
    expect(first?.results.find((r) => r.name === 'close')).toMatchObject({ passed: true, score: 1 });
    for (const item of items.data) {
      const reference = (item.datasource_item as { reference: string }).reference;
      const expected = scoreSimilarity(item.sample.output[0].content ?? '', reference)['rouge-l'] / 100;
      expect(item.results.find((r) => r.name === 'close')?.score).toBeCloseTo(expected, 12);
      expect(item.results.find((r) => r.name === 'judge')?.score).toBeGreaterThanOrEqual(1);
    }
  }, 300_000);

  it('answers 404 for another workspace key and refuses unsupported graders with the field named', async () => {
    const evs = await client.evals.list();
    const other = await call('POST', '/api/workspaces/[slug]/api-keys', {
      caller: outsider,
      params: { slug: 'ev-b' },
      body: { name: 'b' },
    });
    const b = new OpenAI({ apiKey: other.body.key, baseURL: client.baseURL, maxRetries: 0 });
    await expect(b.evals.retrieve(evs.data[0].id)).rejects.toMatchObject({ status: 404 });
    await expect(
      client.evals.create({
        name: 'py',
        data_source_config: { type: 'custom', item_schema: {} },
        testing_criteria: [{ type: 'python', name: 'p', source: 'def grade(s, i): return 1' }],
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('the Wilson interval', () => {
  // Hand computation, z = 1.959963984540054 (two-sided 95%): p = s/n, c = (p + z²/2n) / (1 + z²/n),
  // h = z/(1 + z²/n) · sqrt(p(1-p)/n + z²/4n²). For 7 of 10: p = 0.7, z²/n = 0.384146, c = 0.644493, h = 0.247715
  // -> [0.396778, 0.892209]; statsmodels 0.15 proportion_confint(7, 10, method='wilson') gives the same
  // (0.39677814746114537, 0.8922087325936989). Tolerance 1e-9: the same formula in float64.
  it('matches the hand-computed 95% interval and statsmodels, ties counted as half', () => {
    const close = (got: [number, number] | null, want: [number, number]) => {
      expect(got).not.toBeNull();
      expect(Math.abs((got as [number, number])[0] - want[0])).toBeLessThan(1e-9);
      expect(Math.abs((got as [number, number])[1] - want[1])).toBeLessThan(1e-9);
    };
    close(wilsonInterval(7, 10), [0.39677814746114537, 0.8922087325936989]);
    // 2 wins, 1 tie, 1 loss: 2.5 of 4 (p = 0.625, c = 0.563764, h = 0.344337); statsmodels with count 2.5 agrees.
    close(wilsonInterval(2.5, 4), [0.21942652006536284, 0.9081007708209878]);
    // all wins: the upper end is 1, the lower one is not 0
    close(wilsonInterval(5, 5), [0.5655175352168252, 1.0]);
    expect(wilsonInterval(0, 0)).toBeNull();
  });
});
