import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Storage } from '@crucible/storage';

/** Copies every object under `prefix` into `dir`, keeping the key's path below the prefix. Returns the count. */
export async function downloadPrefix(storage: Storage, prefix: string, dir: string): Promise<number> {
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const objects = await storage.listObjects(p);
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
