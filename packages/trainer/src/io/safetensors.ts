import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { f16BitsToF32, f32ToF16Bits } from './dtype';
import { TrainerError } from './errors';

export type Tensor = { shape: number[]; data: Float32Array };
/** Hugging Face parameter name -> tensor (always float32 in memory); the same type as src/model's Weights. */
export type Weights = Map<string, Tensor>;
export type TSafetensorsDtype = 'F32' | 'BF16' | 'F16';
/** Weights read from a file, with each tensor's stored dtype and the file's `__metadata__`. */
export type TLoadedWeights = Weights & { dtypes: Map<string, TSafetensorsDtype>; metadata: Record<string, string> };

const BYTES: Record<TSafetensorsDtype, number> = { F32: 4, BF16: 2, F16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

type THeaderEntry = { dtype: string; shape: number[]; data_offsets: [number, number] };

function readHeader(fd: number, file: string): { header: Record<string, THeaderEntry>; dataStart: number } {
  const lenBuf = Buffer.alloc(8);
  if (readSync(fd, lenBuf, 0, 8, 0) !== 8)
    throw new TrainerError('SAFETENSORS_INVALID', `${file} is too short to be safetensors.`);
  const n = Number(lenBuf.readBigUInt64LE(0));
  if (n <= 0 || n > MAX_HEADER)
    throw new TrainerError('SAFETENSORS_INVALID', `${file}: header length ${n} is not plausible.`);
  const hb = Buffer.alloc(n);
  readSync(fd, hb, 0, n, 8);
  try {
    return { header: JSON.parse(hb.toString('utf8')), dataStart: 8 + n };
  } catch {
    throw new TrainerError('SAFETENSORS_INVALID', `${file}: header is not JSON.`);
  }
}

/** Reads a .safetensors file; F32, BF16 and F16 tensors become Float32Arrays. */
export function readSafetensorsSync(file: string): TLoadedWeights {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new TrainerError('MODEL_FILES_MISSING', `Cannot open ${file}: ${(e as Error).message}`);
  }
  try {
    const { header, dataStart } = readHeader(fd, file);
    const out = new Map() as TLoadedWeights;
    out.dtypes = new Map();
    out.metadata = {};
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') {
        out.metadata = entry as unknown as Record<string, string>;
        continue;
      }
      const dtype = entry.dtype as TSafetensorsDtype;
      if (!(dtype in BYTES)) {
        throw new TrainerError(
          'SAFETENSORS_INVALID',
          `${file}: tensor ${name} has dtype ${entry.dtype}; only F32, BF16 and F16 are read.`,
        );
      }
      const count = entry.shape.reduce((a, b) => a * b, 1);
      const [begin, end] = entry.data_offsets;
      if (end - begin !== count * BYTES[dtype]) {
        throw new TrainerError(
          'SAFETENSORS_INVALID',
          `${file}: tensor ${name} has ${end - begin} bytes for shape [${entry.shape}] ${dtype}.`,
        );
      }
      const data = new Float32Array(count);
      if (dtype === 'F32') {
        readFully(fd, new Uint8Array(data.buffer), dataStart + begin, file);
      } else {
        const half = new Uint16Array(count);
        readFully(fd, new Uint8Array(half.buffer), dataStart + begin, file);
        if (dtype === 'BF16') {
          // bf16 is the top half of a float32: shift the bits straight into the output's storage.
          const bits = new Uint32Array(data.buffer);
          for (let i = 0; i < count; i++) bits[i] = half[i] << 16;
        } else {
          for (let i = 0; i < count; i++) data[i] = f16BitsToF32(half[i]);
        }
      }
      out.set(name, { shape: [...entry.shape], data });
      out.dtypes.set(name, dtype);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, buf: Uint8Array, position: number, file: string): void {
  let done = 0;
  // readSync moves at most 2 GiB per call
  while (done < buf.length) {
    const n = readSync(fd, buf, done, Math.min(buf.length - done, 1 << 30), position + done);
    if (n <= 0) throw new TrainerError('SAFETENSORS_INVALID', `${file} ends before its tensors do.`);
    done += n;
  }
}

export async function readSafetensors(file: string): Promise<TLoadedWeights> {
  return readSafetensorsSync(file);
}

/**
 * Writes tensors as safetensors (little-endian, header padded with spaces to 8 bytes, `__metadata__.format = pt`
 * so Transformers accepts it). Synchronous so a caller may use it with or without `await`.
 */
export function writeSafetensors(
  file: string,
  tensors: Weights,
  opts: { dtype?: TSafetensorsDtype; metadata?: Record<string, string> } = {},
): void {
  const dtype = opts.dtype ?? 'F32';
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...(opts.metadata ?? {}) } };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name) as Tensor;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new TrainerError(
        'SAFETENSORS_INVALID',
        `Tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values.`,
      );
    }
    const bytes = count * BYTES[dtype];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const lenBuf = Buffer.alloc(8);
  lenBuf.writeBigUInt64LE(BigInt(hb.length));
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, lenBuf);
    writeSync(fd, hb);
    for (const name of names) {
      const t = tensors.get(name) as Tensor;
      let bytes: Uint8Array;
      if (dtype === 'F32') bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      else {
        const half = new Uint16Array(t.data.length);
        if (dtype === 'BF16') {
          const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
          for (let i = 0; i < half.length; i++) {
            const b = bits[i];
            // round to nearest even on the dropped 16 bits; NaN keeps a quiet-NaN payload
            half[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
          }
        } else {
          for (let i = 0; i < half.length; i++) half[i] = f32ToF16Bits(t.data[i]);
        }
        bytes = new Uint8Array(half.buffer);
      }
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
    }
  } finally {
    closeSync(fd);
  }
}

/** Loads a model directory's weights: `model.safetensors`, or the shards named by `model.safetensors.index.json`. */
export function loadWeightsSync(modelDir: string): TLoadedWeights {
  const index = join(modelDir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    let weightMap: Record<string, string>;
    try {
      weightMap = JSON.parse(readFileSync(index, 'utf8')).weight_map;
    } catch (e) {
      throw new TrainerError('SAFETENSORS_INVALID', `${index} is not valid JSON: ${(e as Error).message}`);
    }
    const out = new Map() as TLoadedWeights;
    out.dtypes = new Map();
    out.metadata = {};
    for (const shard of new Set(Object.values(weightMap))) {
      const part = readSafetensorsSync(join(modelDir, shard));
      for (const [k, v] of part) {
        out.set(k, v);
        out.dtypes.set(k, part.dtypes.get(k) as TSafetensorsDtype);
      }
    }
    const missing = Object.keys(weightMap).filter((k) => !out.has(k));
    if (missing.length > 0)
      throw new TrainerError('SAFETENSORS_INVALID', `${index} lists ${missing[0]} but no shard holds it.`);
    return out;
  }
  const single = join(modelDir, 'model.safetensors');
  if (!existsSync(single)) {
    throw new TrainerError(
      'MODEL_FILES_MISSING',
      `${modelDir} has neither model.safetensors nor model.safetensors.index.json.`,
    );
  }
  return readSafetensorsSync(single);
}

export async function loadWeights(modelDir: string): Promise<TLoadedWeights> {
  return loadWeightsSync(modelDir);
}

/** Writes weights as shards of at most `maxShardBytes` plus model.safetensors.index.json, as save_pretrained does. */
export function writeShardedSafetensors(
  modelDir: string,
  tensors: Weights,
  opts: { dtype?: TSafetensorsDtype; maxShardBytes: number },
): void {
  const dtype = opts.dtype ?? 'F32';
  const shards: Weights[] = [];
  let cur: Weights = new Map();
  let curBytes = 0;
  let total = 0;
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name) as Tensor;
    const bytes = t.data.length * BYTES[dtype];
    if (curBytes > 0 && curBytes + bytes > opts.maxShardBytes) {
      shards.push(cur);
      cur = new Map();
      curBytes = 0;
    }
    cur.set(name, t);
    curBytes += bytes;
    total += bytes;
  }
  if (cur.size > 0) shards.push(cur);
  const weightMap: Record<string, string> = {};
  shards.forEach((s, i) => {
    const fname = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    writeSafetensors(join(modelDir, fname), s, { dtype });
    for (const k of s.keys()) weightMap[k] = fname;
  });
  writeFileSync(
    join(modelDir, 'model.safetensors.index.json'),
    `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
  );
}
