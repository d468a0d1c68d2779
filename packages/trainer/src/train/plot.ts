/**
 * `plot_loss`: LLaMA-Factory's training_loss.png (the raw curve faint, the smoothed curve strong) drawn into an RGB
 * raster and encoded as PNG with node:zlib, so no image library or font is needed. Axis ticks carry numbers from a
 * 3x5 pixel font.
 */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

/** LLaMA-Factory extras/ploting.py smooth(): an EMA whose weight grows with the number of points. */
export function smooth(values: number[]): number[] {
  if (values.length === 0) return [];
  const weight = 1.8 * (1 / (1 + Math.exp(-0.05 * values.length)) - 0.5);
  const out: number[] = [];
  let last = values[0];
  for (const v of values) {
    last = last * weight + (1 - weight) * v;
    out.push(last);
  }
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** PNG bytes of an RGB image (8-bit, no filter). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0;
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

// 3x5 glyphs, rows top to bottom, 3 bits each (MSB = left).
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 1, 1],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
  '-': [0, 0, 7, 0, 0],
  e: [0, 7, 7, 4, 7],
};

type Color = [number, number, number];

export function lossChartPng(
  series: { points: { x: number; y: number }[]; color: Color; faint?: Color }[],
  width = 640,
  height = 400,
): Buffer {
  const img = new Uint8Array(width * height * 3).fill(255);
  const set = (x: number, y: number, c: Color) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (Math.round(y) * width + Math.round(x)) * 3;
    img[i] = c[0];
    img[i + 1] = c[1];
    img[i + 2] = c[2];
  };
  const line = (x0: number, y0: number, x1: number, y1: number, c: Color) => {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) set(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c);
  };
  const text = (s: string, x: number, y: number, scale = 2) => {
    let cx = x;
    for (const ch of s) {
      const g = GLYPHS[ch];
      if (g)
        for (let r = 0; r < 5; r++)
          for (let col = 0; col < 3; col++) {
            if ((g[r] >> (2 - col)) & 1)
              for (let a = 0; a < scale; a++)
                for (let b = 0; b < scale; b++) set(cx + col * scale + a, y + r * scale + b, [40, 40, 40]);
          }
      cx += 4 * scale;
    }
  };
  const L = 70,
    R = width - 20,
    T = 20,
    B = height - 40;
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (all.length > 0) {
    let [x0, x1] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
    let [y0, y1] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
    const px = (x: number) => L + ((x - x0) / (x1 - x0)) * (R - L);
    const py = (y: number) => B - ((y - y0) / (y1 - y0)) * (B - T);
    for (let i = 0; i <= 4; i++) {
      const yv = y0 + ((y1 - y0) * i) / 4;
      line(L, py(yv), R, py(yv), [230, 230, 230]);
      line(L - 4, py(yv), L, py(yv), [40, 40, 40]);
      text(yv.toFixed(2), 4, py(yv) - 5);
      const xv = x0 + ((x1 - x0) * i) / 4;
      line(px(xv), B, px(xv), B + 4, [40, 40, 40]);
      text(String(Math.round(xv)), px(xv) - 8, B + 10);
    }
    line(L, T, L, B, [40, 40, 40]);
    line(L, B, R, B, [40, 40, 40]);
    for (const s of series) {
      const pts = s.points.filter((p) => Number.isFinite(p.y));
      const draw = (ys: number[], c: Color) => {
        for (let i = 1; i < pts.length; i++) line(px(pts[i - 1].x), py(ys[i - 1]), px(pts[i].x), py(ys[i]), c);
        if (pts.length === 1) set(px(pts[0].x), py(ys[0]), c);
      };
      if (s.faint)
        draw(
          pts.map((p) => p.y),
          s.faint,
        );
      draw(s.faint ? smooth(pts.map((p) => p.y)) : pts.map((p) => p.y), s.color);
    }
  }
  return encodePng(width, height, img);
}

/** training_loss.png: the logged step losses, raw (faint) and smoothed, as LLaMA-Factory's plot_loss draws them. */
export function writeLossPlot(path: string, points: { step: number; loss: number }[]): void {
  const pts = points.map((p) => ({ x: p.step, y: p.loss }));
  writeFileSync(path, lossChartPng([{ points: pts, color: [31, 119, 180], faint: [174, 199, 232] }]));
}
