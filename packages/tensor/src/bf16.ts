/**
 * bfloat16 storage helpers: a bf16 value is the upper 16 bits of a float32. Rounding is to nearest even (like
 * torch's .to(torch.bfloat16)); NaN stays NaN. The native addon rounds activations with the same rule.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16Round(x: number): number {
  return bf16ToF32(f32ToBf16(x));
}

export function f32ToBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16ToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** Converts a float32 array (e.g. a frozen weight) to bf16 bits; writes into dst when given. */
export function toBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToBf16(src[i]);
  return dst;
}

/** Widens bf16 bits back to float32. */
export function fromBf16(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  for (let i = 0; i < src.length; i++) dst[i] = bf16ToF32(src[i]);
  return dst;
}
