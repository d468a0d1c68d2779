/**
 * What replicas buy (not a test): aggregate tokens/s and time to first text of C concurrent streamed chats through
 * the gateway to one deployment, served with 1 replica (requests wait for the one sequence) and with C replicas on
 * the same worker (C sequences of one context, which llama.cpp decodes in one batch), same model, same run.
 *
 *   npx tsx bench/replicas.ts [--concurrency 4] [--max-tokens 64] [--rounds 3] [--layers 4] [--hidden 256] [--threads 2]
 *
 * Needs Postgres and Redis (DATABASE_URL / REDIS_URL as everywhere); creates and drops its own database.
 */
import { performance } from 'node:perf_hooks';
import { median, option, say, setUpServing } from './serving-setup';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => option(argv, name, dflt);
const concurrency = Number(opt('concurrency', '4'));
const maxTokens = Number(opt('max-tokens', '64'));
const rounds = Number(opt('rounds', '3'));
const threads = Number(opt('threads', '2'));
const layers = Number(opt('layers', '4'));
const hidden = Number(opt('hidden', '256'));

async function main() {
  const s = await setUpServing({
    frontDoor: opt('path', 'front-door') !== 'handler',
    layers,
    hidden,
    gpu: 'cpu',
    threads,
    workerEnv: { SERVING_HEALTH_EVERY_MS: '600000' }, // no health checks inside the measurement
  });
  const { prisma, jobs, client, waitFor } = s;

  async function oneChat(i: number) {
    const t0 = performance.now();
    let first = 0;
    let tokens = 0;
    const stream = await client.chat.completions.create({
      model: 'bench-model',
      messages: [{ role: 'user', content: `Tell story number ${i} about a lighthouse in a storm.` }],
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content) first ||= performance.now();
      if (c.usage) tokens = c.usage.completion_tokens;
    }
    return { ttftMs: first - t0, tokens };
  }

  async function measure(replicas: number) {
    const dep = await prisma.deployment.create({
      data: { workspaceId: s.workspace.id, name: `r${replicas}`, baseModelId: s.base.id, replicas, contextSize: 512 },
    });
    await jobs.enqueue(jobs.deploymentActionJob, { deploymentId: dep.id, action: 'start' });
    await waitFor(
      'the deployment running',
      async () =>
        (await prisma.deploymentReplica.count({ where: { deploymentId: dep.id, status: 'ready' } })) === replicas,
    );
    await Promise.all(Array.from({ length: concurrency }, (_, i) => oneChat(i))); // warm-up
    const perRound: { tps: number; ttft: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: concurrency }, (_, i) => oneChat(i)));
      const wall = performance.now() - t0;
      const tokens = results.reduce((n, x) => n + x.tokens, 0);
      perRound.push({ tps: (tokens / wall) * 1000, ttft: median(results.map((x) => x.ttftMs)) });
    }
    await jobs.enqueue(jobs.deploymentActionJob, { deploymentId: dep.id, action: 'stop' });
    await waitFor(
      'the deployment stopped',
      async () => (await prisma.deployment.findUniqueOrThrow({ where: { id: dep.id } })).status === 'stopped',
    );
    return {
      replicas,
      concurrency,
      aggregateTokensPerSecMedian: Math.round(median(perRound.map((x) => x.tps)) * 10) / 10,
      ttftMsMedian: Math.round(median(perRound.map((x) => x.ttft))),
    };
  }

  say('measuring 1 replica, then as many replicas as concurrent requests');
  const one = await measure(1);
  const many = await measure(concurrency);
  console.table([one, many]);
  console.log(
    JSON.stringify(
      {
        model: { layers, hidden },
        maxTokens,
        threads,
        throughputRatio: Math.round((many.aggregateTokensPerSecMedian / one.aggregateTokensPerSecMedian) * 100) / 100,
        rows: [one, many],
      },
      null,
      2,
    ),
  );
  await s.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
