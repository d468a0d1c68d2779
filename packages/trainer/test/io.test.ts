import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInitModelArgs } from '../src/cli/init-model';
import { getTemplate } from '../src/data';
import {
  initModel,
  loadTokenizer,
  loadWeights,
  readSafetensors,
  type TSafetensorsDtype,
  type Weights,
  writeSafetensors,
  writeShardedSafetensors,
} from '../src/io';
import { parseModelConfig } from '../src/model';

const REF = join(__dirname, 'fixtures/safetensors');
const ref = JSON.parse(readFileSync(join(REF, 'ref_values.json'), 'utf8')) as Record<
  string,
  { shape: number[]; F32: number[]; F16: number[]; BF16: number[] }
>;
const tmp = mkdtempSync(join(tmpdir(), 'crucible-io-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function refWeights(): Weights {
  const w: Weights = new Map();
  for (const [k, v] of Object.entries(ref)) w.set(k, { shape: v.shape, data: Float32Array.from(v.F32) });
  return w;
}

describe('safetensors (against files written by numpy: fixtures/safetensors/make_ref.py)', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as TSafetensorsDtype[]) {
    it(`reads ${dtype} exactly`, async () => {
      const w = await readSafetensors(join(REF, `ref_${dtype.toLowerCase()}.safetensors`));
      expect(w.metadata).toEqual({ format: 'pt' });
      for (const [k, v] of Object.entries(ref)) {
        expect(w.get(k)?.shape).toEqual(v.shape);
        expect(Array.from(w.get(k)?.data ?? [])).toEqual(Array.from(Float32Array.from(v[dtype])));
        expect(w.dtypes.get(k)).toBe(dtype);
      }
    });
    it(`writes ${dtype} byte-identical to numpy (round to nearest even)`, () => {
      const out = join(tmp, `w_${dtype}.safetensors`);
      writeSafetensors(out, refWeights(), { dtype });
      expect(readFileSync(out).equals(readFileSync(join(REF, `ref_${dtype.toLowerCase()}.safetensors`)))).toBe(true);
    });
  }

  it('loads a sharded model directory through model.safetensors.index.json', async () => {
    const dir = join(tmp, 'sharded');
    const w = refWeights();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeShardedSafetensors(dir, w, { maxShardBytes: 32, dtype: 'BF16' });
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(new Set(Object.values(index.weight_map)).size).toBeGreaterThan(1);
    const back = await loadWeights(dir);
    expect(Array.from(back.get('a.weight')?.data ?? [])).toEqual(Array.from(Float32Array.from(ref['a.weight'].BF16)));
    expect(back.size).toBe(3);
  });

  it('rejects a truncated file with a typed error', async () => {
    const bad = join(tmp, 'bad.safetensors');
    writeFileSync(bad, readFileSync(join(REF, 'ref_f32.safetensors')).subarray(0, 100));
    await expect(readSafetensors(bad)).rejects.toMatchObject({ code: 'SAFETENSORS_INVALID' });
    await expect(loadWeights(tmp + '/nowhere')).rejects.toMatchObject({ code: 'MODEL_FILES_MISSING' });
  });
});

describe('init-model', () => {
  it('parses the CLI flags', () => {
    const { opts, outDir } = parseInitModelArgs([
      '--arch',
      'llama',
      '--layers',
      '2',
      '--hidden',
      '64',
      '--kv-heads',
      '2',
      '--seed',
      '3',
      'OUT',
    ]);
    expect(outDir).toBe('OUT');
    expect(opts).toMatchObject({ arch: 'llama', layers: 2, hidden: 64, heads: 4, kvHeads: 2, seed: 3, tie: true });
    expect(() => parseInitModelArgs(['--arch', 'gpt2', '--layers', '1', '--hidden', '8', 'o'])).toThrowError(
      /--arch must be qwen2, qwen3, llama, mistral, gemma2 or gemma3/,
    );
    expect(parseInitModelArgs(['--arch', 'gemma3', '--layers', '1', '--hidden', '64', 'o']).opts.arch).toBe('gemma3');
    expect(() => parseInitModelArgs(['--arch', 'qwen2', '--layers', '1', '--hiden', '8', 'o'])).toThrowError(
      /Unknown option --hiden/,
    );
  });

  it('writes Gemma 2 / Gemma 3 directories whose config.json Transformers 5 loads (floats written as floats)', async () => {
    // Checked by hand against Transformers 5.17: both load and give the core's logits within 1e-6 (float32).
    for (const arch of ['gemma2', 'gemma3'] as const) {
      const dir = join(tmp, arch);
      await initModel({ arch, layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, seed: 1 }, dir);
      const text = readFileSync(join(dir, 'config.json'), 'utf8');
      const c = parseModelConfig(JSON.parse(text));
      expect(c.arch).toBe(arch);
      if (arch === 'gemma2') {
        expect(text).toContain('"final_logit_softcapping": 30.0');
        expect(text).toContain('"rope_theta": 10000.0');
        expect(c.gemma).toMatchObject({ queryPreAttnScalar: 16, slidingLayers: [true, false] });
      } else {
        expect(text).toContain('"rope_theta": 1000000.0');
        expect(c.gemma).toMatchObject({ slidingLayers: [true, true], localRopeTheta: 10000 });
        expect(c.qkNorm).toBe(true);
      }
    }
  });

  it('writes a Qwen2 directory that the model config parser, tokenizer and auto template accept', async () => {
    const dir = join(tmp, 'qwen');
    await initModel({ arch: 'qwen2', layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, seed: 1 }, dir);
    for (const f of [
      'config.json',
      'model.safetensors',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]) {
      expect(existsSync(join(dir, f))).toBe(true);
    }
    const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(hf.architectures).toEqual(['Qwen2ForCausalLM']);
    expect(hf.torch_dtype).toBe('float32');
    const cfg = parseModelConfig(hf);
    expect(cfg).toMatchObject({
      arch: 'qwen2',
      numLayers: 2,
      hiddenSize: 64,
      numKvHeads: 2,
      tieWordEmbeddings: true,
      vocabSize: 151936,
    });
    const w = await loadWeights(dir);
    expect(w.has('lm_head.weight')).toBe(false);
    expect(w.get('model.layers.0.self_attn.q_proj.bias')?.data.every((x) => x === 0)).toBe(true);
    expect(w.get('model.norm.weight')?.data.every((x) => x === 1)).toBe(true);
    const emb = w.get('model.embed_tokens.weight')?.data as Float32Array;
    let s = 0;
    let s2 = 0;
    for (const x of emb) {
      s += x;
      s2 += x * x;
    }
    const mean = s / emb.length;
    const std = Math.sqrt(s2 / emb.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(1e-3); // 9.7M samples: mean's standard error is 6e-6
    expect(Math.abs(std - 0.02)).toBeLessThan(1e-4);
    const tok = await loadTokenizer(dir);
    const m = [
      { role: 'user' as const, content: 'Who are you?' },
      { role: 'assistant' as const, content: 'I am mychat.' },
    ];
    // The written chat_template (Qwen2.5's) renders as LLaMA-Factory's qwen template, default system included.
    expect(getTemplate('auto', tok).encodeChat(m)).toEqual(getTemplate('qwen', tok).encodeChat(m));
  });

  it('is repeatable by seed and writes BF16 for Llama', async () => {
    const a = join(tmp, 'l1');
    const b = join(tmp, 'l2');
    const o = {
      arch: 'llama' as const,
      layers: 1,
      hidden: 32,
      intermediate: 64,
      heads: 2,
      kvHeads: 1,
      seed: 9,
      dtype: 'BF16' as const,
      vocab: 128256,
    };
    await initModel(o, a);
    await initModel(o, b);
    expect(readFileSync(join(a, 'model.safetensors')).equals(readFileSync(join(b, 'model.safetensors')))).toBe(true);
    const hf = JSON.parse(readFileSync(join(a, 'config.json'), 'utf8'));
    expect(hf.architectures).toEqual(['LlamaForCausalLM']);
    expect(hf.torch_dtype).toBe('bfloat16');
    const w = await loadWeights(a);
    expect(w.dtypes.get('model.embed_tokens.weight')).toBe('BF16');
    await expect(initModel({ ...o, vocab: 1000 }, join(tmp, 'l3'))).rejects.toThrowError(/smaller than the tokenizer/);
  });
});
