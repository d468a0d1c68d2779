import { readFileSync } from 'node:fs';
import path from 'node:path';
import { newId } from '@crucible/dataset-store';
import { getPrisma } from '@crucible/db';
import { findRepoRoot, getStorage } from '@crucible/storage';
import { z } from 'zod';
import { actorOf, audit } from '../audit';
import { requireWorkspace } from '../context';
import {
  completeUpload,
  housekeepingWorkerRunning,
  newUploadKey,
  noHousekeepingWorker,
  waitForImport,
} from '../datasets/imports';
import { AppError } from '../errors';
import { json, readBody, route } from '../http';

/**
 * The first run (issue 13): a newcomer's path from an empty workspace to a model that visibly learned, offline.
 * 1. import the identity sample (LLaMA-Factory's identity.json, with its {{name}} / {{author}} placeholders);
 * 2. fill the placeholders and publish (the dataset page);
 * 3. fine-tune the instance's demo model on it (its preset applies when no hyper-parameters are given);
 * 4. chat with the result (any serving worker loads it on demand: no deployment step).
 * GET answers where the workspace stands on that path; POST .../datasets/samples does step 1 in one click.
 */

/** The samples a workspace can import in one click: files of the repository's fixtures, as LLaMA-Factory ships them. */
const SAMPLES = {
  identity: {
    file: 'identity.json',
    datasetName: 'identity',
    description: 'Who the model says it is (LLaMA-Factory identity.json)',
  },
} as const;

const ZImportSample = z.object({ sample: z.enum(Object.keys(SAMPLES) as [keyof typeof SAMPLES]) });

function fixture(name: string): Buffer {
  return readFileSync(path.join(findRepoRoot(), 'fixtures', 'llamafactory', name));
}

/** POST /api/workspaces/[slug]/datasets/samples `{sample: "identity"}`: a new dataset with the sample as version 1. */
export const importSample = route(async (req, { slug }) => {
  const ctx = await requireWorkspace(req, slug, 'developer');
  const { sample } = await readBody(req, ZImportSample);
  const spec = SAMPLES[sample];
  const prisma = getPrisma();
  const dataset = await prisma.dataset.create({
    data: {
      workspaceId: ctx.workspace.id,
      name: spec.datasetName,
      description: spec.description,
      createdById: ctx.user?.id ?? null,
    },
  });
  const uploadId = newId('up_');
  const body = fixture(spec.file);
  await getStorage().putObject(newUploadKey(ctx.workspace.id, dataset.id, uploadId, spec.file), body, {
    contentType: 'application/json',
    size: body.length,
  });
  // The same import path as an upload in the browser, with LLaMA-Factory's own dataset_info.json entry.
  const started = await completeUpload({ workspaceId: ctx.workspace.id, userId: ctx.user?.id ?? null }, dataset.id, {
    uploadId,
    datasetInfo: fixture('dataset_info.json').toString('utf8'),
    datasetInfoName: sample,
  });
  // The housekeeping worker validates it; the page waits for the version it links to.
  if (!(await housekeepingWorkerRunning())) throw noHousekeepingWorker();
  const finished = await waitForImport(ctx.workspace.id, started.id, { signal: req.signal });
  if (finished.status === 'validating') {
    throw new AppError('unavailable', 'The sample is still being imported (is a housekeeping worker running?).', null, {
      'retry-after': '30',
    });
  }
  if (!finished.versionId) {
    throw new AppError('internal_error', finished.error?.message ?? 'The sample could not be imported.');
  }
  await audit(req, actorOf(ctx), 'dataset.sample_import', { type: 'dataset', id: dataset.id }, { sample });
  return json({ datasetId: dataset.id, versionId: finished.versionId }, { status: 201 });
});

/** GET /api/workspaces/[slug]/getting-started: the demo model, and how far this workspace is along the path. */
export const getGettingStarted = route(async (req, { slug }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const prisma = getPrisma();
  const workspaceId = workspace.id;
  const [demo, version, published, job, model] = await Promise.all([
    prisma.baseModel.findFirst({
      where: { demo: true, workspaceId: null, status: 'ready' },
      select: { id: true, name: true, displayName: true },
    }),
    prisma.datasetVersion.findFirst({
      where: { workspaceId, dataset: { deletedAt: null } },
      orderBy: { createdAt: 'desc' },
      select: { id: true, datasetId: true, number: true, status: true, dataset: { select: { name: true } } },
    }),
    prisma.datasetVersion.findFirst({
      where: { workspaceId, status: 'published', dataset: { deletedAt: null } },
      orderBy: { createdAt: 'desc' },
      select: { id: true, datasetId: true, number: true, dataset: { select: { name: true } } },
    }),
    prisma.trainingJob.findFirst({
      where: { workspaceId },
      orderBy: { createdAt: 'desc' },
      select: { id: true, status: true, baseModelId: true },
    }),
    prisma.fineTunedModel.findFirst({
      where: { workspaceId, deletedAt: null },
      orderBy: { createdAt: 'desc' },
      select: { id: true, name: true },
    }),
  ]);
  const step = (done: boolean) => (done ? 'done' : 'todo');
  return json({
    demoModel: demo,
    dataset: version
      ? { id: version.datasetId, name: version.dataset.name, versionId: version.id, status: version.status }
      : null,
    published: published
      ? {
          datasetId: published.datasetId,
          name: published.dataset.name,
          versionId: published.id,
          number: published.number,
        }
      : null,
    job,
    model,
    steps: {
      dataset: step(Boolean(version)),
      publish: step(Boolean(published)),
      train: job?.status === 'succeeded' ? 'done' : job ? 'running' : 'todo',
      chat: step(Boolean(model)),
    },
  });
});
