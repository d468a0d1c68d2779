import { ApiError, api } from '@/lib/api-client';
import { modelPaths } from './types';

/**
 * The browser side of a model archive upload (issue 14): a resumable multipart upload. The file is cut with
 * Blob.slice into the parts the server planned and sent a few at a time to presigned PUT URLs. The upload id is
 * remembered in localStorage under the workspace and the file's name, size and modification time, so after a
 * reload or a dropped connection choosing the same file asks the server which parts it holds and sends only the
 * rest. The server (services/model-uploads.ts) checks every part's size when the upload is completed.
 */

export type TModelUpload = {
  uploadId: string;
  fileName: string;
  size: number;
  partSize: number;
  partCount: number;
  status: 'uploading' | 'completed' | 'aborted';
  parts: { partNumber: number; size: number }[];
  uploadedBytes: number;
};

type TPartTarget = {
  partNumber: number;
  size: number;
  offset: number;
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
};

export type TUploadProgress = {
  done: number;
  total: number;
  /** Bytes that were stored before this session (a resumed upload). */
  resumedBytes: number;
  bytesPerSecond: number | null;
  etaSeconds: number | null;
};

/** Parts in flight at once: enough to fill a link, few enough that one slow part does not hold many bytes. */
const CONCURRENCY = 3;
const ATTEMPTS = 3;

const memoryKey = (slug: string, file: File) =>
  `crucible:model-upload:${slug}:${file.name}:${file.size}:${file.lastModified}`;

function remembered(slug: string, file: File): string | null {
  try {
    return window.localStorage.getItem(memoryKey(slug, file));
  } catch {
    return null; // storage disabled: the upload still works, it just cannot resume after a reload
  }
}

function remember(slug: string, file: File, uploadId: string | null) {
  try {
    if (uploadId) window.localStorage.setItem(memoryKey(slug, file), uploadId);
    else window.localStorage.removeItem(memoryKey(slug, file));
  } catch {
    // as above
  }
}

/** Forgets the upload of this file once its model was added (a new "Add" of the same file uploads it again). */
export const forgetUpload = (slug: string, file: File) => remember(slug, file, null);

/** An earlier, unfinished upload of this very file in this workspace, if the server still has it. */
export async function findResumableUpload(slug: string, file: File): Promise<TModelUpload | null> {
  const id = remembered(slug, file);
  if (!id) return null;
  try {
    const upload = await api<TModelUpload>(modelPaths.upload(slug, id));
    if (upload.status === 'aborted' || upload.size !== file.size) {
      remember(slug, file, null);
      return null;
    }
    return upload;
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) remember(slug, file, null);
    return null;
  }
}

/** PUTs one part with XMLHttpRequest, for its upload progress events; resolves on 2xx. */
function putPart(target: TPartTarget, body: Blob, onLoaded: (bytes: number) => void, signal: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    // An abort listener added to a signal that has fired already never runs: check first, or a part whose URL
    // arrived just after the upload stopped would still be sent.
    if (signal.aborted) {
      reject(new DOMException('aborted', 'AbortError'));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open(target.method, target.url);
    for (const [k, v] of Object.entries(target.headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onLoaded(e.loaded);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(new ApiError(xhr.status, 'upload_failed', `#${target.partNumber}: HTTP ${xhr.status}`, 'file'));
    // Messages without words: the dialog shows them inside a translated sentence (status 0: no connection).
    xhr.onerror = () => reject(new ApiError(0, 'upload_failed', `#${target.partNumber}`, 'file'));
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

/** Speed over the last few seconds, and the time left at that speed. */
function speedometer(total: number) {
  const samples: { t: number; done: number }[] = [];
  return (done: number) => {
    const now = performance.now();
    samples.push({ t: now, done });
    while (samples.length > 2 && now - (samples[0] as { t: number }).t > 5000) samples.shift();
    const first = samples[0] as { t: number; done: number };
    const seconds = (now - first.t) / 1000;
    const bytesPerSecond = seconds >= 0.5 ? (done - first.done) / seconds : null;
    const etaSeconds =
      bytesPerSecond && bytesPerSecond > 0 && total > done ? Math.ceil((total - done) / bytesPerSecond) : null;
    return { bytesPerSecond, etaSeconds };
  };
}

/**
 * Uploads `file` as a model archive (resuming an earlier upload of it where the server still has one) and answers
 * the completed upload's id, for "Add base model".
 */
export async function uploadModelArchive(
  slug: string,
  file: File,
  onProgress: (p: TUploadProgress) => void,
  outer: AbortSignal,
): Promise<string> {
  // One failed part (after its retries) stops the others; the parts already stored stay for the next try.
  const stop = new AbortController();
  const signal = stop.signal;
  outer.addEventListener('abort', () => stop.abort(), { once: true });
  let upload = await findResumableUpload(slug, file);
  if (!upload) {
    upload = await api<TModelUpload>(modelPaths.uploads(slug), {
      method: 'POST',
      body: { fileName: file.name, size: file.size },
    });
    remember(slug, file, upload.uploadId);
  }
  const { uploadId, partSize, partCount } = upload;
  if (upload.status === 'completed') return uploadId;

  // A stored part of the wrong size (a file changed in place) is sent again.
  const expected = (n: number) => (n < partCount ? partSize : file.size - (n - 1) * partSize);
  const stored = new Set(upload.parts.filter((p) => p.size === expected(p.partNumber)).map((p) => p.partNumber));
  const queue = Array.from({ length: partCount }, (_, i) => i + 1).filter((n) => !stored.has(n));
  const resumedBytes = [...stored].reduce((sum, n) => sum + expected(n), 0);
  let finished = resumedBytes;
  const inFlight = new Map<number, number>();
  const speed = speedometer(file.size);
  const report = () => {
    let done = finished;
    for (const bytes of inFlight.values()) done += bytes;
    onProgress({ done, total: file.size, resumedBytes, ...speed(done) });
  };
  report();

  async function sendOne(partNumber: number) {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new DOMException('aborted', 'AbortError');
      // A fresh URL for every attempt: each lives an hour, and a resumed upload may be days old.
      const { parts } = await api<{ parts: TPartTarget[] }>(modelPaths.uploadParts(slug, uploadId), {
        method: 'POST',
        body: { partNumbers: [partNumber] },
      });
      const target = parts[0] as TPartTarget;
      try {
        inFlight.set(partNumber, 0);
        await putPart(
          target,
          file.slice(target.offset, target.offset + target.size),
          (bytes) => {
            inFlight.set(partNumber, bytes);
            report();
          },
          signal,
        );
        inFlight.delete(partNumber);
        finished += target.size;
        report();
        return;
      } catch (error) {
        inFlight.delete(partNumber);
        report();
        if (signal.aborted || attempt >= ATTEMPTS) throw error;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  async function worker() {
    try {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
        if (signal.aborted) throw new DOMException('aborted', 'AbortError');
        await sendOne(n);
      }
    } catch (error) {
      stop.abort();
      throw error;
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  await api(modelPaths.uploadComplete(slug, uploadId), { method: 'POST' });
  return uploadId;
}
