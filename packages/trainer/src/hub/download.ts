import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statfsSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { HubError } from './errors';
import {
  backoffMs,
  DEFAULT_RETRY,
  getFollowing,
  isNetworkError,
  isTransientStatus,
  networkReason,
  sleep,
  type TRetryOptions,
} from './http';
import { matchesAny } from './patterns';
import {
  checkRepoId,
  defaultEndpoint,
  defaultToken,
  hfError,
  huggingFaceHub,
  modelScopeHub,
  type THub,
  type THubSource,
  type TRemoteFile,
} from './sources';

/**
 * What a base model needs and nothing more: weights as safetensors (never the .bin/.pth/.onnx/.gguf copies many repos
 * also carry), the config and the tokenizer. Top-level files only: subfolders hold other formats (original/, onnx/).
 */
export const DEFAULT_ALLOW_PATTERNS = Object.freeze([
  'config.json',
  'generation_config.json',
  '*.safetensors',
  'model.safetensors.index.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
]);

// No leading dot: storage keys refuse dot segments, and `crucible models import` uploads the folder as it is.
export const MANIFEST_FILE = 'crucible-download.json';

export type TDownloadProgress = {
  file: string;
  fileIndex: number;
  fileCount: number;
  /** Bytes of this file on disk so far, and its size when known. */
  fileBytes: number;
  fileSize?: number;
  /** All selected files together. */
  doneBytes: number;
  totalBytes: number;
  phase: 'start' | 'progress' | 'done' | 'skipped';
};

export type TDownloadOptions = {
  repo: string;
  source: THubSource;
  revision?: string;
  endpoint?: string;
  token?: string;
  outDir: string;
  /** fnmatch-style globs on the repo path, as huggingface_hub's allow_patterns (`*` also crosses `/`). */
  allowPatterns?: string[];
  onProgress?: (p: TDownloadProgress) => void;
  signal?: AbortSignal;
  retry?: Partial<TRetryOptions>;
};

export type TDownloadManifest = {
  repo: string;
  source: THubSource;
  endpoint: string;
  revision: string;
  commit: string | null;
  downloadedAt: string;
  files: { path: string; size: number; sha256?: string }[];
};

export type TDownloadResult = TDownloadManifest & { dir: string; downloadedBytes: number };

function hashFile(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}

/** Refuses a path that would escape the output folder (a hostile listing could name `../../.bashrc`). */
function localPath(outDir: string, repoPath: string): string {
  const p = resolve(outDir, repoPath);
  if (!p.startsWith(outDir + sep) || repoPath.includes('\\')) {
    throw new HubError('HUB_ERROR', `the hub listed a file outside the repo: "${repoPath}".`);
  }
  return p;
}

function diskFull(path: string, error: unknown): never {
  throw new HubError(
    'DISK_FULL',
    `no space left on the device while writing ${path} (${(error as Error).message}); free some space and run the download again: it resumes from the partial file.`,
  );
}

function readManifest(outDir: string): TDownloadManifest | null {
  try {
    return JSON.parse(readFileSync(join(outDir, MANIFEST_FILE), 'utf8')) as TDownloadManifest;
  } catch {
    return null;
  }
}

/**
 * Downloads one file to `<path>.part` and renames it into place once its size (and sha256, where the hub gives it)
 * checks out. An existing .part is resumed with a Range request; a server that ignores Range (200 instead of 206)
 * restarts it from zero. Network errors and transient statuses are retried with backoff, each retry resuming.
 */
async function downloadFile(
  hub: THub,
  url: string,
  file: TRemoteFile,
  dest: string,
  retry: TRetryOptions,
  onBytes: (fileBytes: number, fileSize?: number) => void,
  signal?: AbortSignal,
  repo = '',
): Promise<{ size: number; sha256?: string }> {
  const part = `${dest}.part`;
  mkdirSync(dirname(dest), { recursive: true });
  let expected = file.size;
  let sha = file.sha256;
  for (let attempt = 0; ; attempt++) {
    let have = existsSync(part) ? statSync(part).size : 0;
    if (expected !== undefined && have > expected) {
      unlinkSync(part);
      have = 0;
    }
    try {
      const headers: Record<string, string> = { ...hub.headers, 'Accept-Encoding': 'identity' };
      if (have > 0 && (expected === undefined || have < expected)) headers.Range = `bytes=${have}-`;
      const complete = expected !== undefined && have === expected;
      if (!complete) {
        const { response, hops } = await getFollowing(url, headers, signal);
        const first = hops[0].headers;
        // The hub's own hop names the real size and, for LFS files, the sha256 (ETag) even when the CDN does not.
        const linkedSize = Number(first.get('x-linked-size') ?? Number.NaN);
        if (expected === undefined && Number.isFinite(linkedSize)) expected = linkedSize;
        const linkedEtag = (first.get('x-linked-etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
        if (!sha && /^[0-9a-f]{64}$/.test(linkedEtag)) sha = linkedEtag;
        if (response.status === 416 && have > 0) {
          // Range past the end: the .part is already whole (size unknown before) or stale; let verification decide.
          await response.body?.cancel();
          if (expected === undefined) expected = have;
        } else if (!response.ok) {
          if (isTransientStatus(response.status) && attempt + 1 < retry.attempts) {
            await response.body?.cancel();
            await sleep(backoffMs(attempt, retry, response.headers.get('retry-after')), signal);
            continue;
          }
          if (hub.source === 'huggingface') await hfError(response, repo, hub.endpoint, !!hub.headers.Authorization);
          await response.body?.cancel();
          if (response.status === 404)
            throw new HubError('FILE_NOT_FOUND', `${file.path} is missing from ${repo}.`, 404);
          if (response.status === 401 || response.status === 403) {
            throw new HubError(
              'AUTH_REQUIRED',
              `${hub.endpoint} refused ${file.path} (${response.status}); set ${hub.tokenVar}.`,
              response.status,
            );
          }
          throw new HubError(
            'HUB_ERROR',
            `${hub.endpoint} answered ${response.status} for ${file.path}.`,
            response.status,
          );
        } else {
          const resumed = response.status === 206;
          if (expected === undefined) {
            const range = response.headers.get('content-range');
            const len = response.headers.get('content-length');
            if (range?.includes('/') && !range.endsWith('/*')) expected = Number(range.split('/')[1]);
            else if (!resumed && len !== null) expected = Number(len);
          }
          const fh = await open(part, resumed ? 'a' : 'w').catch((e) => {
            if ((e as NodeJS.ErrnoException).code === 'ENOSPC') diskFull(part, e);
            throw e;
          });
          let written = resumed ? have : 0;
          try {
            for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
              try {
                await fh.write(chunk);
              } catch (e) {
                if ((e as NodeJS.ErrnoException).code === 'ENOSPC') diskFull(part, e);
                throw e;
              }
              written += chunk.length;
              onBytes(written, expected);
            }
          } finally {
            await fh.close();
          }
        }
      }
      const size = statSync(part).size;
      if (expected !== undefined && size !== expected) {
        if (size < expected && attempt + 1 < retry.attempts) {
          // The connection ended early without an error: resume.
          await sleep(backoffMs(attempt, retry), signal);
          continue;
        }
        unlinkSync(part);
        throw new HubError(
          'SIZE_MISMATCH',
          `${file.path}: expected ${expected} bytes, got ${size}; run the download again.`,
        );
      }
      if (sha) {
        const got = await hashFile(part);
        if (got !== sha) {
          // A corrupt file is never kept: the next run downloads it from zero.
          unlinkSync(part);
          throw new HubError(
            'CHECKSUM_MISMATCH',
            `${file.path}: sha256 ${got} does not match the hub's ${sha}; the file was discarded.`,
          );
        }
      }
      renameSync(part, dest);
      onBytes(size, size);
      return { size, sha256: sha };
    } catch (error) {
      if (signal?.aborted)
        throw new HubError('ABORTED', `the download was cancelled; ${file.path}.part is kept to resume.`);
      if (isNetworkError(error) && attempt + 1 < retry.attempts) {
        await sleep(backoffMs(attempt, retry), signal);
        continue;
      }
      if (isNetworkError(error)) {
        throw new HubError('NETWORK', `${file.path}: ${networkReason(error)} (after ${retry.attempts} tries).`);
      }
      throw error;
    }
  }
}

/**
 * Downloads a model repo from Hugging Face or ModelScope into `outDir`: lists the repo at a revision, selects the
 * files a base model needs (or `allowPatterns`), downloads each resumably, verifies it, and writes
 * `crucible-download.json` (repo, revision, commit, files). Files already present from the same commit are kept.
 */
export async function downloadModel(opts: TDownloadOptions): Promise<TDownloadResult> {
  const { repo, source, signal } = opts;
  checkRepoId(repo, source);
  const retry: TRetryOptions = { ...DEFAULT_RETRY, ...opts.retry };
  const endpoint = (opts.endpoint ?? defaultEndpoint(source)).replace(/\/+$/, '');
  const token = opts.token ?? defaultToken(source);
  const revision = opts.revision ?? (source === 'huggingface' ? 'main' : 'master');
  const hub =
    source === 'huggingface'
      ? huggingFaceHub(repo, revision, endpoint, token)
      : modelScopeHub(repo, revision, endpoint, token);
  const outDir = resolve(opts.outDir);

  const listing = await hub.list(retry, signal);
  const patterns = opts.allowPatterns ?? [...DEFAULT_ALLOW_PATTERNS];
  const selected = listing.files
    .filter((f) => (opts.allowPatterns ? true : !f.path.includes('/')))
    .filter((f) => matchesAny(f.path, patterns))
    .sort((a, b) => a.path.localeCompare(b.path));
  if (selected.length === 0) {
    throw new HubError(
      'NO_MATCHING_FILES',
      `${repo}@${revision} has no file matching ${patterns.join(', ')} (it lists ${listing.files.length} files).`,
    );
  }
  mkdirSync(outDir, { recursive: true });
  const totalBytes = selected.reduce((s, f) => s + (f.size ?? 0), 0);
  // Fail before the first byte rather than at 95%: the hub told us how much is coming.
  try {
    const fs = statfsSync(outDir);
    const free = Number(fs.bavail) * Number(fs.bsize);
    const already = selected.reduce((s, f) => {
      const p = join(outDir, f.path);
      return s + (existsSync(p) ? statSync(p).size : existsSync(`${p}.part`) ? statSync(`${p}.part`).size : 0);
    }, 0);
    if (totalBytes - already > free) {
      throw new HubError(
        'DISK_FULL',
        `${repo} needs ${((totalBytes - already) / 1e9).toFixed(2)} GB more but ${outDir} has ${(free / 1e9).toFixed(2)} GB free.`,
      );
    }
  } catch (error) {
    if (error instanceof HubError) throw error;
  }

  // Pin file URLs to the listed commit (as snapshot_download does) so a push during the download cannot mix versions.
  const fileRevision = source === 'huggingface' && listing.commit ? listing.commit : revision;
  const previous = readManifest(outDir);
  const files: TDownloadManifest['files'] = [];
  let doneBytes = 0;
  let downloadedBytes = 0;
  for (const [i, file] of selected.entries()) {
    const dest = localPath(outDir, file.path);
    const base = { file: file.path, fileIndex: i, fileCount: selected.length, totalBytes };
    const prev =
      previous?.commit && previous.commit === listing.commit
        ? previous.files.find((f) => f.path === file.path)
        : undefined;
    if (
      prev &&
      existsSync(dest) &&
      statSync(dest).size === prev.size &&
      (file.size === undefined || file.size === prev.size)
    ) {
      files.push(prev);
      doneBytes += prev.size;
      opts.onProgress?.({ ...base, fileBytes: prev.size, fileSize: prev.size, doneBytes, phase: 'skipped' });
      continue;
    }
    // A run interrupted before it wrote the manifest (a worker restarted mid-download) left its finished files in
    // place: one of the listed sha256 (or, with no manifest of another commit here, of the listed size where the
    // hub gives no hash) is not fetched again.
    if (
      !prev &&
      file.size !== undefined &&
      existsSync(dest) &&
      statSync(dest).size === file.size &&
      (file.sha256 ? (await hashFile(dest)) === file.sha256 : previous === null)
    ) {
      files.push({ path: file.path, size: file.size, ...(file.sha256 ? { sha256: file.sha256 } : {}) });
      doneBytes += file.size;
      opts.onProgress?.({ ...base, fileBytes: file.size, fileSize: file.size, doneBytes, phase: 'skipped' });
      continue;
    }
    opts.onProgress?.({ ...base, fileBytes: 0, fileSize: file.size, doneBytes, phase: 'start' });
    const got = await downloadFile(
      hub,
      hub.fileUrl(file.path, fileRevision),
      file,
      dest,
      retry,
      (fileBytes, fileSize) =>
        opts.onProgress?.({ ...base, fileBytes, fileSize, doneBytes: doneBytes + fileBytes, phase: 'progress' }),
      signal,
      repo,
    );
    doneBytes += got.size;
    downloadedBytes += got.size;
    files.push({ path: file.path, size: got.size, ...(got.sha256 ? { sha256: got.sha256 } : {}) });
    opts.onProgress?.({ ...base, fileBytes: got.size, fileSize: got.size, doneBytes, phase: 'done' });
  }
  const manifest: TDownloadManifest = {
    repo,
    source,
    endpoint,
    revision,
    commit: listing.commit,
    downloadedAt: new Date().toISOString(),
    files,
  };
  await writeFile(join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return { ...manifest, dir: outDir, downloadedBytes };
}
