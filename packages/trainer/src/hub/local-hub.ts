import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, relative } from 'node:path';

/**
 * A local HTTP server laid out like Hugging Face and ModelScope, for the platform's tests (the console's "Add base
 * model", the housekeeping worker's `model.download`): the hub's model-info and file-listing APIs and its resolve
 * URLs with the headers their client libraries read (X-Error-Code, X-Linked-Size, X-Linked-Etag, Content-Range), and
 * a second origin standing in for the CDN that serves `.safetensors` after a redirect. Repos are folders under
 * `root` (`root/<owner>/<name>/...`), read on every request, so a test in another process can publish one by
 * writing files. packages/trainer/test/hub.test.ts drives the downloader against its own, finer-grained double.
 */

export type TLocalHubRequest = { host: 'hub' | 'cdn'; url: string; auth?: string; range?: string };

export type TLocalHub = {
  url: string;
  root: string;
  /** Every request, in order (tests read which files were fetched, with which Range and Authorization). */
  log: TLocalHubRequest[];
  /** Per-test switches, read on each request. */
  faults: {
    /** Repos (`owner/name`) that need `Authorization: Bearer <token>`: gated on Hugging Face, private on ModelScope. */
    tokens: Map<string, string>;
    /** Serve LFS files with their last bytes changed (a sha256 mismatch). */
    corrupt: boolean;
    /** Bytes per second of every file body (0: as fast as possible), to watch a progress bar move. */
    bytesPerSecond: number;
  };
  close(): Promise<void>;
};

const COMMIT = 'c0ffee00000000000000000000000000000000aa';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const isLfs = (path: string) => path.endsWith('.safetensors');

function listRepo(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out;
}

const listen = (s: Server) =>
  new Promise<string>((r) =>
    s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as { port: number }).port}`)),
  );

export async function startLocalHub(root: string, options: { bytesPerSecond?: number } = {}): Promise<TLocalHub> {
  const log: TLocalHubRequest[] = [];
  const faults = { tokens: new Map<string, string>(), corrupt: false, bytesPerSecond: options.bytesPerSecond ?? 0 };
  let cdnUrl = '';
  const repoDir = (id: string) => {
    const dir = join(root, ...id.split('/'));
    return id.split('/').length === 2 && !id.includes('..') && existsSync(dir) ? dir : null;
  };
  const allowed = (req: IncomingMessage, id: string) => {
    const token = faults.tokens.get(id);
    return !token || req.headers.authorization === `Bearer ${token}`;
  };

  /** Sends a body honouring `Range: bytes=N-`, slowed to faults.bytesPerSecond. */
  function send(req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string> = {}) {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (range && start >= body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      return;
    }
    const slice = body.subarray(start);
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'Content-Length': String(slice.length),
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const rate = faults.bytesPerSecond;
    if (!rate) {
      res.end(slice);
      return;
    }
    // 10 writes a second of rate / 10 bytes each.
    const step = Math.max(1, Math.floor(rate / 10));
    let at = 0;
    const tick = () => {
      if (res.destroyed) return;
      const next = Math.min(slice.length, at + step);
      const chunk = slice.subarray(at, next);
      at = next;
      if (at >= slice.length) res.end(chunk);
      else res.write(chunk, () => setTimeout(tick, 100));
    };
    tick();
  }

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));

  const hub = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    log.push({ host: 'hub', url: req.url ?? '', auth: req.headers.authorization, range: req.headers.range });

    // Hugging Face: GET /api/models/{owner}/{name}/revision/{rev}?blobs=true
    const info = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (info) {
      const dir = repoDir(info[1]);
      if (!dir) return json(res, 401, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
      if (!allowed(req, info[1])) {
        return json(res, 401, { error: 'Access to model is restricted.' }, { 'X-Error-Code': 'GatedRepo' });
      }
      const rev = decodeURIComponent(info[2]);
      if (rev !== 'main' && rev !== COMMIT) {
        return json(res, 404, { error: 'Invalid rev id' }, { 'X-Error-Code': 'RevisionNotFound' });
      }
      const siblings = listRepo(dir).map((rfilename) => {
        const b = readFileSync(join(dir, rfilename));
        return {
          rfilename,
          size: b.length,
          ...(isLfs(rfilename) ? { lfs: { sha256: sha256(b), size: b.length } } : {}),
        };
      });
      return json(res, 200, { id: info[1], sha: COMMIT, siblings });
    }
    // Hugging Face: GET /{owner}/{name}/resolve/{rev}/{path}
    const resolveUrl = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolveUrl) {
      const dir = repoDir(resolveUrl[1]);
      if (!dir) return json(res, 401, {}, { 'X-Error-Code': 'RepoNotFound' });
      if (!allowed(req, resolveUrl[1])) return json(res, 401, {}, { 'X-Error-Code': 'GatedRepo' });
      const path = decodeURIComponent(resolveUrl[3]);
      if (path.split('/').includes('..') || !existsSync(join(dir, path))) {
        return json(res, 404, {}, { 'X-Error-Code': 'EntryNotFound' });
      }
      const body = readFileSync(join(dir, path));
      if (isLfs(path)) {
        res
          .writeHead(302, {
            Location: `${cdnUrl}/${resolveUrl[1]}/${encodeURIComponent(path)}?X-Amz-Signature=local`,
            'X-Linked-Size': String(body.length),
            'X-Linked-Etag': `"${sha256(body)}"`,
            'X-Repo-Commit': COMMIT,
          })
          .end();
        return;
      }
      return send(req, res, body, { 'X-Repo-Commit': COMMIT });
    }
    // ModelScope: GET /api/v1/models/{owner}/{name}/repo/files?Revision=R and /repo?Revision=R&FilePath=P
    const ms = /^\/api\/v1\/models\/([^/]+\/[^/]+)\/repo(\/files)?$/.exec(url.pathname);
    if (ms) {
      const dir = repoDir(ms[1]);
      if (!dir) return json(res, 404, { Code: 10010205001, Message: 'model not found', Success: false });
      if (!allowed(req, ms[1])) return json(res, 401, { Code: 401, Message: 'unauthorized', Success: false });
      if (ms[2]) {
        const Files = listRepo(dir).map((Path) => {
          const b = readFileSync(join(dir, Path));
          return { Path, Name: Path, Type: 'blob', Size: b.length, Sha256: sha256(b), Revision: COMMIT };
        });
        return json(res, 200, { Code: 200, Data: { Files }, Success: true });
      }
      const path = url.searchParams.get('FilePath') ?? '';
      if (path.split('/').includes('..') || !existsSync(join(dir, path))) {
        return json(res, 404, { Code: 404, Message: 'file not found' });
      }
      if (isLfs(path)) {
        res.writeHead(302, { Location: `${cdnUrl}/${ms[1]}/${encodeURIComponent(path)}` }).end();
        return;
      }
      return send(req, res, readFileSync(join(dir, path)));
    }
    json(res, 404, { error: 'not found' });
  });

  const cdn = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://cdn');
    log.push({ host: 'cdn', url: req.url ?? '', auth: req.headers.authorization, range: req.headers.range });
    const m = /^\/([^/]+\/[^/]+)\/([^/]+)$/.exec(url.pathname);
    const dir = m ? repoDir(m[1]) : null;
    const path = m ? decodeURIComponent(m[2]) : '';
    if (!dir || path.split('/').includes('..') || !existsSync(join(dir, path))) return res.writeHead(404).end();
    let body = readFileSync(join(dir, path));
    if (faults.corrupt) body = Buffer.concat([body.subarray(0, body.length - 4), Buffer.from([1, 2, 3, 4])]);
    send(req, res, body);
  });

  const url = await listen(hub);
  cdnUrl = await listen(cdn);
  return {
    url,
    root,
    log,
    faults,
    close: async () => {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([hub, cdn].map((s) => new Promise((r) => s.close(r))));
    },
  };
}
