import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetKindOf, defaultHyperparameters, resolveHyperparameters, stageKeyProblem } from '../src/fine-tuning';
import { prepareJobDataFile } from '../src/job-data';
import { buildTrainConfig, datasetInfo } from '../src/train-config';

const dir = mkdtempSync(join(tmpdir(), 'crucible-jobs-pref-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (method: Parameters<typeof buildTrainConfig>[0]['method'], hp = {}, continuesAdapter = false) =>
  buildTrainConfig({
    method,
    hp: resolveHyperparameters(method, hp),
    epochs: 1,
    arch: 'qwen2',
    hasValidation: false,
    valSplit: 0,
    continuesAdapter,
  });

describe('preference jobs (issue 15)', () => {
  it("resolve LLaMA-Factory's defaults for the job's stage only", () => {
    expect(defaultHyperparameters('dpo_lora')).toMatchObject({
      prefBeta: 0.1,
      prefLoss: 'sigmoid',
      prefFtx: 0,
      simpoGamma: 0.5,
      dpoLabelSmoothing: 0,
    });
    expect(defaultHyperparameters('dpo_lora')).not.toHaveProperty('ktoChosenWeight');
    expect(defaultHyperparameters('kto_full')).toMatchObject({
      prefBeta: 0.1,
      ktoChosenWeight: 1,
      ktoRejectedWeight: 1,
    });
    expect(defaultHyperparameters('sft_lora')).not.toHaveProperty('prefBeta');
    // A stored row's keys of another stage are ignored, not trained with.
    expect(resolveHyperparameters('sft_lora', { prefBeta: 0.5 })).not.toHaveProperty('prefBeta');
  });

  it('refuse a setting of another stage, and label smoothing off the sigmoid loss, naming the key', () => {
    expect(stageKeyProblem('sft_lora', { prefBeta: 0.2 })).toMatchObject({ key: 'prefBeta' });
    expect(stageKeyProblem('dpo_lora', { ktoChosenWeight: 2 })?.message).toMatch(/applies to kto jobs only/);
    expect(stageKeyProblem('kto_lora', { prefLoss: 'ipo' })?.message).toMatch(/applies to dpo jobs only/);
    expect(stageKeyProblem('dpo_lora', { prefLoss: 'ipo', dpoLabelSmoothing: 0.1 })).toMatchObject({
      key: 'dpoLabelSmoothing',
    });
    expect(stageKeyProblem('dpo_full', { prefLoss: 'simpo', simpoGamma: 1, prefBeta: 2 })).toBeNull();
  });

  it('write stage dpo / kto and their keys into the run config; a continued adapter keeps its own LoRA shape', () => {
    expect(config('dpo_lora', { prefLoss: 'orpo', prefBeta: 0.2 })).toMatchObject({
      stage: 'dpo',
      finetuning_type: 'lora',
      pref_beta: 0.2,
      pref_loss: 'orpo',
      pref_ftx: 0,
      simpo_gamma: 0.5,
      dpo_label_smoothing: 0,
      lora_rank: 8,
    });
    const kto = config('kto_full');
    expect(kto).toMatchObject({ stage: 'kto', finetuning_type: 'full', kto_chosen_weight: 1, kto_rejected_weight: 1 });
    expect(kto).not.toHaveProperty('pref_loss');
    expect(config('sft_lora')).not.toHaveProperty('pref_beta');
    const continued = config('dpo_lora', {}, true);
    expect(continued).toMatchObject({ adapter_name_or_path: 'adapter' });
    expect(continued).not.toHaveProperty('lora_rank');
    expect(datasetInfo({ train: 't.jsonl' }, 'dpo_lora').train).toMatchObject({
      ranking: true,
      columns: { messages: 'messages', chosen: 'chosen', rejected: 'rejected' },
    });
    expect(datasetInfo({ train: 't.jsonl' }, 'kto_lora').train.columns).toMatchObject({ kto_tag: 'label' });
  });

  it('rewrite OpenAI DPO rows as LLaMA-Factory ranking rows, and refuse a row that is not a pair by its line', async () => {
    const file = join(dir, 'train.jsonl');
    const row = {
      input: {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi?' },
        ],
      },
      preferred_output: [{ role: 'assistant', content: 'Hello.' }],
      non_preferred_output: [{ role: 'assistant', content: 'Go away.' }],
    };
    writeFileSync(file, `${JSON.stringify(row)}\n\n${JSON.stringify(row)}\n`);
    await prepareJobDataFile(file, 'dpo_full');
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      messages: row.input.messages,
      chosen: { role: 'assistant', content: 'Hello.' },
      rejected: { role: 'assistant', content: 'Go away.' },
    });
    writeFileSync(file, `${JSON.stringify(row)}\n${JSON.stringify({ messages: [] })}\n`);
    await expect(prepareJobDataFile(file, 'dpo_lora')).rejects.toThrow(/row 2 is not a preference pair/);
    // Other stages use the version's rows as they are.
    writeFileSync(file, 'unchanged');
    await prepareJobDataFile(file, 'kto_lora');
    expect(readFileSync(file, 'utf8')).toBe('unchanged');
  });

  it("tell a version's kind from its format and statistics", () => {
    expect(datasetKindOf({ format: 'preference' })).toBe('preference');
    expect(datasetKindOf({ format: 'chatml', rowCount: 4, stats: { labels: { desirable: 3, undesirable: 1 } } })).toBe(
      'kto',
    );
    expect(datasetKindOf({ format: 'chatml', rowCount: 5, stats: { labels: { desirable: 3, undesirable: 1 } } })).toBe(
      'chat',
    );
    expect(datasetKindOf({ format: 'chatml', rowCount: 5, stats: null })).toBe('chat');
    expect(datasetKindOf({ format: 'text' })).toBe('text');
  });
});
