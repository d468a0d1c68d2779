/**
 * LLaMA-Factory's `do_predict` with `predict_with_generate` (train/sft/workflow.py, CustomSeq2SeqTrainer): every
 * `eval_dataset` row is encoded by its UnsupervisedDatasetProcessor (prompt: the conversation before the last reply,
 * ending with the assistant header; label: that reply with the template's end of turn, both cut to cutoff_len by
 * infer_seqlen), the prompt is generated for with its GeneratingArguments, and output_dir receives
 * generated_predictions.jsonl (save_predictions) and predict_results.json (ComputeSimilarity through
 * @crucible/metrics, plus Transformers' speed metrics), merged into all_results.json as Trainer.save_metrics does.
 *
 * Rows are generated one at a time (LLaMA-Factory left-pads batches; batching changes no greedy answer), each with
 * its own seed (`seed` + row index) so a sampled run repeats.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { meanScores, scoreSimilarity } from '@crucible/metrics';
import { dataCutoffLen, type TTrainConfig } from '../config/schema';
import { readConvertedRows } from '../data/datasets';
import type { TConvertedRow } from '../data/formats';
import { inferSeqlen, pyJsonDumps, type Template } from '../data/template';
import { TrainerError } from '../io/errors';
import type { Tokenizer } from '../io/tokenizer';
import type { Model } from '../model/types';
import { generateTokens } from './generate';

/** LLaMA-Factory's GeneratingArguments defaults (hparams/generating_args.py). */
export const GENERATING_DEFAULTS = Object.freeze({
  do_sample: true,
  temperature: 0.95,
  top_p: 0.7,
  top_k: 50,
  max_new_tokens: 1024,
  skip_special_tokens: true,
}) satisfies Record<string, number | boolean>;

type TPredictExample = { inputIds: number[]; labels: number[] };

/** UnsupervisedDatasetProcessor: rows whose prompt has an even number of turns are dropped, as there. */
function unsupervisedExamples(
  rows: TConvertedRow[],
  template: Template,
  tokenizer: Tokenizer,
  opts: { cutoffLen: number; defaultSystem?: string },
): { examples: TPredictExample[]; dropped: number } {
  const examples: TPredictExample[] = [];
  let dropped = 0;
  for (const r of rows) {
    if (r.prompt.length % 2 !== 1) {
      dropped++;
      continue;
    }
    // A row without exactly one reply is generated for with an empty label, as LLaMA-Factory does.
    const reply = r.response.length === 1 ? r.response : [{ role: 'assistant' as const, content: '' }];
    const [prompt, response] = template.encodeOneTurn(
      [...r.prompt, ...reply],
      r.system || opts.defaultSystem,
      r.tools || undefined,
    );
    const labels = template.efficientEos ? [...response, tokenizer.eosTokenId] : response;
    const [sourceLen, targetLen] = inferSeqlen(prompt.length, labels.length, opts.cutoffLen);
    examples.push({ inputIds: prompt.slice(0, sourceLen), labels: labels.slice(0, targetLen) });
  }
  return { examples, dropped };
}

/** Python's round(x, 3) / round(x, 4) for the speed metrics (runtime values, no ties to worry about). */
const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/**
 * Transformers' save_metrics(split, metrics, combined=True): `<split>_results.json` and all_results.json (merged with
 * what is there), keys sorted, indent 4.
 */
function saveMetrics(outputDir: string, split: string, metrics: Record<string, number>): void {
  const sorted = (o: Record<string, unknown>) =>
    `${JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), null, 4)}\n`;
  writeFileSync(join(outputDir, `${split}_results.json`), sorted(metrics));
  const allPath = join(outputDir, 'all_results.json');
  const all = existsSync(allPath) ? (JSON.parse(readFileSync(allPath, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(allPath, sorted({ ...all, ...metrics }));
}

export type PredictOptions = {
  cfg: TTrainConfig;
  model: Model;
  tokenizer: Tokenizer;
  template: Template;
  log?: (msg: string) => void;
  signal?: AbortSignal;
};

/**
 * Generates for every eval_dataset row and writes the prediction files into cfg.output_dir. Returns the
 * predict_results.json metrics (`predict_bleu-4`, `predict_rouge-1`, `predict_rouge-2`, `predict_rouge-l`,
 * `predict_runtime`, `predict_samples_per_second`, `predict_steps_per_second`).
 */
export function predictToOutputDir(opts: PredictOptions): Record<string, number> {
  const { cfg, model, tokenizer, template } = opts;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const names = cfg.eval_dataset ?? [];
  if (names.length === 0) {
    throw new TrainerError('CONFIG_INVALID_VALUE', '`do_predict` needs `eval_dataset` (the rows to generate for).');
  }
  const rows = readConvertedRows(names, cfg, (m) => log(`warning: ${m}`));
  const { examples, dropped } = unsupervisedExamples(rows, template, tokenizer, {
    cutoffLen: dataCutoffLen(cfg),
    defaultSystem: cfg.default_system,
  });
  if (dropped > 0) log(`warning: eval_dataset: dropped ${dropped} rows whose prompt has an even number of turns.`);
  if (examples.length === 0) {
    throw new TrainerError('DATASET_INVALID', `No rows to predict in ${names.join(', ')}.`);
  }
  const gen = {
    doSample: cfg.do_sample ?? GENERATING_DEFAULTS.do_sample,
    temperature: cfg.temperature ?? GENERATING_DEFAULTS.temperature,
    topP: cfg.top_p ?? GENERATING_DEFAULTS.top_p,
    topK: cfg.top_k ?? GENERATING_DEFAULTS.top_k,
    maxNewTokens: cfg.max_new_tokens ?? GENERATING_DEFAULTS.max_new_tokens,
    skipSpecialTokens: cfg.skip_special_tokens ?? GENERATING_DEFAULTS.skip_special_tokens,
  };
  // LLaMA-Factory stops at the EOS and every additional special token (workflow.py gen_kwargs["eos_token_id"]).
  const stopIds = new Set(template.stopTokenIds);
  const extra = tokenizer.config.additional_special_tokens;
  if (Array.isArray(extra)) {
    for (const t of extra) {
      const id = tokenizer.tokenToId(typeof t === 'string' ? t : (t as { content: string }).content);
      if (id !== undefined) stopIds.add(id);
    }
  }
  log(
    `[crucible] predict: ${examples.length} rows of ${names.join(', ')}; ${gen.doSample ? `sampling (temperature ${gen.temperature}, top_p ${gen.topP}, top_k ${gen.topK})` : 'greedy'}, max_new_tokens ${gen.maxNewTokens}`,
  );

  mkdirSync(cfg.output_dir, { recursive: true });
  const start = performance.now();
  const lines: string[] = [];
  const scores = [];
  for (let i = 0; i < examples.length; i++) {
    if (opts.signal?.aborted) throw new TrainerError('PREDICT_CANCELLED', 'Prediction was cancelled.');
    const ex = examples[i];
    const it = generateTokens(model, ex.inputIds, {
      maxNewTokens: gen.maxNewTokens,
      temperature: gen.doSample ? gen.temperature : 0,
      topP: gen.topP,
      topK: gen.topK,
      seed: cfg.seed + i,
      stopIds: [...stopIds],
    });
    const ids: number[] = [];
    let step = it.next();
    for (; !step.done; step = it.next()) ids.push(step.value);
    // Transformers keeps the EOS it stopped at in the generated ids; decoding then drops it (or not).
    if (step.value !== undefined) ids.push(step.value);
    const decode = (t: number[], skip: boolean) => tokenizer.decode(t, { skipSpecialTokens: skip });
    lines.push(
      pyJsonDumps({
        prompt: decode(ex.inputIds, false),
        predict: decode(ids, gen.skipSpecialTokens),
        label: decode(ex.labels, gen.skipSpecialTokens),
      }),
    );
    // ComputeSimilarity always decodes with skip_special_tokens=True.
    scores.push(scoreSimilarity(decode(ids, true), decode(ex.labels, true)));
    if ((i + 1) % 10 === 0 || i + 1 === examples.length) log(`[crucible] predict ${i + 1}/${examples.length}`);
  }
  const runtime = (performance.now() - start) / 1000;
  writeFileSync(join(cfg.output_dir, 'generated_predictions.jsonl'), `${lines.join('\n')}\n`);

  const mean = meanScores(scores);
  const steps = Math.ceil(examples.length / cfg.per_device_eval_batch_size);
  const metrics: Record<string, number> = {
    'predict_bleu-4': mean['bleu-4'],
    'predict_rouge-1': mean['rouge-1'],
    'predict_rouge-2': mean['rouge-2'],
    'predict_rouge-l': mean['rouge-l'],
    predict_runtime: round(runtime, 4),
  };
  if (runtime > 0) {
    metrics.predict_samples_per_second = round(examples.length / runtime, 3);
    metrics.predict_steps_per_second = round(steps / runtime, 3);
  }
  saveMetrics(cfg.output_dir, 'predict', metrics);
  log(
    `[crucible] predict: bleu-4 ${mean['bleu-4'].toFixed(4)}, rouge-1 ${mean['rouge-1'].toFixed(4)}, rouge-2 ${mean['rouge-2'].toFixed(4)}, rouge-l ${mean['rouge-l'].toFixed(4)}; ${join(cfg.output_dir, 'generated_predictions.jsonl')}`,
  );
  return metrics;
}
