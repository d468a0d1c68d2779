/**
 * Tokenised examples in typed arrays: token ids in Int32Array segments, a one-byte "has a label" flag per token,
 * and per-example offsets. LLaMA-Factory's SFT and PT processors only ever label a token with its own id or with
 * IGNORE_INDEX, so the flag is the whole label: 5 bytes a token, where JS arrays of numbers cost 16 and more. A
 * 2 GB JSONL (about 500M tokens) tokenises into about 2.5 GB; the rows and their text are never all in memory.
 *
 * Segments are fixed-size and an example never straddles two, so nothing is ever copied to grow, and no single
 * typed array approaches its length limit.
 */
import { TrainerError } from '../io/errors';

export const IGNORE = -100;

/**
 * One example: views into the store (inputIds) or plain arrays (tests); labels[t] is inputIds[t] or -100.
 * segments: a packed example's sub-sequence lengths (summing to its length), in order; absent for one sequence.
 */
export type Example = { inputIds: ArrayLike<number>; labels: ArrayLike<number>; segments?: ArrayLike<number> };

/** What the training loop reads examples through: an array of examples satisfies it, and so does a store's list. */
export type ExampleSource = { readonly length: number; at(i: number): Example | undefined };

/** An example read from a store: a view of its ids, its labels rebuilt from the flags, a packed one's segments. */
export type StoredExample = { inputIds: Int32Array; labels: Int32Array; segments?: Int32Array };

/** A list of examples from a store: random access, iteration, and a cheap labelled-token count. */
export type ExampleList = {
  readonly length: number;
  at(i: number): StoredExample;
  [Symbol.iterator](): Iterator<StoredExample>;
  /** Labelled tokens after the causal shift (Transformers' num_items_in_batch counts labels[..., 1:]). */
  labelled(i: number): number;
  /** The same store's examples at these positions of this list. */
  select(positions: ArrayLike<number>): ExampleList;
};

const SEGMENT = 1 << 24; // tokens per segment (64 MB of ids)

export type ExampleStore = {
  push(ex: Example): void;
  readonly length: number;
  readonly tokens: number;
  /** Every example, in push order. */
  all(): ExampleList;
};

export function createExampleStore(): ExampleStore {
  const ids: Int32Array[] = [];
  const flags: Uint8Array[] = [];
  let used = SEGMENT; // tokens used in the last segment (forces a first segment)
  // per example: segment, start, length, labelled count
  let seg = new Int32Array(1024);
  let start = new Int32Array(1024);
  let len = new Int32Array(1024);
  let lab = new Int32Array(1024);
  // packed examples (sft packing): per example the offset of its segment lengths in segLens and their count (0: one
  // sequence, nothing stored)
  let segOff = new Int32Array(1024);
  let segCount = new Int32Array(1024);
  let segLens = new Int32Array(1024);
  let segUsed = 0;
  let n = 0;
  let tokens = 0;

  const grow = () => {
    const g = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    seg = g(seg);
    start = g(start);
    len = g(len);
    lab = g(lab);
    segOff = g(segOff);
    segCount = g(segCount);
  };

  const push: ExampleStore['push'] = (ex) => {
    const L = ex.inputIds.length;
    if (ex.labels.length !== L) throw new TrainerError('DATASET_INVALID', 'an example has labels of another length');
    if (used + L > (ids.at(-1)?.length ?? 0)) {
      const size = Math.max(SEGMENT, L);
      ids.push(new Int32Array(size));
      flags.push(new Uint8Array(size));
      used = 0;
    }
    const s = ids.length - 1;
    const I = ids[s];
    const F = flags[s];
    let labelled = 0;
    for (let t = 0; t < L; t++) {
      const id = ex.inputIds[t];
      const y = ex.labels[t];
      I[used + t] = id;
      if (y === IGNORE) F[used + t] = 0;
      else if (y === id) {
        F[used + t] = 1;
        if (t > 0) labelled++;
      } else {
        throw new TrainerError('DATASET_INVALID', `label ${y} at position ${t} is neither -100 nor its token ${id}`);
      }
    }
    const parts = ex.segments;
    let total = 0;
    if (parts) for (let i = 0; i < parts.length; i++) total += parts[i];
    if (parts && (total !== L || parts.length === 0)) {
      throw new TrainerError('DATASET_INVALID', `a packed example's segments sum to ${total}, its length is ${L}`);
    }
    if (n === seg.length) grow();
    seg[n] = s;
    start[n] = used;
    len[n] = L;
    lab[n] = labelled;
    segOff[n] = segUsed;
    segCount[n] = parts ? parts.length : 0;
    if (parts) {
      while (segUsed + parts.length > segLens.length) {
        const b = new Int32Array(segLens.length * 2);
        b.set(segLens);
        segLens = b;
      }
      for (let i = 0; i < parts.length; i++) segLens[segUsed++] = parts[i];
    }
    n++;
    used += L;
    tokens += L;
  };

  const example = (k: number): StoredExample => {
    const I = ids[seg[k]];
    const F = flags[seg[k]];
    const o = start[k];
    const L = len[k];
    const inputIds = I.subarray(o, o + L);
    const labels = new Int32Array(L);
    for (let t = 0; t < L; t++) labels[t] = F[o + t] ? inputIds[t] : IGNORE;
    if (segCount[k] === 0) return { inputIds, labels };
    return { inputIds, labels, segments: segLens.slice(segOff[k], segOff[k] + segCount[k]) };
  };

  const list = (index: Int32Array | null): ExampleList => {
    const count = index ? index.length : n;
    const at = (i: number): StoredExample => {
      if (!(i >= 0 && i < count)) throw new RangeError(`example ${i} of ${count}`);
      return example(index ? index[i] : i);
    };
    return {
      length: count,
      at,
      labelled: (i) => lab[index ? index[i] : i],
      select: (positions) => list(Int32Array.from(positions, (p) => (index ? index[p] : p))),
      *[Symbol.iterator]() {
        for (let i = 0; i < count; i++) yield at(i);
      },
    };
  };

  return {
    push,
    get length() {
      return n;
    },
    get tokens() {
      return tokens;
    },
    all: () => list(null),
  };
}

/** Labelled tokens after the shift of any example source (the list's own count when it has one). */
export function labelledOf(src: ExampleSource, i: number): number {
  const l = (src as Partial<ExampleList>).labelled;
  if (l) return l(i);
  const ex = src.at(i) as Example;
  let c = 0;
  for (let t = 1; t < ex.labels.length; t++) if (ex.labels[t] !== IGNORE) c++;
  return c;
}
