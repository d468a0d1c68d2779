import { createHash } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { downloadPrefix } from './sync';
import type { Storage } from './types';

/**
 * Model directories on this machine, shared by the serving engine (which converts them to GGUF and loads them) and
 * the housekeeping worker's exports (which merge or convert them for download), each with a cache folder of its own:
 * a base model registered with a server path is used where it is; one in object storage is downloaded once into the
 * cache, under a name that changes when its files do.
 */

export class ModelFilesError extends Error {
  readonly code = 'model_unavailable';
}

/** A checksum of a directory's file names, sizes and modification times (cheap, changes when files do). */
export function dirChecksum(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else h.update(`${p.slice(dir.length)}:${s.size}:${s.mtimeMs}\n`);
    }
  };
  walk(dir);
  return h.digest('hex').slice(0, 16);
}

/** Files a Hugging Face model directory needs (a training output also holds logs and plots, which are skipped). */
const MODEL_FILE =
  /^(config\.json|generation_config\.json|.*\.safetensors|model\.safetensors\.index\.json|tokenizer.*\.json|special_tokens_map\.json|vocab\.json|merges\.txt|chat_template\.jinja)$/;

/**
 * The directory of the model stored under `prefix` (or at `path` on this server), downloaded into
 * `cacheDir/<kind>/<id>-<checksum>/hf` on first use. Returns the directory and the checksum that names it.
 */
export async function modelDir(
  storage: Storage,
  cacheDir: string,
  m: {
    kind: 'bases' | 'fine-tuned' | 'checkpoints';
    id: string;
    name: string;
    objectKey?: string | null;
    path?: string | null;
  },
): Promise<{ dir: string; checksum: string }> {
  if (m.objectKey) {
    const prefix = m.objectKey.endsWith('/') ? m.objectKey : `${m.objectKey}/`;
    const listed = (await storage.listObjects(prefix)).filter((o) => MODEL_FILE.test(o.key.slice(prefix.length)));
    if (!listed.some((o) => o.key.endsWith('/config.json'))) {
      throw new ModelFilesError(`The files of model "${m.name}" are not in storage (no config.json under ${prefix}).`);
    }
    const checksum = createHash('sha256')
      .update(listed.map((o) => `${o.key}:${o.size}`).join('\n'))
      .digest('hex')
      .slice(0, 16);
    const dir = join(cacheDir, m.kind, `${m.id}-${checksum}`, 'hf');
    if (!existsSync(join(dir, 'config.json'))) {
      const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
      rmSync(tmp, { recursive: true, force: true });
      await downloadPrefix(storage, prefix, tmp, (key) => MODEL_FILE.test(key));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    }
    return { dir, checksum };
  }
  if (m.path && existsSync(m.path)) return { dir: m.path, checksum: dirChecksum(m.path) };
  throw new ModelFilesError(
    `The files of model "${m.name}" are not in storage (${m.objectKey ?? m.path ?? 'no location recorded'}).`,
  );
}
