import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportCommand, parseExportArgs } from '../src/cli/export';
import { mergeAdapter, peftAdapterConfig, readPeftAdapter, writePeftAdapter } from '../src/export';
import { initModel, loadWeights, readSafetensors, type Weights } from '../src/io';
import { createRng, peftKey } from '../src/model';
import { readGgufHeader } from './fixtures/gguf-reader';

const tmp = mkdtempSync(join(tmpdir(), 'crucible-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function lora(seed: number, mods: { name: string; out: number; inF: number }[], r: number): Weights {
  const rng = createRng(seed);
  const w: Weights = new Map();
  for (const m of mods) {
    w.set(peftKey(m.name, 'A'), {
      shape: [r, m.inF],
      data: Float32Array.from({ length: r * m.inF }, () => rng() - 0.5),
    });
    w.set(peftKey(m.name, 'B'), {
      shape: [m.out, r],
      data: Float32Array.from({ length: m.out * r }, () => rng() - 0.5),
    });
  }
  return w;
}

describe('PEFT adapter files', () => {
  it('writes adapter_config.json with the fields PEFT writes and reads it back', () => {
    const dir = join(tmp, 'adapter');
    const w = lora(1, [{ name: 'model.layers.0.self_attn.q_proj', out: 8, inF: 8 }], 2);
    writePeftAdapter(dir, w, { r: 2, alpha: 4, dropout: 0.05, targets: ['all'], baseModel: '/models/base' });
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 2,
      lora_alpha: 4,
      lora_dropout: 0.05,
      bias: 'none',
      base_model_name_or_path: '/models/base',
      fan_in_fan_out: false,
      inference_mode: true,
      use_rslora: false,
      use_dora: false,
      modules_to_save: null,
    });
    expect(cfg.target_modules).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const back = readPeftAdapter(dir);
    expect(back.config).toMatchObject({ r: 2, alpha: 4, dropout: 0.05, baseModel: '/models/base' });
    expect([...back.weights.keys()].sort()).toEqual([
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
    ]);
    expect(Array.from(back.state.get(peftKey('model.layers.0.self_attn.q_proj', 'B'))?.data ?? [])).toEqual(
      Array.from(w.get(peftKey('model.layers.0.self_attn.q_proj', 'B'))?.data ?? []),
    );
    expect(Object.keys(peftAdapterConfig({ r: 1, alpha: 1, dropout: 0, targets: ['q_proj'] }))).toEqual(
      Object.keys(cfg),
    );
  });

  it('rejects non-PEFT keys and non-LoRA adapters with typed errors', () => {
    expect(() =>
      writePeftAdapter(join(tmp, 'bad'), new Map([['q.weight', { shape: [1], data: new Float32Array(1) }]]), {
        r: 1,
        alpha: 1,
        dropout: 0,
        targets: [],
      }),
    ).toThrowError(/not a PEFT key/);
    expect(() => readPeftAdapter(join(tmp, 'nowhere'))).toThrowError(/adapter_config.json/);
  });
});

describe('merge', () => {
  it("W' = W + (alpha/r) B A, checked against a float64 triple loop", async () => {
    const base = join(tmp, 'base');
    await initModel({ arch: 'qwen2', layers: 1, hidden: 32, intermediate: 64, heads: 2, kvHeads: 1, seed: 2 }, base);
    const mods = [
      { name: 'model.layers.0.self_attn.q_proj', out: 32, inF: 32 },
      { name: 'model.layers.0.mlp.down_proj', out: 32, inF: 64 },
    ];
    const r = 4;
    const alpha = 12;
    const w = lora(7, mods, r);
    const adapterDir = join(tmp, 'merge-adapter');
    writePeftAdapter(adapterDir, w, { r, alpha, dropout: 0, targets: ['q_proj', 'down_proj'], baseModel: base });
    const out = join(tmp, 'merged');
    await mergeAdapter(base, adapterDir, out);
    const before = await loadWeights(base);
    const after = await readSafetensors(join(out, 'model.safetensors'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
      expect(existsSync(join(out, f))).toBe(true);
    for (const m of mods) {
      const W = before.get(`${m.name}.weight`)?.data as Float32Array;
      const A = w.get(peftKey(m.name, 'A'))?.data as Float32Array;
      const B = w.get(peftKey(m.name, 'B'))?.data as Float32Array;
      const M = after.get(`${m.name}.weight`)?.data as Float32Array;
      let maxErr = 0;
      for (let o = 0; o < m.out; o++) {
        for (let i = 0; i < m.inF; i++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += B[o * r + k] * A[k * m.inF + i];
          maxErr = Math.max(maxErr, Math.abs(W[o * m.inF + i] + (alpha / r) * s - M[o * m.inF + i]));
        }
      }
      // float32 accumulation of 4 products of magnitude <= 0.25 scaled by 3: error well under 1e-6
      expect(maxErr).toBeLessThan(1e-6);
    }
    // Untouched weights are bit-identical.
    expect(Array.from(after.get('model.layers.0.self_attn.k_proj.weight')?.data ?? [])).toEqual(
      Array.from(before.get('model.layers.0.self_attn.k_proj.weight')?.data ?? []),
    );
  });
});

describe('crucible export', () => {
  it('--merge --type BF16 writes a bfloat16 model directory', async () => {
    const out = join(tmp, 'merged-bf16');
    const args = [
      '--model',
      join(tmp, 'base'),
      '--adapter',
      join(tmp, 'merge-adapter'),
      '--merge',
      out,
      '--type',
      'BF16',
    ];
    expect(await exportCommand(args)).toBe(0);
    const w = await readSafetensors(join(out, 'model.safetensors'));
    expect(w.dtypes.get('model.layers.0.self_attn.q_proj.weight')).toBe('BF16');
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
  });

  it('parses its arguments', () => {
    expect(parseExportArgs(['--model', 'm', '--gguf', 'o.gguf', '--type', 'q8_0'])).toMatchObject({
      model: 'm',
      gguf: 'o.gguf',
      type: 'Q8_0',
    });
    expect(parseExportArgs(['--model', 'm', '--gguf', 'o.gguf']).type).toBe('F16');
    expect(() => parseExportArgs(['--model', 'm', '--merge', 'x'])).toThrowError(/--merge needs --adapter/);
    expect(() => parseExportArgs(['--model', 'm', '--gguf', 'a', '--merge', 'b', '--adapter', 'c'])).toThrowError(
      /exactly one/,
    );
    expect(() => parseExportArgs(['--gguf', 'a'])).toThrowError(/--model is required/);
    expect(parseExportArgs(['--model', 'm', '--adapter', 'a', '--merge', 'o']).type).toBe('F32');
    expect(() => parseExportArgs(['--model', 'm', '--adapter', 'a', '--merge', 'o', '--type', 'Q8_0'])).toThrowError(
      /--type must be one of F32, BF16, F16/,
    );
  });

  it('writes a LoRA GGUF with the adapter keys llama.cpp reads', async () => {
    const base = join(tmp, 'base');
    const out = join(tmp, 'a.gguf');
    expect(await exportCommand(['--model', base, '--adapter', join(tmp, 'merge-adapter'), '--gguf-lora', out])).toBe(0);
    const h = readGgufHeader(out);
    expect(h.version).toBe(3);
    expect(h.kv['general.architecture']).toBe('qwen2');
    expect(h.kv['general.type']).toBe('adapter');
    expect(h.kv['adapter.type']).toBe('lora');
    expect(h.kv['adapter.lora.alpha']).toBe(12);
    expect(h.tensors.map((t) => `${t.name}:${t.ne.join('x')}`).sort()).toEqual([
      'blk.0.attn_q.weight.lora_a:32x4',
      'blk.0.attn_q.weight.lora_b:4x32',
      'blk.0.ffn_down.weight.lora_a:64x4',
      'blk.0.ffn_down.weight.lora_b:4x32',
    ]);
  });

  it('writes a base GGUF with the Qwen2 hyper-parameters and tensor names', async () => {
    const out = join(tmp, 'b.gguf');
    expect(await exportCommand(['--model', join(tmp, 'base'), '--gguf', out, '--type', 'F32'])).toBe(0);
    const h = readGgufHeader(out);
    expect(h.kv).toMatchObject({
      'general.architecture': 'qwen2',
      'qwen2.block_count': 1,
      'qwen2.embedding_length': 32,
      'qwen2.feed_forward_length': 64,
      'qwen2.attention.head_count': 2,
      'qwen2.attention.head_count_kv': 1,
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.pre': 'qwen2',
      'tokenizer.ggml.eos_token_id': 151645,
    });
    expect((h.kv['tokenizer.ggml.tokens'] as string[]).length).toBe(151936);
    const names = h.tensors.map((t) => t.name);
    expect(names).toContain('token_embd.weight');
    expect(names).toContain('blk.0.attn_q.bias');
    expect(names).not.toContain('output.weight'); // tied: llama.cpp reuses token_embd
    expect(h.tensors.find((t) => t.name === 'token_embd.weight')?.ne).toEqual([32, 151936]);
  });

  it('--gguf with --adapter merges first; Q8_0 keeps 1-D tensors in F32', async () => {
    const out = join(tmp, 'c.gguf');
    const args = [
      '--model',
      join(tmp, 'base'),
      '--adapter',
      join(tmp, 'merge-adapter'),
      '--gguf',
      out,
      '--type',
      'Q8_0',
    ];
    expect(await exportCommand(args)).toBe(0);
    const h = readGgufHeader(out);
    expect(h.kv['general.file_type']).toBe(7);
    const type = (n: string) => h.tensors.find((t) => t.name === n)?.type;
    expect(type('blk.0.attn_q.weight')).toBe(8); // GGML_TYPE_Q8_0
    expect(type('blk.0.attn_q.bias')).toBe(0); // F32
    expect(type('blk.0.attn_norm.weight')).toBe(0);
  });
});
