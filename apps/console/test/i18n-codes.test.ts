import { DETAIL_CODES, DETAILS, PROBLEMS } from '@crucible/datasets';
import { JOB_ERROR_CODES, JOB_EVENT_CODES, JOB_EVENT_EXAMPLES, jobEvent, trainerLogEvent } from '@crucible/jobs/events';
import { ZHyperparameters } from '@crucible/jobs/fine-tuning';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  apiErrorText,
  datasetDetailText,
  datasetProblemText,
  hyperparameterLabel,
  jobErrorText,
  jobEventText,
  reasonText,
  unitText,
} from '../lib/i18n/domain';
import { createTranslator } from '../lib/i18n/translate';
import { APP_ERROR_STATUS, toResponse } from '../lib/server/errors';
import en from '../messages/en.json';
import zhCN from '../messages/zh-CN.json';

// Issue 13, item 11: text the server sends as codes (job events, job errors, API errors and their validation
// reasons, dataset problems, price units) has a message in both catalogues, and a zh-CN reader gets Chinese for
// each — a code added on the server without messages fails here before it shows English on a Chinese page.

const tEn = createTranslator(en);
const tZh = createTranslator(zhCN);
const CJK = /[\u4e00-\u9fff]/;

const leaf = (messages: unknown, key: string) =>
  key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], messages);

describe('job events', () => {
  it('every event code has a message in en and zh-CN', () => {
    for (const code of JOB_EVENT_CODES) {
      expect(typeof leaf(en, `jobEvents.${code}`), code).toBe('string');
      expect(typeof leaf(zhCN, `jobEvents.${code}`), code).toBe('string');
    }
  });

  it('renders every code in Chinese with its parameters filled (no key, no leftover {placeholder})', () => {
    for (const code of JOB_EVENT_CODES) {
      const e = jobEvent(code as 'worker_claimed', JOB_EVENT_EXAMPLES[code] as { worker: string; attempt: number });
      const zh = jobEventText(tZh, e);
      expect(CJK.test(zh), `${code}: ${zh}`).toBe(true);
      // {{name}} is the dataset placeholder's own spelling; a single-brace {param} is an unfilled parameter
      const unfilled = /(?<!\{)\{\w+\}(?!\})|jobEvents\./;
      expect(zh, code).not.toMatch(unfilled);
      expect(jobEventText(tEn, e), code).not.toMatch(unfilled);
    }
  });

  it('keeps the English sentence for the APIs and the CLI', () => {
    expect(jobEvent('checkpoint_saved', { step: 10 }).message).toBe('Checkpoint saved at step 10.');
    expect(jobEvent('job_created')).toEqual({
      code: 'job_created',
      params: {},
      message: 'Job created; waiting for a trainer worker.',
    });
  });

  it('falls back to the stored text for events older than codes', () => {
    expect(jobEventText(tZh, { message: 'Job created; waiting for a trainer worker.' })).toBe(
      'Job created; waiting for a trainer worker.',
    );
  });

  it("maps the training core's log lines to codes (and an unknown line to trainer_log)", () => {
    expect(trainerLogEvent('[crucible] 90 training and 10 evaluation examples; backend cpu').code).toBe(
      'trainer_examples',
    );
    expect(
      trainerLogEvent(
        '[crucible] cpu: 2 threads, sgemm avx2, bf16 widened; frozen weights: projections f32, embedding f32, lm_head f32; gradient checkpointing off',
      ).params,
    ).toMatchObject({ summary: 'cpu: 2 threads, sgemm avx2, bf16 widened', gc: 'off' });
    expect(trainerLogEvent('[crucible] resuming from output/checkpoint-10').code).toBe('trainer_resuming');
    // The two lines the core writes on cancel (packages/trainer cancelledLine; its own test pins them).
    expect(trainerLogEvent('[crucible] cancelled after step 4; checkpoint-4 in /x can be resumed')).toMatchObject({
      code: 'trainer_cancelled',
      params: { step: 4, checkpoint: 4 },
    });
    expect(
      trainerLogEvent(
        '[crucible] cancelled after step 2; no checkpoint was saved, so a new run starts from the beginning',
      ).code,
    ).toBe('trainer_cancelled_no_checkpoint');
    expect(
      trainerLogEvent('[crucible] continuing adapter /srv/a (r 8, alpha 16, dropout 0, targets q_proj,v_proj)').params,
    ).toEqual({ path: '/srv/a' });
    expect(trainerLogEvent('warning: dataset train: dropped 2 invalid rows (as LLaMA-Factory does).').params).toEqual({
      dataset: 'train',
      count: 2,
    });
    expect(trainerLogEvent('warning: 3 training examples have no labelled tokens after cutoff_len.').code).toBe(
      'trainer_unlabelled',
    );
    expect(trainerLogEvent('something new').code).toBe('trainer_log');
  });

  it('every job error code has a sentence in both languages', () => {
    for (const code of JOB_ERROR_CODES) {
      expect(typeof leaf(en, `jobErrors.${code}`), code).toBe('string');
      expect(CJK.test(jobErrorText(tZh, code, 'English detail')), code).toBe(true);
    }
  });
});

describe('API errors and validation reasons', () => {
  it('every API error code has a sentence in both languages', () => {
    for (const code of Object.keys(APP_ERROR_STATUS)) {
      expect(typeof leaf(en, `apiErrors.${code}`), code).toBe('string');
      const zh = apiErrorText(tZh, 'zh-CN', { code, message: 'An English sentence.' });
      expect(CJK.test(zh), `${code}: ${zh}`).toBe(true);
    }
  });

  it('a zod error becomes an invalid_request with a reason (code + params) in the /api error shape', async () => {
    const parsed = z.strictObject({ name: z.string().min(3) }).safeParse({ name: 'a' });
    expect(parsed.success).toBe(false);
    const body = (await toResponse(parsed.error).json()) as {
      error: {
        code: string;
        message: string;
        param: string;
        reason: { code: string; params: Record<string, unknown> };
      };
    };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.param).toBe('name');
    expect(body.error.message).toMatch(/>=3/);
    expect(body.error.reason).toEqual({
      code: 'zod.too_small',
      params: { origin: 'string', minimum: 3, inclusive: true },
    });
    expect(apiErrorText(tZh, 'zh-CN', body.error)).toBe('至少需要 3 个字符。');
    expect(apiErrorText(tEn, 'en', body.error)).toBe(body.error.message);
  });

  it('every kind of zod issue the API schemas raise reads as Chinese, hyper-parameters named by label', async () => {
    const bad: unknown[] = [
      {},
      { suffix: 'no spaces allowed' },
      { hyperparameters: { batchSize: 0 } },
      { hyperparameters: { batchSize: 1000 } },
      { hyperparameters: { learningRate: 0 } },
      { hyperparameters: { batchSize: 'big' } },
      { hyperparameters: { lrScheduler: 'steep' } },
      { hyperparameters: { nope: 1 } },
      { hyperparameters: { loraTargets: [] } },
      { email: 'not-an-email' },
    ];
    const schema = z.strictObject({
      suffix: z
        .string()
        .regex(/^[a-z]+$/, 'English custom message.')
        .optional(),
      email: z.email().optional(),
      name: z.string().min(1, 'Name is required.'),
      hyperparameters: ZHyperparameters.optional(),
    });
    for (const value of bad) {
      const parsed = schema.safeParse({ name: 'x', ...(value as object) });
      const input = Object.keys(value as object).length ? parsed : schema.safeParse({});
      expect(input.success, JSON.stringify(value)).toBe(false);
      const body = (await toResponse(input.error).json()) as { error: Parameters<typeof apiErrorText>[2] };
      const zh = apiErrorText(tZh, 'zh-CN', body.error);
      expect(CJK.test(zh), `${JSON.stringify(value)}: ${zh}`).toBe(true);
      expect(zh, JSON.stringify(value)).not.toContain(body.error.message);
    }
    const batch = schema.safeParse({ name: 'x', hyperparameters: { batchSize: 0 } });
    const body = (await toResponse(batch.error).json()) as { error: Parameters<typeof apiErrorText>[2] };
    expect(apiErrorText(tZh, 'zh-CN', body.error)).toBe('批大小：不能小于 1。');
  });

  it('validation reasons without zod (server-side codes) fall back to a generic sentence, not English', () => {
    expect(reasonText(tZh, { code: 'zod.custom' })).toBe('取值无效。');
  });
});

describe('dataset problems, hyper-parameter names, units', () => {
  it('every dataset problem code has a sentence in both languages', () => {
    for (const code of Object.keys(PROBLEMS)) {
      expect(typeof leaf(en, `datasetProblems.${code}`), code).toBe('string');
      expect(CJK.test(datasetProblemText(tZh, code, 'English')), code).toBe(true);
    }
  });

  it('every dataset problem detail code has a sentence in both languages, its parameters filled', () => {
    const sample = { value: '42', shape: '{"messages": [...]}', turn: 2, tag: 'gpt', expected: 'human/observation' };
    const params = { ...sample, a: 'gpt', b: 'function_call', n: 3, limit: 2, kind: 'list', row: 'sharegpt' };
    const all = { ...params, file: 'alpaca', cells: 4, columns: 3 };
    for (const code of DETAIL_CODES) {
      expect(typeof leaf(en, `datasetDetails.${code}`), code).toBe('string');
      const english = (DETAILS[code] as (p: object) => string)(all);
      const zh = datasetDetailText(tZh, { detail: english, detailCode: code, params: all });
      expect(CJK.test(zh ?? ''), `${code}: ${zh}`).toBe(true);
      expect(zh, code).not.toMatch(/(?<!\{)\{\w+\}(?!\})/);
      expect(datasetDetailText(tEn, { detail: english, detailCode: code, params: all }), code).toBe(english);
    }
  });

  it('every hyper-parameter has a human name in both languages, never its camelCase key', () => {
    for (const key of [...Object.keys(ZHyperparameters.shape), 'requestedEpochs']) {
      const english = hyperparameterLabel(tEn, key);
      expect(english, key).not.toBe(key);
      expect(english, key).toMatch(/^[A-Z]/);
      expect(CJK.test(hyperparameterLabel(tZh, key)), key).toBe(true);
    }
    expect(hyperparameterLabel(tEn, 'batchSize')).toBe('Batch size');
    expect(hyperparameterLabel(tEn, 'cutoffLen')).toBe('Cutoff length');
    expect(hyperparameterLabel(tEn, 'loraTargets')).toBe('LoRA target modules');
  });

  it('zh-CN says "Token" for token everywhere (one word, not 词元 or token)', () => {
    const values: string[] = [];
    const walk = (node: unknown) => {
      if (typeof node === 'string') values.push(node);
      else for (const v of Object.values(node as object)) walk(v);
    };
    walk(zhCN);
    expect(values.filter((v) => /词元|令牌|\btokens?\b/.test(v))).toEqual([]);
    expect(values.filter((v) => v.includes('Token')).length).toBeGreaterThan(30);
  });

  it('every price unit reads in Chinese', () => {
    for (const unit of ['1K tokens', '1M tokens', 'hour', 'GB-month']) {
      expect(unitText(tEn, unit)).toBe(unit);
      expect(unitText(tZh, unit), unit).not.toBe(unit);
    }
  });
});
