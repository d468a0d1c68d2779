import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { THandler } from '../../lib/server/http';

/** A tiny Qwen2 model whose weights are large enough that greedy decoding does not collapse to one token. */
export async function tinyBase(dir: string): Promise<void> {
  const { initModel, loadWeights, writeSafetensors } = await import('@crucible/trainer');
  await initModel({ arch: 'qwen2', layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, seed: 5 }, dir);
  const w = await loadWeights(dir);
  const rng = lcg(11);
  for (const [k, t] of w) {
    if (k.endsWith('norm.weight')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.5 + rng();
    else if (k.endsWith('.bias')) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.2 * (rng() - 0.5);
    else for (let i = 0; i < t.data.length; i++) t.data[i] *= 12.5;
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), w);
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A hand-made PEFT LoRA adapter (non-zero A and B on q/v/up/down), converted to a GGUF adapter. */
export async function tinyAdapter(baseDir: string, dir: string, seed: number): Promise<string> {
  const { writeGgufLora, writePeftAdapter } = await import('@crucible/trainer');
  const cfg = JSON.parse(readFileSync(path.join(baseDir, 'config.json'), 'utf8')) as {
    hidden_size: number;
    intermediate_size: number;
    num_attention_heads: number;
    num_key_value_heads: number;
    num_hidden_layers: number;
  };
  const head = cfg.hidden_size / cfg.num_attention_heads;
  const shapes: Record<string, [number, number, string]> = {
    q_proj: [cfg.num_attention_heads * head, cfg.hidden_size, 'self_attn'],
    v_proj: [cfg.num_key_value_heads * head, cfg.hidden_size, 'self_attn'],
    up_proj: [cfg.intermediate_size, cfg.hidden_size, 'mlp'],
    down_proj: [cfg.hidden_size, cfg.intermediate_size, 'mlp'],
  };
  const rng = lcg(seed);
  const r = 4;
  const lora = new Map<string, { shape: number[]; data: Float32Array }>();
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    for (const [t, [out, inF, block]] of Object.entries(shapes)) {
      const mod = `base_model.model.model.layers.${l}.${block}.${t}`;
      lora.set(`${mod}.lora_A.weight`, {
        shape: [r, inF],
        data: Float32Array.from({ length: r * inF }, () => (rng() - 0.5) * 0.8),
      });
      lora.set(`${mod}.lora_B.weight`, {
        shape: [out, r],
        data: Float32Array.from({ length: out * r }, () => (rng() - 0.5) * 0.8),
      });
    }
  }
  writePeftAdapter(
    dir,
    lora as never,
    { r, alpha: 8, dropout: 0, targets: Object.keys(shapes), baseModel: baseDir } as never,
  );
  const out = path.join(dir, 'adapter.gguf');
  await writeGgufLora(dir, baseDir, out);
  return out;
}

const MAIN = fileURLToPath(new URL('../../../../workers/serving/src/main.ts', import.meta.url));

/** The serving worker as `npm start` runs it: a real process. */
export function spawnServingWorker(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<unknown>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: path.dirname(MAIN),
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return { child, output: () => out, exited };
}

/** Serves handlers on node:http like Next would: a standard Request in, the Response streamed out. */
export function nodeHandler(routes: Record<string, Partial<Record<string, THandler>>>) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const handler = routes[url.pathname]?.[req.method ?? ''];
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(url, {
      method: req.method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as ReadableStream) : undefined,
      duplex: 'half',
    } as RequestInit);
    const response = await handler(request, {});
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) {
      res.end();
      return;
    }
    const reader = response.body.getReader();
    res.on('close', () => void reader.cancel().catch(() => {}));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      res.write(value);
    }
    res.end();
  };
}
