// The console's HTTP server: Next.js behind the front door (lib/server/frontdoor.ts), which every request passes
// first (client address, security headers and CSP, malformed URLs, one error shape for framework answers).
//
//   tsx server.ts [-p PORT] [-H HOST] [--dev]      (npm start runs it; PORT / HOSTNAME from the env also work)
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';
import { createFrontdoor, frontdoorConfig } from './lib/server/frontdoor';

const argv = process.argv.slice(2);
const flag = (short: string, long: string) => {
  const i = argv.findIndex((a) => a === short || a === long);
  return i >= 0 ? argv[i + 1] : undefined;
};
const dev = argv.includes('--dev');
const port = Number(flag('-p', '--port') ?? process.env.PORT ?? 3000);
const host = flag('-H', '--hostname') ?? process.env.HOSTNAME ?? '0.0.0.0';
// As `next start` / `next dev` do; the auth and storage settings refuse a missing secret in production.
(process.env as Record<string, string | undefined>).NODE_ENV ??= dev ? 'development' : 'production';

let config: ReturnType<typeof frontdoorConfig>;
try {
  config = frontdoorConfig(process.env, dev);
} catch (error) {
  // A wrong setting is a sentence, not a stack trace.
  console.error(`[console] ${(error as Error).message}`);
  process.exit(1);
}

const app = next({ dev, dir: path.dirname(fileURLToPath(import.meta.url)), hostname: host, port });
const handle = app.getRequestHandler();
await app.prepare();
const frontdoor = createFrontdoor(config);
const server = createServer((req, res) => {
  frontdoor(req, res, () => {
    handle(req, res).catch((error) => {
      console.error('[console] request failed', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
});
server.listen(port, host, () => console.log(`[console] ready on http://${host}:${port}${dev ? ' (dev)' : ''}`));

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
