/**
 * The few Python and NumPy behaviours the metrics depend on, so that the numbers equal LLaMA-Factory's bit for bit:
 * str.split()/rstrip() whitespace, round(x, n), math.fsum and np.mean's pairwise summation.
 */

// The characters for which Python's str.isspace() is true (also what `\s` matches in a Python str regex):
// unlike JavaScript's \s it includes \x1c-\x1f and \x85 and excludes \ufeff.
export const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'u');
const TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`, 'u');

/** Python's `s.split()`: runs of whitespace separate, no empty strings. */
export function pySplit(s: string): string[] {
  return s.split(SPACE_RUN).filter((w) => w.length > 0);
}

/** Python's `s.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(TRAILING_SPACE, '');
}

/**
 * Python's round(x, digits) for a float: the exact binary value rounded to `digits` decimals, ties to even, read back
 * as the nearest double. toFixed rounds the exact value too but sends ties up; an exact tie at 4 decimals needs
 * x * 10^4 = k + 1/2, so x = j / 32 for odd j (for `digits` d: x * 2^(d+1) odd), which is checked exactly.
 */
export function pyRound(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const scaled = x * 2 ** (digits + 1); // exact: a power of two
  if (Number.isInteger(scaled) && Math.abs(scaled) % 2 === 1) {
    // x * 10^d is exactly (odd integer) * 5^d / 2: the two candidates are floor and ceil; Python keeps the even one.
    const tenth = (scaled * 5 ** digits) / 2; // exact while |x| * 10^d < 2^52
    const lo = Math.floor(tenth);
    const k = lo % 2 === 0 ? lo : lo + 1;
    return Number(`${k}e-${digits}`);
  }
  return Number(x.toFixed(digits));
}

/** Python's math.fsum: the correctly rounded sum (Shewchuk's partials, as CPython's msum). */
export function fsum(xs: number[]): number {
  const partials: number[] = [];
  for (const value of xs) {
    let x = value;
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j];
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // Round half to even across the partials that were not added (CPython's correction).
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

/** NumPy's pairwise summation of a float64 array (blocks of 128, eight accumulators), as np.add.reduce does it. */
function pairwiseSum(a: number[], start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = a.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** float(np.mean(values)) for a list of Python floats: 0.0 + pairwise sum, divided by the count (NaN when empty). */
export function npMean(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  return (0 + pairwiseSum(values, 0, values.length)) / values.length;
}
