/**
 * The gateway's overhead (not a test): time to first text and tokens/s of a chat completion streamed through the
 * console as `npm start` runs it (server.ts's front door, Next.js, /v1/chat/completions: API key check, the per-key
 * rate limiter at its default, model resolution, Redis routing, HTTP to a real serving worker process, SSE,
 * RequestLog + usage ledger) against node-llama-cpp called directly in this process on the same GGUF (the one the
 * worker converted), same prompt, greedy, same run, alternating. `--path handler` measures the route handler alone on
 * a plain HTTP server instead (no Next.js, no front door, rate limiter off), to see what those add.
 *
 *   npx tsx bench/gateway.ts [--runs 5] [--max-tokens 64] [--layers 4] [--hidden 256] [--model-dir DIR] [--gpu auto|cpu]
 *                            [--threads 2] [--path front-door|handler]
 *
 * The first run builds the console's production bundle (apps/console/.next-e2e, as the browser tests do) when its
 * sources changed: a few minutes.
 *
 * Needs Postgres and Redis (DATABASE_URL / REDIS_URL as everywhere); creates and drops its own database.
 */
import { readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, option, say, setUpServing } from './serving-setup';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => option(argv, name, dflt);
const runs = Number(opt('runs', '5'));
const maxTokens = Number(opt('max-tokens', '64'));
const gpu = opt('gpu', 'cpu') as 'auto' | 'cpu';
// llama.cpp threads for both paths (its default, every core the OS reports, thrashes a shared machine).
const threads = Number(opt('threads', '2'));

const MESSAGES = [
  { role: 'system' as const, content: 'You are a helpful assistant.' },
  { role: 'user' as const, content: 'Write a short story about a lighthouse keeper and a storm.' },
];

type TSample = { ttftMs: number; tokens: number; totalMs: number; decodeTps: number };

function summary(name: string, s: TSample[]) {
  const med = median;
  return {
    path: name,
    runs: s.length,
    tokens: med(s.map((x) => x.tokens)),
    ttftMsMedian: Math.round(med(s.map((x) => x.ttftMs)) * 10) / 10,
    totalMsMedian: Math.round(med(s.map((x) => x.totalMs))),
    decodeTokensPerSecMedian: Math.round(med(s.map((x) => x.decodeTps)) * 10) / 10,
    endToEndTokensPerSecMedian: Math.round(med(s.map((x) => (x.tokens / x.totalMs) * 1000)) * 10) / 10,
  };
}

function findGguf(dir: string): string {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      const f = findGguf(p);
      if (f) return f;
    } else if (name.endsWith('.gguf')) return p;
  }
  return '';
}

async function main() {
  const s = await setUpServing({
    frontDoor: opt('path', 'front-door') !== 'handler',
    layers: Number(opt('layers', '4')),
    hidden: Number(opt('hidden', '256')),
    modelDir: opt('model-dir', '') || undefined,
    gpu,
    threads,
  });
  const { client, modelDir } = s;

  async function viaGateway(): Promise<TSample> {
    const t0 = performance.now();
    let first = 0;
    let last = 0;
    let tokens = 0;
    const stream = await client.chat.completions.create({
      model: 'bench-model',
      messages: MESSAGES,
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content) {
        first ||= performance.now();
        last = performance.now();
      }
      if (c.usage) tokens = c.usage.completion_tokens;
    }
    const end = performance.now();
    return {
      ttftMs: first - t0,
      tokens,
      totalMs: end - t0,
      decodeTps: tokens > 1 ? ((tokens - 1) / (last - first)) * 1000 : 0,
    };
  }

  say('warm-up through the gateway (the worker converts and loads the model)');
  // Warm-up through the gateway: converts and loads the model in the worker; the GGUF it wrote is what we load here.
  await viaGateway();
  const gguf = findGguf(path.join(s.scratch, 'cache'));
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  // The serving worker's own choice of chat wrapper (the model's Jinja template), so both paths send the same prompt.
  const { wrapperOf } = await import('../workers/serving/src/generation');
  const llama = await getLlama({
    gpu: gpu === 'cpu' ? false : 'auto',
    logLevel: LlamaLogLevel.error,
    maxThreads: threads,
  });
  const model = await llama.loadModel({ modelPath: gguf });
  const context = await model.createContext({ contextSize: 1024, sequences: 1 });
  const sequence = context.getSequence();
  const wrapper = wrapperOf(model);
  if (!wrapper) throw new Error('the bench model has no chat template');

  async function direct(): Promise<TSample> {
    const t0 = performance.now();
    const history = [
      { type: 'system' as const, text: MESSAGES[0].content },
      { type: 'user' as const, text: MESSAGES[1].content },
      { type: 'model' as const, response: [] },
    ];
    const tokensIn = wrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer);
    if (process.env.BENCH_DEBUG) say(`direct: ${tokensIn.length} prompt tokens`);
    await sequence.clearHistory();
    if (process.env.BENCH_DEBUG) say('cleared');
    let first = 0;
    let last = 0;
    let tokens = 0;
    const out: typeof tokensIn = [];
    for await (const t of sequence.evaluate(tokensIn, { temperature: 0 })) {
      if (model.isEogToken(t)) break;
      out.push(t);
      tokens += 1;
      // The first *text*, as a client sees it (what the gateway path measures): a random model often starts with
      // tokens that are half a UTF-8 character or nothing visible, which neither path can show yet.
      if (!first && model.detokenize(out).replace(/\uFFFD+$/, '').length > 0) first = performance.now();
      if (first) last = performance.now();
      if (tokens >= maxTokens) break;
    }
    first ||= performance.now();
    const end = performance.now();
    return {
      ttftMs: first - t0,
      tokens,
      totalMs: end - t0,
      decodeTps: tokens > 1 ? ((tokens - 1) / (last - first)) * 1000 : 0,
    };
  }

  say(`loaded ${gguf} here; measuring`);
  await direct(); // warm-up
  const g: TSample[] = [];
  const d: TSample[] = [];
  for (let i = 0; i < runs; i++) {
    g.push(await viaGateway());
    d.push(await direct());
  }
  const gatewayPath = s.frontDoor ? 'gateway (server.ts + Next.js + worker)' : 'gateway handler (+ worker)';
  const rows = [summary(gatewayPath, g), summary('node-llama-cpp direct', d)];
  console.table(rows);
  const overheadMs = rows[0].ttftMsMedian - rows[1].ttftMsMedian;
  console.log(
    JSON.stringify(
      {
        cpu: `${cpus()[0]?.model} x${cpus().length}`,
        loadAverage1m: Math.round(loadavg()[0] * 100) / 100,
        path: s.frontDoor ? 'front-door' : 'handler',
        gguf: path.basename(gguf),
        modelDir,
        maxTokens,
        gpu,
        threads,
        ttftOverheadMs: Math.round(overheadMs * 10) / 10,
        endToEndRatio:
          Math.round((rows[0].endToEndTokensPerSecMedian / rows[1].endToEndTokensPerSecMedian) * 100) / 100,
        decodeRatio: Math.round((rows[0].decodeTokensPerSecMedian / rows[1].decodeTokensPerSecMedian) * 100) / 100,
        rows,
      },
      null,
      2,
    ),
  );

  await context.dispose();
  await model.dispose();
  await llama.dispose();
  await s.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
