/**
 * Weights as stored: safetensors opened and read tensor by tensor into the dtype the model keeps (bf16/f16 files as
 * bf16, fp32 files as fp32 unless bf16 is asked for), init-model presets written streamed into shards, and a model
 * built from a stored directory equal to one built from the same weights in memory.
 *
 * Exactness: every conversion here is a deterministic rounding (bf16 -> f32 exact, f32/f16 -> bf16 round to nearest
 * even, checked against the numpy-written fixtures and the TS converters), so the comparisons have no tolerance.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend, fromBf16, toBf16 } from '@crucible/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInitModelArgs } from '../src/cli/init-model';
import { f16BitsToF32, f32ToBf16Bits, initModel, loadWeights, openSafetensors, openWeights } from '../src/io';
import { MODEL_PRESETS } from '../src/io/init-model';
import { createModel, parseModelConfig, randomWeights, type Weights } from '../src/model';

const REF = join(__dirname, 'fixtures/safetensors');
const ref = JSON.parse(readFileSync(join(REF, 'ref_values.json'), 'utf8')) as Record<
  string,
  { shape: number[]; F32: number[]; F16: number[]; BF16: number[] }
>;
const tmp = mkdtempSync(join(tmpdir(), 'crucible-weights-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const be = createBackend('reference');

/** Bitwise equality of two float arrays (vitest's deep equality walks millions of elements slowly). */
function sameBits(a: Float32Array | undefined, b: Float32Array | undefined, what: string): void {
  expect(a && b && a.length === b.length, `${what}: lengths`).toBe(true);
  const x = a as Float32Array;
  const y = b as Float32Array;
  const eq = Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
    Buffer.from(y.buffer, y.byteOffset, y.byteLength),
  );
  expect(eq, `${what}: bits differ`).toBe(true);
}

describe('openSafetensors', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`reads ${dtype} as f32 exactly and as bf16 by round to nearest even`, () => {
      const st = openSafetensors(join(REF, `ref_${dtype.toLowerCase()}.safetensors`));
      for (const [k, v] of Object.entries(ref)) {
        const t = st.get(k);
        expect(t?.dtype).toBe(dtype);
        expect(t?.shape).toEqual(v.shape);
        const f = t?.read('f32') as Float32Array;
        expect(Array.from(f)).toEqual(Array.from(Float32Array.from(v[dtype])));
        const b = t?.read('bf16') as Uint16Array;
        expect(b).toBeInstanceOf(Uint16Array);
        // bf16 of the stored value: exact for BF16, one RNE rounding from F32 or from F16's exact fp32 value.
        expect(Array.from(b)).toEqual(Array.from(Float32Array.from(v[dtype])).map((x) => f32ToBf16Bits(x)));
      }
    });
  }

  it('f16 -> bf16 goes through the exact fp32 value', () => {
    expect(f32ToBf16Bits(f16BitsToF32(0x3c01))).toBe(0x3f80); // 1 + 2^-10 rounds to 1 in bf16
  });
});

describe('init-model presets', () => {
  it('every preset has the Qwen2.5 shapes, BF16 and the hub sharding; flags override', () => {
    const a = parseInitModelArgs(['--preset', 'qwen2.5-7b', 'out']);
    expect(a.opts).toMatchObject({
      arch: 'qwen2',
      hidden: 3584,
      layers: 28,
      heads: 28,
      kvHeads: 4,
      intermediate: 18944,
      vocab: 152064,
      tie: false,
      dtype: 'BF16',
      shards: 4,
    });
    const b = parseInitModelArgs(['--preset', 'qwen2.5-0.5b', '--layers', '2', '--dtype', 'F32', 'out']);
    expect(b.opts).toMatchObject({ hidden: 896, layers: 2, heads: 14, kvHeads: 2, tie: true, dtype: 'F32', shards: 1 });
    expect(Object.keys(MODEL_PRESETS)).toEqual(['qwen2.5-0.5b', 'qwen2.5-1.5b', 'qwen2.5-3b', 'qwen2.5-7b']);
    expect(() => parseInitModelArgs(['--preset', 'qwen2.5-70b', 'out'])).toThrow(/--preset must be one of/);
  });

  it('writes shards with an index whose weights equal randomWeights, streamed', async () => {
    const dir = join(tmp, 'sharded');
    const args = parseInitModelArgs([
      '--preset',
      'qwen2.5-7b',
      '--layers',
      '2',
      '--hidden',
      '64',
      '--heads',
      '4',
      '--kv-heads',
      '2',
      '--intermediate',
      '96',
      '--dtype',
      'F32',
      '--seed',
      '3',
      dir,
    ]);
    await initModel(args.opts, dir);
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    const files = new Set(Object.values(index.weight_map));
    expect(files).toEqual(new Set([1, 2, 3, 4].map((i) => `model-0000${i}-of-00004.safetensors`)));
    const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    expect(config.tieWordEmbeddings).toBe(false);
    const want = randomWeights(config, { seed: 3, std: 0.02 });
    const got = await loadWeights(dir);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, t] of want) {
      const expected = k.endsWith('.bias') ? new Float32Array(t.data.length) : t.data;
      sameBits(got.get(k)?.data, expected, k);
    }
  });
});

describe('a model from a stored directory', () => {
  const small = ['--layers', '2', '--hidden', '32', '--heads', '4', '--kv-heads', '2', '--intermediate', '48'];
  const ids = Int32Array.of(5, 900, 151643, 17, 42);

  it('keeps bf16 files bf16 (no fp32 copy) and computes what the same weights in memory compute', async () => {
    const dir = join(tmp, 'bf16');
    await initModel(parseInitModelArgs(['--preset', 'qwen2.5-0.5b', ...small, '--seed', '4', dir]).opts, dir);
    const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const lora = { r: 2, alpha: 4, dropout: 0, targets: ['all'] };
    const stored = createModel({ config, weights: openWeights(dir), backend: be, finetuning: 'lora', lora, seed: 1 });
    expect(stored.describe()).toMatchObject({ projections: 'bf16', embedding: 'bf16', lmHead: 'tied' });
    // The oracle: the widened weights in memory, held as bf16 by request, which is an exact round trip.
    const mem: Weights = await loadWeights(dir);
    const inMemory = createModel({
      config,
      weights: mem,
      backend: be,
      finetuning: 'lora',
      lora,
      seed: 1,
      frozenDtype: 'bf16',
      embeddingDtype: 'bf16',
    });
    sameBits(stored.logits(ids), inMemory.logits(ids), 'logits');
    sameBits(
      stored.fullState().get('model.layers.1.mlp.down_proj.weight')?.data,
      (await loadWeights(dir)).get('model.layers.1.mlp.down_proj.weight')?.data,
      'down_proj',
    );
  });

  it('keeps fp32 files fp32, converts them with bf16 requested, and widens for full fine-tuning', async () => {
    const dir = join(tmp, 'f32');
    await initModel(
      parseInitModelArgs(['--preset', 'qwen2.5-0.5b', ...small, '--dtype', 'F32', '--seed', '4', dir]).opts,
      dir,
    );
    const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const lora = { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] };
    const f32 = createModel({ config, weights: openWeights(dir), backend: be, finetuning: 'lora', lora, seed: 1 });
    expect(f32.describe()).toMatchObject({ projections: 'f32', embedding: 'f32' });
    const bf16 = createModel({
      config,
      weights: openWeights(dir),
      backend: be,
      finetuning: 'lora',
      lora,
      seed: 1,
      frozenDtype: 'bf16',
      embeddingDtype: 'bf16',
    });
    expect(bf16.describe()).toMatchObject({ projections: 'bf16', embedding: 'bf16' });
    const emb = (await loadWeights(dir)).get('model.embed_tokens.weight')?.data as Float32Array;
    sameBits(bf16.fullState().get('model.embed_tokens.weight')?.data, fromBf16(toBf16(emb)), 'embedding');
    const full = createModel({ config, weights: openWeights(dir), backend: be, finetuning: 'full', seed: 1 });
    expect(full.describe()).toMatchObject({ projections: 'trainable', embedding: 'trainable' });
    sameBits(full.logits(ids), f32.logits(ids), 'logits');
  });
});
