import { once } from 'node:events';
import { createReadStream, createWriteStream, renameSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { workspaceKey } from '@crucible/storage';
import { splitValidation } from '@crucible/trainer';
import type { TJobServices } from './context';

const readLines = (path: string) =>
  createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });

async function write(out: WriteStream, line: string) {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}

async function close(out: WriteStream) {
  out.end();
  await once(out, 'close');
}

/**
 * A `valSplit` job's held-out rows, split by the platform before the run: the rows of `trainPath` (a stored dataset
 * version, canonical JSONL) go to `trainPath` and `heldOutPath`, with the training core's own seeded split
 * (`splitValidation`, as `val_size` splits inside a run: ceil(fraction x rows), Fisher-Yates with `seed`). The
 * run then evaluates on `heldOutPath` as its `eval_dataset`, and the platform keeps that file, so an evaluation job
 * can score models on exactly the rows the run never trained on. Streams both passes (a dataset of any size).
 * Returns the number of held-out rows; blank lines are dropped.
 */
export async function splitHeldOut(
  trainPath: string,
  heldOutPath: string,
  valSplit: number,
  seed: number,
): Promise<number> {
  let rows = 0;
  for await (const line of readLines(trainPath)) if (line.trim()) rows++;
  const held = new Set(
    splitValidation(
      Array.from({ length: rows }, (_, i) => i),
      valSplit,
      seed,
    ).eval,
  );
  const tmp = `${trainPath}.train`;
  const train = createWriteStream(tmp);
  const heldOut = createWriteStream(heldOutPath);
  let i = 0;
  try {
    for await (const line of readLines(trainPath)) {
      if (!line.trim()) continue;
      await write(held.has(i++) ? heldOut : train, line);
    }
  } finally {
    await close(train);
    await close(heldOut);
  }
  renameSync(tmp, trainPath);
  return held.size;
}

/**
 * Splits `train.jsonl` of a job folder's data into itself and `validation.jsonl` (splitHeldOut) and stores the
 * held-out rows beside the job (`heldOutObjectKey`, `heldOutRowCount`), where evaluation jobs read them. A resumed
 * attempt splits the same way (same rows, same seed) and stores the same file again. A split that leaves no training
 * row is the user's error, answered as `{error}`; storage and database errors throw (the attempt is retried).
 */
export async function storeHeldOut(
  job: { id: string; workspaceId: string },
  svc: Pick<TJobServices, 'storage' | 'db'>,
  dataDir: string,
  hp: { valSplit: number; seed: number },
): Promise<{ rows: number } | { error: string }> {
  const path = join(dataDir, 'validation.jsonl');
  let rows: number;
  try {
    rows = await splitHeldOut(join(dataDir, 'train.jsonl'), path, hp.valSplit, hp.seed);
  } catch (e) {
    return { error: (e as Error).message };
  }
  const key = workspaceKey(job.workspaceId, 'jobs', job.id, 'held-out.jsonl');
  await svc.storage.putObject(key, createReadStream(path), {
    size: statSync(path).size,
    contentType: 'application/jsonl',
  });
  await svc.db.trainingJob.update({ where: { id: job.id }, data: { heldOutObjectKey: key, heldOutRowCount: rows } });
  return { rows };
}
