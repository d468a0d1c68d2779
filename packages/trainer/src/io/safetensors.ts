import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './dtype';
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

/** A tensor of an opened safetensors file: where its bytes are, read only when asked. */
export type TStoredTensor = {
  shape: number[];
  dtype: TSafetensorsDtype;
  /**
   * Reads the tensor straight into a fresh buffer of the asked dtype (one pread into the destination's own memory;
   * widening and narrowing happen in place in that buffer, so a tensor never exists twice at full size). `into`, a
   * buffer of the asked type with room for the tensor, is read into instead (and a view of it returned) when the
   * stored dtype is the asked one: a loader reuses one scratch buffer for every weight its backend copies.
   */
  read(as: 'f32' | 'bf16', into?: Float32Array | Uint16Array): Float32Array | Uint16Array;
};

export type TStoredWeights = Map<string, TStoredTensor> & { metadata: Record<string, string> };

function storedTensor(file: string, shape: number[], dtype: TSafetensorsDtype, position: number): TStoredTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const read = (as: 'f32' | 'bf16', into?: Float32Array | Uint16Array): Float32Array | Uint16Array => {
    const fd = openSync(file, 'r');
    try {
      const same = (as === 'f32' && dtype === 'F32') || (as === 'bf16' && dtype === 'BF16');
      if (into && same && into.length >= count && (as === 'f32') === into instanceof Float32Array) {
        const out = into.subarray(0, count);
        readFully(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), position, file);
        return out;
      }
      if (as === 'f32') {
        const out = new Float32Array(count);
        if (dtype === 'F32') {
          readFully(fd, new Uint8Array(out.buffer), position, file);
          return out;
        }
        // The 16-bit values go into the upper half of the output's own buffer and are widened front to back:
        // element i is written to bytes [4i, 4i+4) after element i, at byte 2*count + 2i, was read.
        const half = new Uint16Array(out.buffer, 2 * count, count);
        readFully(fd, new Uint8Array(out.buffer, 2 * count, 2 * count), position, file);
        if (dtype === 'BF16') {
          const bits = new Uint32Array(out.buffer);
          for (let i = 0; i < count; i++) bits[i] = half[i] << 16;
        } else {
          for (let i = 0; i < count; i++) out[i] = f16BitsToF32(half[i]);
        }
        return out;
      }
      if (dtype === 'BF16') {
        const out = new Uint16Array(count);
        readFully(fd, new Uint8Array(out.buffer), position, file);
        return out;
      }
      if (dtype === 'F16') {
        const out = new Uint16Array(count);
        readFully(fd, new Uint8Array(out.buffer), position, file);
        for (let i = 0; i < count; i++) out[i] = f32ToBf16Bits(f16BitsToF32(out[i]));
        return out;
      }
      // F32 -> bf16: narrowed in place into the first half of the read buffer, then copied out compactly (the
      // full-size buffer lives only until this returns).
      const wide = new Float32Array(count);
      readFully(fd, new Uint8Array(wide.buffer), position, file);
      const narrow = new Uint16Array(wide.buffer, 0, count);
      const bits = new Uint32Array(wide.buffer);
      for (let i = 0; i < count; i++) {
        const b = bits[i];
        narrow[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
      }
      return narrow.slice();
    } finally {
      closeSync(fd);
    }
  };
  return { shape, dtype, read };
}

/** Opens a .safetensors file: its header is parsed and checked, no tensor is read. */
export function openSafetensors(file: string): TStoredWeights {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new TrainerError('MODEL_FILES_MISSING', `Cannot open ${file}: ${(e as Error).message}`);
  }
  try {
    const { header, dataStart } = readHeader(fd, file);
    const size = fstatSync(fd).size;
    const out = new Map() as TStoredWeights;
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
      if (dataStart + end > size) throw new TrainerError('SAFETENSORS_INVALID', `${file} ends before its tensors do.`);
      out.set(name, storedTensor(file, [...entry.shape], dtype, dataStart + begin));
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Reads a .safetensors file; F32, BF16 and F16 tensors become Float32Arrays. */
export function readSafetensorsSync(file: string): TLoadedWeights {
  const stored = openSafetensors(file);
  const out = new Map() as TLoadedWeights;
  out.dtypes = new Map();
  out.metadata = stored.metadata;
  for (const [name, t] of stored) {
    out.set(name, { shape: t.shape, data: t.read('f32') as Float32Array });
    out.dtypes.set(name, t.dtype);
  }
  return out;
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

/**
 * Opens a model directory's weights without reading them: `model.safetensors`, or every shard named by
 * `model.safetensors.index.json`. Each tensor is read on demand (TStoredTensor.read), so a model is built tensor by
 * tensor, shard after shard, and never holds a shard in memory.
 */
export function openWeights(modelDir: string): TStoredWeights {
  const index = join(modelDir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    let weightMap: Record<string, string>;
    try {
      weightMap = JSON.parse(readFileSync(index, 'utf8')).weight_map;
    } catch (e) {
      throw new TrainerError('SAFETENSORS_INVALID', `${index} is not valid JSON: ${(e as Error).message}`);
    }
    const out = new Map() as TStoredWeights;
    out.metadata = {};
    for (const shard of new Set(Object.values(weightMap))) {
      for (const [k, v] of openSafetensors(join(modelDir, shard))) out.set(k, v);
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
  return openSafetensors(single);
}

/** Loads a model directory's weights as float32 (exports and tests; training opens them with openWeights). */
export function loadWeightsSync(modelDir: string): TLoadedWeights {
  const stored = openWeights(modelDir);
  const out = new Map() as TLoadedWeights;
  out.dtypes = new Map();
  out.metadata = stored.metadata;
  for (const [name, t] of stored) {
    out.set(name, { shape: t.shape, data: t.read('f32') as Float32Array });
    out.dtypes.set(name, t.dtype);
  }
  return out;
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
