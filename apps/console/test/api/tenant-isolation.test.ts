// @vitest-environment node
/**
 * Tenant isolation: for EVERY workspace-scoped route in lib/server/route-table.ts,
 * a member of workspace A (and A's API key) gets 404 on workspace B's
 * resources — never 403, never data — and B is unchanged afterwards. The
 * routes come from the table, so a new route is covered the day it is added;
 * routes.test.ts fails if an app/api route is missing from the table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../lib/server/route-table';
import { INSTANCE_ADMIN_READS } from '../../lib/server/routes/billing-table';
import {
  addMember,
  call,
  makeWorkspace,
  paramNames,
  signUp,
  startTestDatabase,
  stopTestDatabase,
  type TCaller,
} from './helpers';

beforeAll(startTestDatabase, 60_000);
afterAll(stopTestDatabase);

const workspaceRoutes = ROUTES.filter((r) => r.scope === 'workspace');
const routesWithIds = workspaceRoutes.filter((r) => paramNames(r.path).some((n) => n !== 'slug'));

let aOwner: TCaller;
let aKey: TCaller;
let bOwner: TCaller & { email: string };
let bKey: string;
/** Real ids of B's rows for every [param] a workspace route can have. */
let bParams: Record<string, string>;
let bWorkspaceId: string;
/** B's base model whose download failed: POST .../retry gets it, not the plain fixture. */
let bFailedBaseModelId: string;

async function seedWorkspaceB() {
  bOwner = await signUp('b-owner');
  const bMemberUser = await signUp('b-dev');
  const ws = await makeWorkspace(bOwner, 'tenant-b');
  bWorkspaceId = ws.id;
  await addMember(bOwner, 'tenant-b', bMemberUser, 'developer');
  const p = { slug: 'tenant-b' };
  const invitation = await call('POST', '/api/workspaces/[slug]/invitations', {
    caller: bOwner,
    params: p,
    body: { email: 'pending@example.com', role: 'viewer' },
  });
  const key = await call('POST', '/api/workspaces/[slug]/api-keys', { caller: bOwner, params: p, body: { name: 'b' } });
  bKey = key.body.key;
  const members = await call('GET', '/api/workspaces/[slug]/members', { caller: bOwner, params: p });
  const devMember = members.body.data.find((m: { email: string }) => m.email === bMemberUser.email);

  const { getPrisma } = await import('@crucible/db');
  const prisma = getPrisma();
  const workspaceId = ws.id;
  const dataset = await prisma.dataset.create({ data: { workspaceId, name: 'secret-data' } });
  const version = await prisma.datasetVersion.create({
    data: { workspaceId, datasetId: dataset.id, number: 1, format: 'chatml', objectKey: 'k', sha256: '0'.repeat(64) },
  });
  // A running import: B's owner can read it, nobody else can read or cancel it.
  const datasetImport = await prisma.datasetImport.create({
    data: { id: 'up_tenantb0123456789', workspaceId, datasetId: dataset.id, objectKey: 'k', fileName: 'b.jsonl' },
  });
  const base = await prisma.baseModel.create({ data: { workspaceId, name: 'tiny', arch: 'qwen2' } });
  // An archive upload (completed, so reading it asks storage nothing): B's alone to read, sign parts for, or cancel.
  const modelUpload = await prisma.modelUpload.create({
    data: {
      id: 'mu_tenantb0123456789',
      workspaceId,
      objectKey: 'k',
      fileName: 'b.tar',
      size: 10,
      partSize: 10,
      storageUploadId: 'x',
      status: 'completed',
    },
  });
  // A failed hub download (retry would queue it again) and a stored hub token: B's alone to see, retry or forget.
  const downloading = await prisma.baseModel.create({
    data: { workspaceId, name: 'gated', arch: 'unknown', source: 'huggingface', status: 'failed' },
  });
  await prisma.baseModelDownload.create({
    data: {
      workspaceId,
      baseModelId: downloading.id,
      source: 'huggingface',
      repo: 'acme/gated',
      status: 'failed',
      errorCode: 'auth_required',
    },
  });
  await prisma.workspaceSecret.create({
    data: { workspaceId, kind: 'huggingface_token', ciphertext: 'v1:secret', hint: 'cret' },
  });
  const job = await prisma.trainingJob.create({
    data: { workspaceId, baseModelId: base.id, trainingFileId: version.id, hyperparameters: { n_epochs: 1 } },
  });
  const model = await prisma.fineTunedModel.create({
    data: { workspaceId, name: 'ft:tiny:b', baseModelId: base.id, jobId: job.id },
  });
  const deployment = await prisma.deployment.create({
    data: { workspaceId, name: 'b-deploy', fineTunedModelId: model.id },
  });
  const evaluation = await prisma.evaluation.create({
    data: {
      workspaceId,
      name: 'b-eval',
      settings: { maxNewTokens: 8, temperature: 0, topP: 1 },
      criteria: [{ type: 'exact_match' }],
      status: 'succeeded',
      rowCount: 1,
      totalCount: 1,
      doneCount: 1,
      models: { create: [{ index: 0, baseModelId: base.id, name: 'tiny', displayName: 'tiny' }] },
      rows: { create: [{ index: 0, messages: [{ role: 'user', content: 'hi' }], label: 'hello' }] },
      outputs: { create: [{ modelIndex: 0, rowIndex: 0, text: 'hello', scores: { exact_match: 100 } }] },
    },
  });
  // A pair B's owner was shown and has not rated yet.
  const bOwnerId = (await prisma.user.findUniqueOrThrow({ where: { email: bOwner.email } })).id;
  const rating = await prisma.evaluationRating.create({
    data: { evaluationId: evaluation.id, userId: bOwnerId, rowIndex: 0, leftModel: 0, rightModel: 0 },
  });
  // A kept chat request (request logs, issue 16): B's owner reads it, nobody else reads, rates or deletes it.
  const requestLog = await prisma.requestLog.create({
    data: {
      id: 'chatcmpl-tenantb',
      workspaceId,
      model: 'ft:tiny:b',
      endpoint: '/v1/chat/completions',
      statusCode: 200,
    },
  });
  await prisma.requestLogContent.create({
    data: {
      requestId: requestLog.id,
      workspaceId,
      source: 'store',
      messages: [{ role: 'user', content: 'secret question' }],
      answer: 'secret answer',
      searchText: 'secret question\nsecret answer',
      expiresAt: new Date(Date.now() + 86_400_000),
    },
  });
  await prisma.usageRecord.create({
    data: {
      workspaceId,
      category: 'training',
      meter: 'training_tokens',
      quantity: '1',
      unit: '1K tokens',
      amount: '0.01',
      currency: 'USD',
      idempotencyKey: `seed-${workspaceId}`,
    },
  });
  bParams = {
    slug: 'tenant-b',
    memberId: devMember.id,
    invitationId: invitation.body.id,
    keyId: key.body.id,
    datasetId: dataset.id,
    versionId: version.id,
    importId: datasetImport.id,
    jobId: job.id,
    modelId: model.id,
    baseModelId: base.id,
    uploadId: modelUpload.id,
    // the model card is the download every model has (its other files are not in this fixture's storage)
    artifact: 'card',
    deploymentId: deployment.id,
    evaluationId: evaluation.id,
    ratingId: rating.id,
    logId: requestLog.id,
    hub: 'huggingface',
  };
  bFailedBaseModelId = downloading.id;
}

/** B's ids for a route: a retry gets the base model whose download failed (it would act on that one). */
const paramsFor = (path: string) =>
  path.endsWith('/retry') ? { ...bParams, baseModelId: bFailedBaseModelId } : bParams;

async function snapshotB() {
  const { getPrisma } = await import('@crucible/db');
  const prisma = getPrisma();
  const where = { workspaceId: bWorkspaceId };
  return {
    workspace: await prisma.workspace.findUnique({ where: { id: bWorkspaceId } }),
    members: await prisma.member.findMany({ where: { organizationId: bWorkspaceId }, orderBy: { id: 'asc' } }),
    invitations: await prisma.invitation.findMany({ where: { organizationId: bWorkspaceId }, orderBy: { id: 'asc' } }),
    // Whole rows, not counts (issue 17): a change to one of B's rows (a renamed dataset, a cancelled job, a
    // stopped deployment, a revoked key) must show, not only one created or deleted.
    keys: await prisma.apikey.findMany({ where: { referenceId: bWorkspaceId }, orderBy: { id: 'asc' } }),
    datasets: await prisma.dataset.findMany({ where, orderBy: { id: 'asc' } }),
    versions: await prisma.datasetVersion.findMany({ where, orderBy: { id: 'asc' } }),
    imports: await prisma.datasetImport.findMany({ where, orderBy: { id: 'asc' } }),
    jobs: await prisma.trainingJob.findMany({ where, orderBy: { id: 'asc' } }),
    models: await prisma.fineTunedModel.findMany({ where, orderBy: { id: 'asc' } }),
    deployments: await prisma.deployment.findMany({ where, orderBy: { id: 'asc' } }),
    budgets: await prisma.budget.findMany({ where, orderBy: { id: 'asc' } }),
    evaluations: await prisma.evaluation.findMany({ where, orderBy: { id: 'asc' } }),
    ratings: await prisma.evaluationRating.findMany({ where: { evaluation: where }, orderBy: { id: 'asc' } }),
    requestLogs: await prisma.requestLogContent.findMany({ where, orderBy: { requestId: 'asc' } }),
    baseModels: await prisma.baseModel.findMany({ where, orderBy: { id: 'asc' } }),
    downloads: await prisma.baseModelDownload.findMany({ where, orderBy: { id: 'asc' } }),
    secrets: await prisma.workspaceSecret.findMany({ where, orderBy: { id: 'asc' } }),
  };
}

beforeAll(async () => {
  const a = await signUp('a-owner');
  aOwner = a;
  await makeWorkspace(a, 'tenant-a');
  const key = await call('POST', '/api/workspaces/[slug]/api-keys', {
    caller: a,
    params: { slug: 'tenant-a' },
    body: { name: 'a' },
  });
  aKey = { key: key.body.key };
  await seedWorkspaceB();
}, 60_000);

describe('tenant isolation', () => {
  it('has a B fixture for every [param] of every workspace route (so no route is skipped)', () => {
    expect(workspaceRoutes.length).toBeGreaterThan(20);
    for (const r of workspaceRoutes) for (const name of paramNames(r.path)) expect(bParams).toHaveProperty(name);
  });

  it("lets B's owner read every GET route with these ids (the 404s below are not an accident of bad ids)", async () => {
    for (const r of workspaceRoutes.filter((x) => x.method === 'GET')) {
      const res = await call(r.method, r.path, { caller: bOwner, params: bParams });
      expect([r.path, res.status]).toEqual([r.path, 200]);
    }
  });

  describe.each([
    ['a member of A (session)', () => aOwner],
    ["A's API key", () => aKey],
  ])('%s', (_label, who) => {
    it.each(workspaceRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
      "gets 404 on workspace B's %s",
      async (_name, r) => {
        const before = await snapshotB();
        const res = await call(r.method, r.path, { caller: who(), params: paramsFor(r.path), body: r.body });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({
          error: { type: 'not_found_error', code: 'not_found', message: expect.any(String), param: null },
        });
        expect(await snapshotB()).toEqual(before);
      },
    );

    it.each(routesWithIds.map((r) => [`${r.method} ${r.path}`, r] as const))(
      "gets 404 on B's ids through A's own slug: %s",
      async (_name, r) => {
        const before = await snapshotB();
        const res = await call(r.method, r.path, {
          caller: who(),
          params: { ...paramsFor(r.path), slug: 'tenant-a' },
          body: r.body,
        });
        // A's key is a developer: admin-only routes may answer 403 before the id is looked up — still no data.
        expect([404, 403]).toContain(res.status);
        if (res.status === 403) expect(r.minRole === 'admin' || r.minRole === 'owner').toBe(true);
        expect(await snapshotB()).toEqual(before);
      },
    );
  });

  describe('an instance admin who is not a member of B', () => {
    let instanceAdmin: TCaller;
    beforeAll(async () => {
      const user = await signUp('instance-admin');
      const { setInstanceRole } = await import('@crucible/auth');
      await setInstanceRole(user.email, 'admin');
      instanceAdmin = user;
    });

    it('may read only billing, only with GET and the viewer role', () => {
      const reads = workspaceRoutes.filter((r) => INSTANCE_ADMIN_READS.has(r.handler));
      expect(reads.map((r) => r.path).sort()).toEqual(
        ['budget', 'ledger', 'price-lists', 'statement', 'summary'].map((x) => `/api/workspaces/[slug]/billing/${x}`),
      );
      for (const r of reads) expect([r.method, r.minRole]).toEqual(['GET', 'viewer']);
    });

    it.each(workspaceRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))(
      "reads B's billing and gets 404 on everything else: %s",
      async (_name, r) => {
        const before = await snapshotB();
        const res = await call(r.method, r.path, { caller: instanceAdmin, params: bParams, body: r.body });
        if (INSTANCE_ADMIN_READS.has(r.handler)) expect(res.status).toBe(200);
        else {
          expect(res.status).toBe(404);
          expect(res.body).toEqual({
            error: { type: 'not_found_error', code: 'not_found', message: expect.any(String), param: null },
          });
        }
        expect(await snapshotB()).toEqual(before);
      },
    );
  });

  it("gets 404 on B's invitation link as a member of A", async () => {
    const params = { invitationId: bParams.invitationId };
    expect((await call('GET', '/api/invitations/[invitationId]', { caller: aOwner, params })).status).toBe(404);
    expect((await call('POST', '/api/invitations/[invitationId]/accept', { caller: aOwner, params })).status).toBe(404);
  });

  it("still works for B afterwards: B's key and members are intact", async () => {
    const res = await call('GET', '/api/workspaces/[slug]/members', {
      caller: { key: bKey },
      params: { slug: 'tenant-b' },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
  });
});
