import { closeSync, openSync, writeSync } from 'node:fs';
import { f32ToF16Bits } from '../io/dtype';

// GGUF v3, as ggml/docs/gguf.md specifies and llama.cpp's gguf-py writes it: header, key/values, tensor infos,
// padding to `general.alignment` (32), then each tensor's data at a 32-byte aligned offset. Little-endian.

export const GGUF_ALIGNMENT = 32;

export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export const GgmlType = { F32: 0, F16: 1, Q8_0: 8 } as const;
export type TGgmlTypeName = keyof typeof GgmlType;

export type TGgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: string[] }
  | { type: 'i32[]'; value: number[] }
  | { type: 'f32[]'; value: number[] };

/** One tensor to write: `shape` in PyTorch order (rows first); GGUF stores the reverse (ne[0] = row length). */
export type TGgufTensor = { name: string; shape: number[]; data: Float32Array; type: TGgmlTypeName };

class ByteSink {
  private chunks: Buffer[] = [];
  private cur = Buffer.alloc(1 << 20);
  private pos = 0;
  length = 0;
  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = Buffer.alloc(Math.max(1 << 20, n));
    this.pos = 0;
  }
  u32(v: number): void {
    this.room(4);
    this.cur.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  i32(v: number): void {
    this.room(4);
    this.cur.writeInt32LE(v, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  u64(v: number): void {
    this.room(8);
    this.cur.writeBigUInt64LE(BigInt(v), this.pos);
    this.pos += 8;
    this.length += 8;
  }
  f32(v: number): void {
    this.room(4);
    this.cur.writeFloatLE(v, this.pos);
    this.pos += 4;
    this.length += 4;
  }
  u8(v: number): void {
    this.room(1);
    this.cur[this.pos++] = v;
    this.length += 1;
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.room(b.length);
    b.copy(this.cur, this.pos);
    this.pos += b.length;
    this.length += b.length;
  }
  zeros(n: number): void {
    this.room(n);
    this.cur.fill(0, this.pos, this.pos + n);
    this.pos += n;
    this.length += n;
  }
  buffer(): Buffer {
    return Buffer.concat([...this.chunks, this.cur.subarray(0, this.pos)]);
  }
}

function writeValue(s: ByteSink, v: TGgufValue): void {
  switch (v.type) {
    case 'u32':
      s.u32(GgufType.UINT32);
      s.u32(v.value);
      return;
    case 'i32':
      s.u32(GgufType.INT32);
      s.i32(v.value);
      return;
    case 'f32':
      s.u32(GgufType.FLOAT32);
      s.f32(v.value);
      return;
    case 'bool':
      s.u32(GgufType.BOOL);
      s.u8(v.value ? 1 : 0);
      return;
    case 'string':
      s.u32(GgufType.STRING);
      s.str(v.value);
      return;
    case 'string[]':
      s.u32(GgufType.ARRAY);
      s.u32(GgufType.STRING);
      s.u64(v.value.length);
      for (const x of v.value) s.str(x);
      return;
    case 'i32[]':
      s.u32(GgufType.ARRAY);
      s.u32(GgufType.INT32);
      s.u64(v.value.length);
      for (const x of v.value) s.i32(x);
      return;
    case 'f32[]':
      s.u32(GgufType.ARRAY);
      s.u32(GgufType.FLOAT32);
      s.u64(v.value.length);
      for (const x of v.value) s.f32(x);
      return;
  }
}

export function tensorBytes(t: TGgufTensor): number {
  const n = t.data.length;
  if (t.type === 'F32') return n * 4;
  if (t.type === 'F16') return n * 2;
  return (n / 32) * 34;
}

/** llama.cpp's quantize_row_q8_0_ref: blocks of 32 along a row, f16 scale amax/127, int8 = roundf(x / scale). */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new Error('Q8_0 needs a multiple of 32 values');
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    const d = amax / 127;
    const id = d !== 0 ? 1 / d : 0;
    dv.setUint16(b * 34, f32ToF16Bits(d), true);
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j] * Math.fround(id);
      // C roundf: halves away from zero
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
      dv.setInt8(b * 34 + 2 + j, q);
    }
  }
  return out;
}

function encodeTensor(t: TGgufTensor): Uint8Array {
  if (t.type === 'F32') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (t.type === 'F16') {
    const h = new Uint16Array(t.data.length);
    for (let i = 0; i < h.length; i++) h[i] = f32ToF16Bits(t.data[i]);
    return new Uint8Array(h.buffer);
  }
  return quantizeQ8_0(t.data);
}

const align = (n: number) => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;

/** Writes a GGUF v3 file. Key/value order is kept (general.architecture first, as llama.cpp expects to find it). */
export function writeGguf(file: string, kv: [string, TGgufValue][], tensors: TGgufTensor[]): void {
  const h = new ByteSink();
  h.u32(0x46554747); // "GGUF"
  h.u32(3);
  h.u64(tensors.length);
  h.u64(kv.length);
  for (const [k, v] of kv) {
    h.str(k);
    writeValue(h, v);
  }
  let offset = 0;
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) h.u64(d);
    h.u32(GgmlType[t.type]);
    h.u64(offset);
    offset = align(offset + tensorBytes(t));
  }
  h.zeros(align(h.length) - h.length);
  const fd = openSync(file, 'w');
  try {
    const head = h.buffer();
    writeSync(fd, head);
    let pos = 0;
    const pad = Buffer.alloc(GGUF_ALIGNMENT);
    for (const t of tensors) {
      const bytes = encodeTensor(t);
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
      pos += bytes.length;
      const p = align(pos) - pos;
      if (p > 0) writeSync(fd, pad, 0, p);
      pos += p;
    }
  } finally {
    closeSync(fd);
  }
}
