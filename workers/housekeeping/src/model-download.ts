import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { getPrisma } from '@crucible/db';
import { JobError, QUEUE_DEFAULTS } from '@crucible/jobs';
import { baseModelPrefix, describeModelDir, storeModelFiles } from '@crucible/services/models';
import { readHubToken } from '@crucible/services/secrets';
import { downloadObject, type Storage } from '@crucible/storage';
import type { TRetryOptions } from '@crucible/trainer/hub/http';
import { defaultEndpoint, downloadModel, HubError, type THubSource } from '@crucible/trainer/hub/index';
import { parseModelConfig } from '@crucible/trainer/model/config';
import { extractArchive } from './archives';

/**
 * One `model.download` (issue 14): fetches a workspace's new base model from where its BaseModelDownload row says —
 * Hugging Face or ModelScope (the training core's resumable downloader, sha256-checked), a folder on the workers'
 * shared storage (MODELS_SHARED_DIR), or an uploaded .tar/.zip — checks that the training core reads its config,
 * stores its files under the base model's prefix and marks it `ready`.
 * - progress: the bytes of the current phase (`downloading`, then `storing`), the speed over the last seconds and
 *   the file are written to the row at most every `progressEveryMs`, so every console replica draws the same bar;
 * - resume: hub files go to `cacheDir/downloads/<downloadId>/`, whatever worker or attempt runs it: a worker that
 *   stops (SIGTERM: the job is handed back; a crash: BullMQ's stalled check) leaves the finished files and the
 *   `.part` of the current one, and the next run continues with a Range request;
 * - deletion: a base model deleted meanwhile (its row gone) stops the run at the next progress write;
 * - a machine without a route to the hub fails at once with `hub_unreachable` and a sentence saying what to do.
 */

export type TModelDownloadDeps = {
  storage: Storage;
  cacheDir: string;
  workerId: string;
  attempt: number;
  /** Aborted when this worker shuts down: the job is handed back and resumes elsewhere. */
  signal: AbortSignal;
  log: (message: string) => void;
  /** Hub base URLs (default HF_ENDPOINT / MODELSCOPE_ENDPOINT, else huggingface.co / modelscope.cn). */
  endpoints?: Partial<Record<THubSource, string>>;
  /** The workers' shared folder that `directory` downloads read from (MODELS_SHARED_DIR). */
  sharedDir?: string | null;
  progressEveryMs?: number;
  retry?: Partial<TRetryOptions>;
};

export type TModelDownloadOutcome = { status: 'succeeded' | 'failed' | 'deleted' };

/** A failure the row records as is (not retried: the input or the hub said no). */
class DownloadFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The base model was deleted while it downloaded. */
class Gone extends Error {}

const PROGRESS_EVERY_MS = 500;
const SPEED_WINDOW_MS = 5_000;

/** Hub failures the user can act on, with the sentence the console shows. */
function hubFailure(error: HubError, repo: string, source: THubSource, endpoint: string): DownloadFailure {
  const hubName = source === 'huggingface' ? 'Hugging Face' : 'ModelScope';
  switch (error.code) {
    case 'AUTH_REQUIRED':
      return new DownloadFailure(
        'auth_required',
        `${hubName} refused ${repo} without an access token this repo accepts: accept its license on ${endpoint}/${source === 'huggingface' ? '' : 'models/'}${repo} with your account, then add the model again with an access token (read access) of that account. (${error.message})`,
      );
    case 'REPO_NOT_FOUND':
    case 'REVISION_NOT_FOUND':
    case 'FILE_NOT_FOUND':
    case 'BAD_REPO_ID':
    case 'NO_MATCHING_FILES':
      return new DownloadFailure(error.code.toLowerCase(), error.message);
    case 'CHECKSUM_MISMATCH':
      return new DownloadFailure(
        'checksum_mismatch',
        `${error.message} Nothing corrupt was kept; "Try again" downloads that file afresh.`,
      );
    case 'SIZE_MISMATCH':
      return new DownloadFailure('size_mismatch', error.message);
    case 'DISK_FULL':
      return new DownloadFailure('disk_full', `The housekeeping worker's disk is full: ${error.message}`);
    default:
      return new DownloadFailure('hub_error', error.message);
  }
}

/** The folder of a `directory` download: inside the shared folder, symlinks included, or a failure saying why. */
function sharedFolder(sharedDir: string | null | undefined, path: string): string {
  if (!sharedDir) {
    throw new DownloadFailure(
      'no_shared_dir',
      'This housekeeping worker has no shared model folder: set MODELS_SHARED_DIR on the workers to the folder their shared storage is mounted at, then try again.',
    );
  }
  const root = realpathSync(sharedDir);
  const wanted = isAbsolute(path) ? resolve(path) : resolve(root, path);
  if (!existsSync(wanted)) {
    throw new DownloadFailure('not_found', `There is no folder "${path}" in the workers' shared folder (${root}).`);
  }
  const real = realpathSync(wanted);
  if (real !== root && !real.startsWith(root + sep)) {
    throw new DownloadFailure('outside_shared_dir', `"${path}" is not inside the workers' shared folder (${root}).`);
  }
  if (!statSync(real).isDirectory()) {
    throw new DownloadFailure('not_a_folder', `"${path}" is a file; give the model's folder.`);
  }
  return real;
}

/** The model folder inside an unpacked archive: its root, or the one folder it holds. */
function modelFolderIn(dir: string): string {
  if (existsSync(join(dir, 'config.json'))) return dir;
  const entries = readdirSync(dir).filter((n) => !n.startsWith('.') && n !== '__MACOSX');
  if (entries.length === 1 && statSync(join(dir, entries[0])).isDirectory())
    return modelFolderIn(join(dir, entries[0]));
  throw new DownloadFailure(
    'not_a_model',
    'The archive holds no config.json at its top (or in its one folder): archive the model directory itself (config.json, *.safetensors, tokenizer files).',
  );
}

/** Refuses a model the training core cannot read, with its reason (before gigabytes are stored). */
function checkConfig(dir: string): void {
  if (!existsSync(join(dir, 'config.json'))) {
    throw new DownloadFailure('not_a_model', 'The model has no config.json; is it a Hugging Face model directory?');
  }
  try {
    parseModelConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  } catch (error) {
    throw new DownloadFailure(
      'unsupported_model',
      `The training core cannot train this model: ${(error as Error).message}`,
    );
  }
  if (!readdirSync(dir).some((f) => f.endsWith('.safetensors'))) {
    throw new DownloadFailure('not_a_model', 'The model has no .safetensors weights (other formats are not read).');
  }
}

/** Removes the cache folders of downloads that are gone or finished (a deleted model, a finished run's leftovers). */
async function pruneCache(cacheDir: string, keep: string): Promise<void> {
  const root = join(cacheDir, 'downloads');
  if (!existsSync(root)) return;
  const ids = readdirSync(root).filter((n) => n !== keep);
  if (!ids.length) return;
  const live = await getPrisma().baseModelDownload.findMany({
    where: { id: { in: ids }, status: { in: ['queued', 'downloading', 'storing', 'failed'] } },
    select: { id: true },
  });
  for (const id of ids) {
    if (!live.some((l) => l.id === id)) rmSync(join(root, id), { recursive: true, force: true });
  }
}

export async function runModelDownload(downloadId: string, deps: TModelDownloadDeps): Promise<TModelDownloadOutcome> {
  const db = getPrisma();
  const row = await db.baseModelDownload.findUnique({ where: { id: downloadId }, include: { baseModel: true } });
  if (!row) return { status: 'deleted' };
  if (row.status === 'succeeded') return { status: 'succeeded' };
  await pruneCache(deps.cacheDir, row.id).catch(() => undefined);
  const work = join(deps.cacheDir, 'downloads', row.id);
  mkdirSync(work, { recursive: true });

  const stop = new AbortController();
  const onShutdown = () => stop.abort(deps.signal.reason ?? new Error('worker shutting down'));
  deps.signal.addEventListener('abort', onShutdown, { once: true });
  let gone = false;
  const progress = {
    status: 'downloading' as 'downloading' | 'storing',
    total: 0,
    done: 0,
    file: null as string | null,
    samples: [] as { t: number; done: number }[],
  };
  const setPhase = (status: 'downloading' | 'storing', total: number) => {
    progress.status = status;
    progress.total = total;
    progress.done = 0;
    progress.samples = [];
  };
  const speed = () => {
    const now = Date.now();
    progress.samples.push({ t: now, done: progress.done });
    while (progress.samples.length > 2 && now - progress.samples[0].t > SPEED_WINDOW_MS) progress.samples.shift();
    const first = progress.samples[0];
    const dt = (now - first.t) / 1000;
    return dt > 0.2 ? Math.max(0, (progress.done - first.done) / dt) : null;
  };
  const write = async (extra: Record<string, unknown> = {}) => {
    const r = await db.baseModelDownload.updateMany({
      where: { id: row.id },
      data: {
        status: progress.status,
        totalBytes: BigInt(Math.round(progress.total)),
        doneBytes: BigInt(Math.round(Math.min(progress.done, progress.total || progress.done))),
        bytesPerSecond: speed(),
        currentFile: progress.file,
        ...extra,
      },
    });
    if (r.count === 0 && !gone) {
      gone = true;
      stop.abort(new Gone());
    }
  };
  let writing: Promise<void> | null = null;
  const tick = () => {
    writing ??= write()
      .catch((error) => deps.log(`progress of download ${row.id} not written: ${(error as Error).message}`))
      .finally(() => {
        writing = null;
      });
  };
  const timer = setInterval(tick, deps.progressEveryMs ?? PROGRESS_EVERY_MS);
  timer.unref();

  const hub = row.source === 'huggingface' || row.source === 'modelscope' ? (row.source as THubSource) : null;
  const endpoint = hub ? (deps.endpoints?.[hub] ?? defaultEndpoint(hub)).replace(/\/+$/, '') : '';
  try {
    setPhase(row.source === 'directory' ? 'storing' : 'downloading', 0);
    await write({
      workerId: deps.workerId,
      attempts: { increment: 1 },
      startedAt: row.startedAt ?? new Date(),
      errorCode: null,
    });
    if (gone) throw new Gone();
    let modelDir: string;
    let commit: string | null = null;
    if (hub) {
      const token = row.useToken ? await readHubToken(row.workspaceId, hub) : null;
      let started = false;
      let refused: DownloadFailure | null = null;
      try {
        const result = await downloadModel({
          repo: row.repo ?? '',
          source: hub,
          revision: row.revision ?? undefined,
          endpoint,
          // Only the workspace's own token: never the worker's HF_TOKEN, which would open gated repos to every
          // workspace of the instance.
          token: token ?? '',
          outDir: join(work, 'hf'),
          signal: stop.signal,
          retry: deps.retry,
          onProgress: (p) => {
            started = true;
            progress.total = p.totalBytes;
            progress.done = p.doneBytes;
            progress.file = p.file;
            // config.json is fetched first (files go in name order): refuse an architecture the core cannot train
            // before its weights are downloaded.
            if (p.file === 'config.json' && (p.phase === 'done' || p.phase === 'skipped')) {
              try {
                parseModelConfig(JSON.parse(readFileSync(join(work, 'hf', 'config.json'), 'utf8')));
              } catch (error) {
                refused = new DownloadFailure(
                  'unsupported_model',
                  `The training core cannot train ${row.repo}: ${(error as Error).message}`,
                );
                stop.abort(refused);
              }
            }
          },
        });
        commit = result.commit;
        modelDir = result.dir;
      } catch (error) {
        if (refused) throw refused;
        if (gone || stop.signal.reason instanceof Gone) throw new Gone();
        if (deps.signal.aborted) throw error;
        if (error instanceof HubError && error.code === 'NETWORK' && !started) {
          throw new DownloadFailure(
            'hub_unreachable',
            `This machine has no route to ${endpoint} (${error.message}) Downloads from ${hub === 'huggingface' ? 'Hugging Face' : 'ModelScope'} need the housekeeping worker to reach it; on a machine without internet access, copy the model folder to the workers' shared folder and add it from there, upload it as a .tar/.zip, or point ${hub === 'huggingface' ? 'HF_ENDPOINT' : 'MODELSCOPE_ENDPOINT'} at a mirror.`,
          );
        }
        if (error instanceof HubError && error.code !== 'NETWORK' && error.code !== 'HUB_ERROR') {
          throw hubFailure(error, row.repo ?? '', hub, endpoint);
        }
        throw error; // a network failure mid-file, a busy hub: retried by the queue, resuming
      }
    } else if (row.source === 'directory') {
      modelDir = sharedFolder(deps.sharedDir, row.path ?? '');
    } else {
      if (!row.objectKey) throw new DownloadFailure('not_found', 'The uploaded archive is not recorded.');
      const archive = join(work, row.fileName ?? 'model.tar');
      const stat = await deps.storage.statObject(row.objectKey).catch(() => null);
      if (!stat)
        throw new DownloadFailure('not_found', 'The uploaded archive is no longer in storage; upload it again.');
      setPhase('downloading', stat.size);
      progress.file = row.fileName;
      if (!existsSync(archive) || statSync(archive).size !== stat.size)
        await downloadObject(deps.storage, row.objectKey, archive);
      progress.done = stat.size;
      const out = join(work, 'unpacked');
      rmSync(out, { recursive: true, force: true });
      try {
        await extractArchive(archive, out, { maxBytes: Math.max(stat.size * 20, 1024 ** 3) });
      } catch (error) {
        throw new DownloadFailure('bad_archive', `The archive cannot be unpacked: ${(error as Error).message}`);
      }
      modelDir = modelFolderIn(out);
    }
    checkConfig(modelDir);
    if (stop.signal.aborted) throw stop.signal.reason;

    // Storing: the files go to the base model's prefix, as `crucible models import` stores them.
    const described = describeModelDir(modelDir);
    setPhase('storing', Number(described.data.sizeBytes));
    const prefix = baseModelPrefix(row.baseModel);
    await storeModelFiles(deps.storage, modelDir, described.files, prefix, (sent, file) => {
      progress.done = sent;
      progress.file = file;
      if (stop.signal.aborted) throw stop.signal.reason;
    });
    clearInterval(timer);
    await writing;
    if (gone) throw new Gone();
    progress.done = progress.total;
    progress.file = null;
    const finished = await db.$transaction(async (tx) => {
      const r = await tx.baseModelDownload.updateMany({
        where: { id: row.id },
        data: {
          status: 'succeeded',
          doneBytes: BigInt(progress.total),
          totalBytes: BigInt(progress.total),
          bytesPerSecond: null,
          currentFile: null,
          commit,
          errorCode: null,
          errorMessage: null,
          finishedAt: new Date(),
        },
      });
      if (r.count === 0) return false;
      await tx.baseModel.update({
        where: { id: row.baseModelId },
        data: {
          ...described.data,
          objectKey: prefix,
          path: row.source === 'directory' ? modelDir : null,
          status: 'ready',
        },
      });
      return true;
    });
    if (!finished) throw new Gone();
    rmSync(work, { recursive: true, force: true });
    deps.log(`download ${row.id}: ${row.baseModel.name} is ready (${described.files.length} files)`);
    return { status: 'succeeded' };
  } catch (error) {
    clearInterval(timer);
    await writing;
    if (error instanceof Gone || gone) {
      rmSync(work, { recursive: true, force: true });
      return { status: 'deleted' };
    }
    if (deps.signal.aborted) throw error; // shutting down: handed back to the queue, resumes from the cache folder
    const failure =
      error instanceof DownloadFailure
        ? error
        : deps.attempt < QUEUE_DEFAULTS.job.attempts
          ? null
          : new DownloadFailure(
              error instanceof HubError ? 'network' : 'internal_error',
              error instanceof HubError
                ? error.message
                : `The download failed on our side: ${(error as Error).message}`,
            );
    if (!failure) {
      await db.baseModelDownload
        .updateMany({
          where: { id: row.id },
          data: { errorMessage: `Retrying after: ${(error as Error).message}`.slice(0, 1000) },
        })
        .catch(() => undefined);
      throw new JobError('handler_failed', (error as Error).message, { retryable: true, cause: error });
    }
    await db
      .$transaction([
        db.baseModelDownload.updateMany({
          where: { id: row.id },
          data: {
            status: 'failed',
            errorCode: failure.code,
            errorMessage: failure.message.slice(0, 2000),
            bytesPerSecond: null,
            finishedAt: new Date(),
          },
        }),
        db.baseModel.updateMany({ where: { id: row.baseModelId }, data: { status: 'failed' } }),
      ])
      .catch(() => undefined);
    deps.log(`download ${row.id} failed: ${failure.code}: ${failure.message}`);
    return { status: 'failed' };
  } finally {
    deps.signal.removeEventListener('abort', onShutdown);
  }
}
