/**
 * SFT packing as LLaMA-Factory does it (src/llamafactory/data/processor/supervised.py,
 * PackedSupervisedDatasetProcessor, and processor_utils.py greedy_knapsack; read at hiyouga/LLaMA-Factory
 * ff6d4d12, the same code since v0.9.3):
 *
 * - `packing: true` (or `neat_packing: true`, which sets it) takes one token off cutoff_len before anything is
 *   tokenised (DataArguments.__post_init__: "avoid pad_to_multiple_of"); examples are encoded with that cutoff and
 *   bins hold at most that many tokens. The default packing of `stage: pt` is set later by its parser and keeps
 *   cutoff_len whole (see dataCutoffLen in config/schema.ts).
 * - The processor runs per `datasets.map` batch of `preprocessing_batch_size` rows (default 1000) of the merged
 *   datasets, so bins never mix rows of two such chunks; rows it drops as invalid still count toward a chunk.
 * - An encoded example longer than the cutoff is dropped with a warning (it cannot be: encoding truncates to it).
 * - greedy_knapsack sorts the lengths, then fills one bin at a time, each time taking the largest length that still
 *   fits (bisect on the sorted list), until none fits; then starts the next bin.
 * - A bin's examples are taken, in the order greedy_knapsack put their lengths in, from per-length lists of example
 *   indices (ascending), each time the LAST index of that length (`length2indexes[length].pop()`).
 * - The packed row is the examples' ids and labels concatenated, padded with pad_token_id / IGNORE_INDEX to
 *   cutoff + 1 (= the cutoff_len written in the config); position_ids restart at 0 for every example; with
 *   neat_packing the attention mask numbers the examples 1, 2, ... and padding 0, so attention stays inside each
 *   example. Here a packed example keeps its examples' lengths (segments) and no padding (batches.ts collate).
 */
import type { Example } from './store';

/**
 * LLaMA-Factory's greedy_knapsack over lengths with a capacity: the bins, each the lengths in the order they went
 * in. Counting sort + a Fenwick tree over lengths finds "the largest length <= remaining capacity" in O(log L), where
 * the Python pops from a sorted list; the bins are the same because equal lengths are interchangeable.
 */
export function greedyKnapsack(lengths: ArrayLike<number>, capacity: number): number[][] {
  const cap = Math.max(0, Math.floor(capacity));
  const size = cap + 1; // lengths 0..cap; longer ones never fit (the caller drops them first)
  const count = new Int32Array(size);
  const tree = new Int32Array(size + 1); // Fenwick over count, 1-based (index = length + 1)
  const add = (len: number, d: number) => {
    for (let i = len + 1; i <= size; i += i & -i) tree[i] += d;
  };
  const prefix = (len: number) => {
    let s = 0;
    for (let i = len + 1; i > 0; i -= i & -i) s += tree[i];
    return s;
  };
  // the length holding the k-th item in ascending order (1-based k)
  const kth = (k: number) => {
    let at = 0;
    let rest = k;
    for (let step = 1 << Math.floor(Math.log2(size)); step > 0; step >>= 1) {
      const next = at + step;
      if (next <= size && tree[next] < rest) {
        at = next;
        rest -= tree[next];
      }
    }
    return at; // 0-based length
  };
  let left = 0;
  for (let i = 0; i < lengths.length; i++) {
    const len = lengths[i];
    if (!(Number.isInteger(len) && len >= 0 && len <= cap)) {
      throw new RangeError(`greedyKnapsack: length ${len} does not fit a capacity of ${cap}`);
    }
    count[len]++;
    add(len, 1);
    left++;
  }
  const bins: number[][] = [];
  while (left > 0) {
    const bin: number[] = [];
    let room = cap;
    for (;;) {
      const fitting = prefix(room); // items with length <= room
      if (fitting === 0) break;
      const len = kth(fitting);
      bin.push(len);
      count[len]--;
      add(len, -1);
      left--;
      room -= len;
    }
    bins.push(bin);
  }
  return bins;
}

/**
 * One chunk's examples packed into bins of at most `cutoff` tokens (see the file header): the example indices of
 * each bin, in LLaMA-Factory's order. Examples longer than the cutoff are left out and counted.
 */
export function packIndices(lengths: ArrayLike<number>, cutoff: number): { bins: number[][]; dropped: number[] } {
  const kept: number[] = [];
  const dropped: number[] = [];
  const byLength = new Map<number, number[]>();
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i] > cutoff) {
      dropped.push(i);
      continue;
    }
    kept.push(lengths[i]);
    const list = byLength.get(lengths[i]);
    if (list) list.push(i);
    else byLength.set(lengths[i], [i]);
  }
  const bins = greedyKnapsack(kept, cutoff).map((bin) =>
    bin.map((len) => (byLength.get(len) as number[]).pop() as number),
  );
  return { bins, dropped };
}

/** The packed examples of a chunk: each bin's ids and labels concatenated, with the examples' lengths as segments. */
export function packExamples(examples: Example[], cutoff: number, warn: (m: string) => void): Example[] {
  const { bins, dropped } = packIndices(
    examples.map((e) => e.inputIds.length),
    cutoff,
  );
  // LLaMA-Factory's warning, once per example
  for (const i of dropped) warn(`Dropped lengthy example with length ${examples[i].inputIds.length} > ${cutoff}.`);
  return bins.map((bin) => {
    const total = bin.reduce((a, i) => a + examples[i].inputIds.length, 0);
    const inputIds = new Int32Array(total);
    const labels = new Int32Array(total);
    let at = 0;
    for (const i of bin) {
      inputIds.set(examples[i].inputIds, at);
      labels.set(examples[i].labels, at);
      at += examples[i].inputIds.length;
    }
    return { inputIds, labels, segments: bin.map((i) => examples[i].inputIds.length) };
  });
}
