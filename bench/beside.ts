/**
 * Serving beside training (issue 13, finding 3), not a test: 8 concurrent streamed chats through the console's
 * /v1/chat/completions and a real serving worker process, and a training run (`crucible train`, full fine-tuning, a
 * separate process nice'd exactly as the trainer worker nices its jobs: workers/trainer yieldCpu), each alone and
 * then both at once on the same cores. Prints aggregate chat tokens/s and training tokens/s, alone and together,
 * their ratios (target: chat keeps >= 50% of its idle tokens/s while the job trains) and the CPU model.
 *
 *   npx tsx bench/beside.ts [--chats 8] [--max-tokens 64] [--layers 4] [--hidden 256] [--threads 2] [--nice 10]
 *                           [--serving-threads N]
 *
 * --nice 0 runs the training at normal priority (the behaviour before the fix) for comparison.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { yieldCpu } from '../workers/trainer/src/training/child-process';
import { option, say, setUpServing } from './serving-setup';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => option(argv, name, dflt);
const chats = Number(opt('chats', '8'));
const maxTokens = Number(opt('max-tokens', '64'));
const threads = Number(opt('threads', '2'));
// llama.cpp threads of the serving worker (default: the worker's own default, SERVING_THREADS unset).
const servingThreads = Number(opt('serving-threads', '0'));
const nice = Number(opt('nice', '10'));
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

async function chatRound(client: Awaited<ReturnType<typeof setUpServing>>['client']): Promise<number> {
  const t0 = performance.now();
  const tokens = await Promise.all(
    Array.from({ length: chats }, async (_, i) => {
      const stream = await client.chat.completions.create({
        model: 'bench-model',
        messages: [{ role: 'user', content: `Tell me a story about lighthouse number ${i}.` }],
        max_tokens: maxTokens,
        temperature: 1,
        seed: i,
        stream: true,
        stream_options: { include_usage: true },
      });
      let n = 0;
      for await (const chunk of stream) if (chunk.usage) n = chunk.usage.completion_tokens;
      return n;
    }),
  );
  return tokens.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000);
}

/** Starts `crucible train` on the bench model; resolves the tokens/s it logs between `from` and `to` (seconds). */
function startTraining(modelDir: string, dir: string) {
  const out = path.join(dir, `train-${Date.now()}`);
  const cfg = path.join(dir, `train-${Date.now()}.yaml`);
  writeFileSync(
    cfg,
    Object.entries({
      stage: 'sft',
      do_train: true,
      model_name_or_path: modelDir,
      finetuning_type: 'full',
      dataset: 'identity',
      dataset_dir: path.join(repo, 'fixtures/llamafactory'),
      template: 'qwen',
      cutoff_len: 256,
      output_dir: out,
      overwrite_output_dir: true,
      per_device_train_batch_size: 4,
      learning_rate: 1e-3,
      num_train_epochs: 50,
      logging_steps: 1,
      save_steps: 100000,
    })
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join('\n'),
  );
  const child = spawn(process.execPath, [path.join(repo, 'packages/cli/bin/crucible.mjs'), 'train', cfg], {
    stdio: 'ignore',
    env: { ...process.env, CRUCIBLE_THREADS: String(threads) },
  });
  yieldCpu(child.pid, nice);
  const records = () => {
    try {
      return readFileSync(path.join(out, 'trainer_log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { elapsed_time?: number; total_tokens?: number; num_input_tokens_seen?: number });
    } catch {
      return [];
    }
  };
  /** Tokens/s over the log records written in [t0, t1] of wall time (ms since the epoch). */
  const rateBetween = (a: { t: number; tokens: number }, b: { t: number; tokens: number }) =>
    (b.tokens - a.tokens) / ((b.t - a.t) / 1000);
  const mark = () => {
    const r = records().at(-1);
    return { t: Date.now(), tokens: Number(r?.num_input_tokens_seen ?? r?.total_tokens ?? 0) };
  };
  return { child, records, mark, rateBetween };
}

async function main() {
  say(`CPU: ${cpus()[0]?.model} x${cpus().length}; chats ${chats} x ${maxTokens} tokens, training nice ${nice}`);
  const s = await setUpServing({
    frontDoor: opt('path', 'front-door') !== 'handler',
    layers: Number(opt('layers', '4')),
    hidden: Number(opt('hidden', '256')),
    gpu: 'cpu',
    threads: servingThreads,
  });
  try {
    await chatRound(s.client); // load + convert the model once
    const chatAlone = await chatRound(s.client);
    say(`chat alone: ${chatAlone.toFixed(1)} tokens/s`);

    const training = startTraining(s.modelDir, s.scratch);
    await s.waitFor('the training run logging', async () => training.records().length >= 3);
    const a0 = training.mark();
    await new Promise((r) => setTimeout(r, 15_000));
    const trainAlone = training.rateBetween(a0, training.mark());
    say(`training alone: ${trainAlone.toFixed(1)} tokens/s`);

    const b0 = training.mark();
    const chatTogether = await chatRound(s.client);
    const trainTogether = training.rateBetween(b0, training.mark());
    training.child.kill('SIGKILL');
    say(`together: chat ${chatTogether.toFixed(1)} tokens/s, training ${trainTogether.toFixed(1)} tokens/s`);
    console.log(
      JSON.stringify(
        {
          cpu: cpus()[0]?.model,
          cores: cpus().length,
          nice,
          servingThreads: servingThreads || 'default',
          chatAloneTokensPerS: Math.round(chatAlone * 10) / 10,
          chatTogetherTokensPerS: Math.round(chatTogether * 10) / 10,
          chatKeeps: Math.round((chatTogether / chatAlone) * 100) / 100,
          trainAloneTokensPerS: Math.round(trainAlone),
          trainTogetherTokensPerS: Math.round(trainTogether),
          trainKeeps: Math.round((trainTogether / trainAlone) * 100) / 100,
        },
        null,
        2,
      ),
    );
  } finally {
    await s.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
