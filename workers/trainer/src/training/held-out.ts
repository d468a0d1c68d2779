import { once } from 'node:events';
import { createReadStream, createWriteStream, renameSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { splitValidation } from '@crucible/trainer';

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
