import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract as extractTar } from 'tar';
import { type Entry, openPromise } from 'yauzl';

/**
 * Unpacks an uploaded model archive (`.tar`, `.tar.gz`/`.tgz` with node-tar; `.zip`, zip64 included, with yauzl)
 * into `out`. Entries that would land outside `out` (absolute paths, `..`), links and devices are refused, and
 * unpacking stops once more than `maxBytes` came out (a compression bomb).
 */
export async function extractArchive(file: string, out: string, o: { maxBytes: number }): Promise<void> {
  mkdirSync(out, { recursive: true });
  const root = resolve(out);
  let total = 0;
  const count = (n: number) => {
    total += n;
    if (total > o.maxBytes) throw new Error(`it unpacks to more than ${o.maxBytes} bytes`);
  };
  if (file.toLowerCase().endsWith('.zip')) {
    // strictFileNames refuses absolute paths, "..", and backslashes; validateEntrySizes checks each declared size.
    const zip = await openPromise(file, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true });
    try {
      for (;;) {
        const entry = await new Promise<Entry | null>((res, rej) => {
          zip.once('entry', res);
          zip.once('end', () => res(null));
          zip.once('error', rej);
          zip.readEntry();
        });
        zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
        if (!entry) break;
        if (entry.fileName.endsWith('/')) continue;
        if (entry.isEncrypted()) throw new Error(`${entry.fileName} is encrypted`);
        const target = resolve(root, entry.fileName);
        if (!target.startsWith(root + sep)) throw new Error(`${entry.fileName} points outside the archive`);
        count(entry.uncompressedSize);
        mkdirSync(dirname(target), { recursive: true });
        await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
      }
    } finally {
      zip.close();
    }
    return;
  }
  let refused: string | null = null;
  await extractTar({
    file,
    cwd: root,
    // node-tar already strips leading "/" and refuses ".." (preservePaths off); strict makes its warnings errors.
    strict: true,
    // Regular files and folders only (a symlink or hard link could point at anything on the worker), and no more
    // bytes than allowed: the header sizes are what gets written.
    filter: (path, entry) => {
      const type = 'type' in entry ? entry.type : 'File';
      if (type !== 'File' && type !== 'OldFile' && type !== 'Directory') {
        refused ??= `${path} is a ${type}, not a file`;
        return false;
      }
      try {
        count(entry.size ?? 0);
      } catch (error) {
        refused ??= (error as Error).message;
        return false;
      }
      return true;
    },
  });
  if (refused) throw new Error(refused);
}
