import { createRedisConnection, jobChannel, loadJobsEnv, type TJobChannelMessage } from '@crucible/jobs';
import { findJob } from '@crucible/services';
import { requireWorkspace } from '../context';
import { json, route } from '../http';
import { jobEvents, jobMetrics, withCost } from './fine-tuning';

/**
 * GET /fine-tuning/jobs/[jobId]/stream: Server-Sent Events for the job page. It subscribes to the job's Redis
 * channel first, then sends the history (every metric, the events, the job object), then what arrives, so
 * nothing falls between history and live updates (a metric may come twice: the page keys rows by step). A
 * refresh gets the same history and keeps streaming. The stream ends after the job reaches an end state.
 *
 * A request that does not accept text/event-stream (EventSource always sends it) gets the same history as one
 * JSON document instead: scripts and the tenant-isolation suite can read it without holding a connection open.
 */

const END = ['succeeded', 'failed', 'cancelled'];
const KEEPALIVE_MS = 15_000;

export const streamJob = route(async (req, { slug, jobId }) => {
  const { workspace } = await requireWorkspace(req, slug, 'viewer');
  const first = await findJob(workspace.id, jobId);
  const wantsStream = (req.headers.get('accept') ?? '').includes('text/event-stream');
  if (!wantsStream) {
    return json({
      job: (await withCost(workspace.id, [first]))[0],
      metrics: await jobMetrics(workspace.id, jobId),
      events: await jobEvents(workspace.id, jobId),
    });
  }

  const encoder = new TextEncoder();
  const sub = createRedisConnection(undefined, { lazyConnect: true });
  let closed = false;
  let keepalive: NodeJS.Timeout | undefined;
  const close = () => {
    if (closed) return;
    closed = true;
    if (keepalive) clearInterval(keepalive);
    sub.quit().catch(() => sub.disconnect());
  };

  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (event: string, data: unknown) => {
        if (closed) return;
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      };
      const end = () => {
        if (closed) return;
        close();
        controller.close();
      };
      const sendStatus = async () => {
        const job = (await withCost(workspace.id, [await findJob(workspace.id, jobId)]))[0];
        send('status', job);
        if (END.includes(job.status)) end();
      };
      req.signal.addEventListener('abort', end);
      try {
        await sub.connect();
        await sub.subscribe(jobChannel(loadJobsEnv().REDIS_PREFIX, jobId));
      } catch {
        send('error', { message: 'Live updates are unavailable (Redis); refresh to see new progress.' });
      }
      // Live messages are queued until the history is out, so the order on the wire is history, then live.
      const pending: TJobChannelMessage[] = [];
      let live = false;
      const deliver = (m: TJobChannelMessage) => {
        if (m.type === 'metric') send('metric', m.data);
        else if (m.type === 'event') send('event', m.data);
        else if (m.type === 'status') void sendStatus().catch(() => end());
      };
      sub.on('message', (_channel, raw: string) => {
        let m: TJobChannelMessage;
        try {
          m = JSON.parse(raw);
        } catch {
          return;
        }
        if (live) deliver(m);
        else pending.push(m);
      });
      for (const m of await jobMetrics(workspace.id, jobId)) send('metric', m);
      for (const e of await jobEvents(workspace.id, jobId)) send('event', e);
      live = true;
      for (const m of pending.splice(0)) deliver(m);
      await sendStatus();
      keepalive = setInterval(() => {
        if (!closed) controller.enqueue(encoder.encode(': keepalive\n\n'));
      }, KEEPALIVE_MS);
    },
    cancel() {
      close();
    },
  });
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
  });
});
