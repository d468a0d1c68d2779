import type { THistogramBin } from '@crucible/datasets';

/**
 * A histogram bar's label, in whole tokens. Bins are [from, to) except the last, which includes `to`
 * (packages/datasets stats.ts); the label showed `${from}–${to}`, so a one-value last bin read "95–95" and every
 * other bar overlapped its neighbour ("90–95", "95–100"). Now: "90–94", and a single value alone: "95".
 */
export function binLabel(bin: Pick<THistogramBin, 'from' | 'to'>, last: boolean): string {
  const upper = last ? bin.to : bin.to - 1;
  return upper <= bin.from ? `${bin.from}` : `${bin.from}–${upper}`;
}
