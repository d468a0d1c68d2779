// @vitest-environment node
/**
 * The first-run path (issue 13, finding 1), through the REST API: the instance's demo model (seeded as `npm start`
 * does), the identity sample in one click, and a job on the demo model that gets the demo preset when no
 * hyper-parameters are given — from the console's form and from OpenAI's fine-tuning API alike.
 */
import { DEMO_PRESET } from '@crucible/jobs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFineTuningJob } from '../../lib/server/routes/openai-fine-tuning';
import { dropTestStorage, startHousekeeping, stopHousekeeping, useTestStorage } from './datasets-helpers';
import { APP_URL, call, makeWorkspace, signUp, startTestDatabase, stopTestDatabase, type TCaller } from './helpers';

const SLUG = 'first-run';
const WS = '/api/workspaces/[slug]';
let owner: TCaller;
let viewer: TCaller;
let demoId = '';

beforeAll(async () => {
  useTestStorage();
  await startTestDatabase();
  await startHousekeeping();
  owner = await signUp('first-run');
  await makeWorkspace(owner, SLUG);
  viewer = await signUp('first-run-viewer');
  const { seedDemoModel } = await import('@crucible/services/models');
  const first = await seedDemoModel();
  expect(first.created).toBe(true);
  // Idempotent: npm start runs it on every start.
  expect(await seedDemoModel()).toEqual({ id: first.id, created: false });
  demoId = first.id;
}, 120_000);

afterAll(async () => {
  await stopHousekeeping();
  await stopTestDatabase();
  await dropTestStorage();
});

describe('the first run', () => {
  let datasetId = '';
  let versionId = '';

  it('lists the instance demo model in a new workspace, labelled as such', async () => {
    const res = await call('GET', `${WS}/base-models`, { caller: owner, params: { slug: SLUG } });
    expect(res.body.data).toEqual([
      expect.objectContaining({ id: demoId, name: 'crucible-demo', builtin: true, demo: true, status: 'ready' }),
    ]);
    const state = await call('GET', `${WS}/getting-started`, { caller: owner, params: { slug: SLUG } });
    expect(state.body).toMatchObject({
      demoModel: { id: demoId, displayName: 'Demo model (random weights)' },
      steps: { dataset: 'todo', publish: 'todo', train: 'todo', chat: 'todo' },
    });
  });

  it('imports the identity sample in one click, placeholders and all', async () => {
    const res = await call('POST', `${WS}/datasets/samples`, {
      caller: owner,
      params: { slug: SLUG },
      body: { sample: 'identity' },
    });
    expect(res.status).toBe(201);
    ({ datasetId, versionId } = res.body);
    const report = await call('GET', `${WS}/datasets/[datasetId]/versions/[versionId]/report`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId },
    });
    expect(Object.keys(report.body.placeholders).sort()).toEqual(['author', 'name']);
    const v = await call('GET', `${WS}/datasets/[datasetId]/versions/[versionId]`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId },
    });
    expect(v.body.rowCount).toBe(91);
    // A viewer may look but not import.
    const refused = await call('POST', `${WS}/datasets/samples`, {
      caller: viewer,
      params: { slug: SLUG },
      body: { sample: 'identity' },
    });
    expect(refused.status).toBe(404); // not a member of this workspace at all
  });

  it('a job on the demo model with no settings uses the demo preset (full fine-tuning), from the form and the API', async () => {
    const filled = await call('POST', `${WS}/datasets/[datasetId]/versions/[versionId]/placeholders`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId },
      body: { values: { name: 'Crux', author: 'ACME Labs' } },
    });
    expect(filled.status).toBe(201);
    const published = await call('POST', `${WS}/datasets/[datasetId]/versions/[versionId]/publish`, {
      caller: owner,
      params: { slug: SLUG, datasetId, versionId: filled.body.id },
    });
    expect(published.status).toBe(200);

    // The console's form leaves empty settings out ("auto" epochs, LoRA selected by default).
    const job = await call('POST', `${WS}/fine-tuning/jobs`, {
      caller: owner,
      params: { slug: SLUG },
      body: {
        baseModelId: demoId,
        trainingVersionId: filled.body.id,
        method: 'sft_lora',
        hyperparameters: { epochs: 'auto' },
      },
    });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    expect(job.body.method).toBe('sft_full');
    expect(job.body.hyperparameters).toMatchObject(DEMO_PRESET.hyperparameters);

    // Settings given explicitly are kept: the preset is a default, not an override.
    const mine = await call('POST', `${WS}/fine-tuning/estimate`, {
      caller: owner,
      params: { slug: SLUG },
      body: {
        baseModelId: demoId,
        trainingVersionId: filled.body.id,
        method: 'sft_lora',
        hyperparameters: { epochs: 2 },
      },
    });
    expect(mine.status).toBe(200);
    expect(mine.body.hyperparameters).toMatchObject({ epochs: 2, learningRate: 5e-5 });

    // OpenAI's API with no hyper-parameters at all.
    const key = (await call('POST', `${WS}/api-keys`, { caller: owner, params: { slug: SLUG }, body: { name: 'k' } }))
      .body.key;
    const res = await createFineTuningJob(
      new Request(`${APP_URL}/v1/fine_tuning/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'crucible-demo', training_file: `file-${filled.body.id}` }),
      }),
      {},
    );
    expect(res.status).toBe(200);
    const ft = await res.json();
    expect(ft.hyperparameters).toMatchObject({ n_epochs: DEMO_PRESET.hyperparameters.epochs, batch_size: 4 });

    const state = await call('GET', `${WS}/getting-started`, { caller: owner, params: { slug: SLUG } });
    expect(state.body.steps).toMatchObject({ dataset: 'done', publish: 'done', train: 'running', chat: 'todo' });
  });
});
