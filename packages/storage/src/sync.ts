import { createReadStream, createWriteStream, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Storage } from './types';

/**
 * Folders to and from object storage, for the workers (a model directory down, a training output or an export up).
 * Streams both ways: a merged model is gigabytes.
 */

/**
 * Copies every object under `prefix` (those whose path below it `only` accepts) into `dir`, keeping the key's path
 * below the prefix. Returns the count.
 */
export async function downloadPrefix(
  storage: Storage,
  prefix: string,
  dir: string,
  only: (relativeKey: string) => boolean = () => true,
): Promise<number> {
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const objects = (await storage.listObjects(p)).filter((o) => only(o.key.slice(p.length)));
  for (const o of objects) {
    const target = join(dir, o.key.slice(p.length));
    mkdirSync(dirname(target), { recursive: true });
    await pipeline(await storage.getObject(o.key), createWriteStream(target));
  }
  return objects.length;
}

export async function downloadObject(storage: Storage, key: string, file: string): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  await pipeline(await storage.getObject(key), createWriteStream(file));
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out.sort();
}

/** Uploads every file under `dir` to `prefix/<relative path>`; returns the keys and sizes. */
export async function uploadDir(
  storage: Storage,
  dir: string,
  prefix: string,
): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  for (const file of listFiles(dir)) {
    const key = `${prefix}/${relative(dir, file).split('\\').join('/')}`;
    const size = statSync(file).size;
    await storage.putObject(key, createReadStream(file), { size });
    out.push({ key, size });
  }
  return out;
}
