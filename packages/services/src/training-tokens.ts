import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTrainConfig,
  datasetInfo,
  JOB_FOLDER,
  prepareJobDataFile,
  stageOf,
  type TFineTuningMethod,
  type TResolvedHyperparameters,
} from '@crucible/jobs';
import { downloadObject, downloadPrefix, getStorage } from '@crucible/storage';
import { parseTrainConfig } from '@crucible/trainer/config/load';
import { countTrainTokens, type TTrainTokenCount } from '@crucible/trainer/data/count';
import { loadTokenizer, type Tokenizer } from '@crucible/trainer/io/tokenizer';

/**
 * The estimate's token count, made the way the run makes it: the trainer worker's config of the job
 * (buildTrainConfig), the base model's own tokenizer and template, the published dataset files, and the training
 * core's own loader (countTrainTokens). Model folders are fetched without their weights, once per model; counts
 * are cached per (model, versions, settings) — published versions never change.
 */

type TBase = { id: string; arch: string; objectKey: string | null; path: string | null; updatedAt: Date };
type TVersion = { id: string; objectKey: string };

const root = () => join(tmpdir(), 'crucible-estimates');
const WEIGHTS = /\.(safetensors|bin|gguf|pt|pth|ckpt|msgpack|h5)$/i;

/**
 * A bounded cache of promises: concurrent asks share one computation, a failed one is forgotten (asked again next
 * time), and past `max` entries the oldest goes.
 */
function promiseCache<T>(max: number) {
  const entries = new Map<string, Promise<T>>();
  return (key: string, make: () => Promise<T>): Promise<T> => {
    let p = entries.get(key);
    if (!p) {
      p = make();
      p.catch(() => entries.delete(key));
      if (entries.size >= max) entries.delete(entries.keys().next().value as string);
      entries.set(key, p);
    }
    return p;
  };
}

const counts = promiseCache<TTrainTokenCount>(256);
/** Parsed tokenizers by model folder (a Qwen tokenizer.json takes a second or two to load). */
const tokenizers = promiseCache<Tokenizer>(8);
const tokenizerOf = (modelDir: string) => tokenizers(modelDir, () => loadTokenizer(modelDir));

/** The base model's folder without weights (tokenizer, config, template files), kept while the row is unchanged. */
async function tokenizerFolder(base: TBase): Promise<string> {
  const dir = join(root(), 'models', `${base.id}-${base.updatedAt.getTime()}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (base.objectKey) {
    await downloadPrefix(getStorage(), base.objectKey, dir, (rel) => !WEIGHTS.test(rel));
  } else if (base.path && existsSync(base.path)) {
    cpSync(base.path, dir, { recursive: true, filter: (src) => !WEIGHTS.test(src) });
  }
  writeFileSync(join(dir, '.complete'), '');
  return dir;
}

async function count(
  base: TBase,
  training: TVersion,
  validation: TVersion | null,
  method: TFineTuningMethod,
  hp: TResolvedHyperparameters,
  epochs: number,
): Promise<TTrainTokenCount> {
  const modelDir = await tokenizerFolder(base);
  mkdirSync(root(), { recursive: true });
  const dir = mkdtempSync(join(root(), 'job-'));
  try {
    const data = join(dir, JOB_FOLDER.data);
    const files = { train: 'train.jsonl', ...(validation ? { validation: 'validation.jsonl' } : {}) };
    await downloadObject(getStorage(), training.objectKey, join(data, files.train));
    await prepareJobDataFile(join(data, files.train), method);
    if (validation) {
      await downloadObject(getStorage(), validation.objectKey, join(data, 'validation.jsonl'));
      await prepareJobDataFile(join(data, 'validation.jsonl'), method);
    }
    writeFileSync(join(data, 'dataset_info.json'), JSON.stringify(datasetInfo(files, method)));
    const raw = buildTrainConfig({
      method,
      hp,
      epochs,
      arch: base.arch,
      hasValidation: Boolean(validation),
      valSplit: hp.valSplit,
    });
    const cfg = parseTrainConfig({ ...raw, dataset_dir: data }, 'estimate', () => {});
    return await countTrainTokens(cfg, modelDir, { tokenizer: await tokenizerOf(modelDir) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Tokens per epoch of a job as the run will count them (cached; concurrent asks share one count). */
export function trainTokensPerEpoch(
  base: TBase,
  training: TVersion,
  validation: TVersion | null,
  method: TFineTuningMethod,
  hp: TResolvedHyperparameters,
  epochs: number,
): Promise<TTrainTokenCount> {
  const key = createHash('sha256')
    .update(
      JSON.stringify([
        base.id,
        base.updatedAt.getTime(),
        training.id,
        validation?.id ?? null,
        base.arch,
        // the stage decides how rows become sequences (a dpo pair is two)
        stageOf(method),
        hp.cutoffLen,
        hp.valSplit,
        hp.seed,
      ]),
    )
    .digest('hex');
  return counts(key, () => count(base, training, validation, method, hp, epochs));
}
