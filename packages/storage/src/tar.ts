import { Readable } from 'node:stream';
import type { Storage } from './types';

/**
 * A POSIX ustar archive of stored objects, streamed: each object is read from storage only when the archive reaches
 * it, so a multi-gigabyte model download never sits in memory. Used for "download the PEFT adapter" and other
 * multi-file artifacts, which users expect as one file (`tar -xf adapter.tar`).
 *
 * Format (POSIX.1-1988 ustar, as GNU tar and Python's tarfile read it): per entry a 512-byte header, the bytes,
 * zero padding to a multiple of 512; two zero blocks at the end. Sizes of 8 GiB and more do not fit ustar's 11
 * octal digits and use the base-256 form (first byte 0x80) that GNU tar, bsdtar and tarfile all understand — a
 * merged 7B model in F16 is a single 14 GB safetensors file.
 */

export type TTarEntry = {
  /** Path inside the archive (`adapter/adapter_config.json`). At most 255 bytes, split at a "/" when over 100. */
  name: string;
  size: number;
  mtime?: Date;
} & ({ key: string; body?: undefined } | { body: Buffer; key?: undefined });

const BLOCK = 512;
const OCTAL_MAX = 0o77777777777; // 11 octal digits

function writeString(buf: Buffer, offset: number, length: number, value: string) {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar: "${value}" does not fit in ${length} bytes`);
  bytes.copy(buf, offset);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number) {
  // length - 1 digits, then NUL
  buf.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

/** The size field: octal when it fits, else base-256 big-endian with the high bit of the first byte set. */
function writeSize(buf: Buffer, offset: number, size: number) {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`tar: bad size ${size}`);
  if (size <= OCTAL_MAX) return writeOctal(buf, offset, 12, size);
  let v = BigInt(size);
  for (let i = offset + 11; i > offset; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[offset] = 0x80;
}

/** Splits a long path into ustar's prefix (155) and name (100) at a "/". */
function splitName(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { prefix, name };
  }
  throw new Error(`tar: the path "${path}" is too long for a ustar header`);
}

export function tarHeader(entry: { name: string; size: number; mtime?: Date; type?: 'file' | 'dir' }): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(entry.name);
  const dir = entry.type === 'dir';
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, dir ? 0o755 : 0o644);
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeSize(h, 124, dir ? 0 : entry.size);
  writeOctal(h, 136, 12, Math.floor((entry.mtime ?? new Date(0)).getTime() / 1000));
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  h.write(dir ? '5' : '0', 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  writeString(h, 265, 32, 'crucible');
  writeString(h, 297, 32, 'crucible');
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

/** Total bytes of the archive (for Content-Length), without reading anything. */
export function tarSize(entries: readonly Pick<TTarEntry, 'size'>[]): number {
  let n = 2 * BLOCK;
  for (const e of entries) n += BLOCK + Math.ceil(e.size / BLOCK) * BLOCK;
  return n;
}

export function tarObjects(storage: Storage, entries: readonly TTarEntry[]): Readable {
  async function* chunks() {
    for (const entry of entries) {
      yield tarHeader(entry);
      let seen = 0;
      // a generated file (a model card) rides along with the stored ones
      const source = entry.body ? [entry.body] : await storage.getObject(entry.key);
      for await (const chunk of source) {
        const b = chunk as Buffer;
        seen += b.length;
        if (seen > entry.size) throw new Error(`tar: ${entry.key ?? entry.name} grew while it was being archived`);
        yield b;
      }
      if (seen !== entry.size)
        throw new Error(`tar: ${entry.key ?? entry.name} is ${seen} bytes, its listing said ${entry.size}`);
      const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK;
      if (pad) yield Buffer.alloc(pad);
    }
    yield Buffer.alloc(2 * BLOCK);
  }
  return Readable.from(chunks(), { objectMode: false });
}
