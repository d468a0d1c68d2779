// A second console replica for test/api/datasets-imports.test.ts: a process of its own — its own modules and
// globals, sharing only Postgres, Redis and storage with the test process, as two console containers do. It answers
// route calls read as JSON lines on stdin (`{id, method, path, params, key}`) with `@@ {id, status, body}` lines.
import { createInterface } from 'node:readline';
import { ROUTES } from '../../lib/server/route-table';

type TCall = { id: number; method: string; path: string; params: Record<string, string>; key: string };

const answer = (value: unknown) => process.stdout.write(`@@ ${JSON.stringify(value)}\n`);

answer({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const c = JSON.parse(line) as TCall;
  try {
    const def = ROUTES.find((r) => r.method === c.method && r.path === c.path);
    if (!def) throw new Error(`no route ${c.method} ${c.path}`);
    const url = `http://localhost:3000${c.path.replace(/\[([^\]]+)\]/g, (_, n: string) => encodeURIComponent(c.params[n]))}`;
    const res = await def.handler(
      new Request(url, {
        method: c.method,
        headers: { authorization: `Bearer ${c.key}`, origin: 'http://localhost:3000' },
      }),
      c.params,
    );
    answer({ id: c.id, status: res.status, body: await res.json() });
  } catch (error) {
    answer({ id: c.id, status: 0, body: { error: String(error) } });
  }
}
