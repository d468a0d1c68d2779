import { createHash } from 'node:crypto';

// Duplicate detection over millions of rows: a JS Set of numbers costs ~40 bytes an entry (a heap number plus the
// table slot); this open-addressing table of 52-bit hashes in a Float64Array costs 8-16 bytes an entry and grows
// with the data. Two different rows share a 52-bit hash with probability ~n²/2^53 (1e-4 at a million rows).

/** A 52-bit row hash (an exact double). */
export function rowHash(text: string): number {
  const h = createHash('sha1').update(text).digest();
  return h.readUIntBE(0, 6) * 16 + (h[6] >> 4);
}

export function createHashSet() {
  let slots = new Float64Array(1 << 12); // 0 = empty; hashes are stored + 1
  let size = 0;
  const place = (table: Float64Array, v: number): boolean => {
    const mask = table.length - 1;
    let i = (v % 0x40000000) & mask;
    while (table[i] !== 0) {
      if (table[i] === v) return false;
      i = (i + 1) & mask;
    }
    table[i] = v;
    return true;
  };
  return {
    get size() {
      return size;
    },
    /** Adds a hash; false when it was already there. */
    add(hash: number): boolean {
      if ((size + 1) * 2 > slots.length) {
        const bigger = new Float64Array(slots.length * 2);
        for (const v of slots) if (v !== 0) place(bigger, v);
        slots = bigger;
      }
      const added = place(slots, hash + 1);
      if (added) size++;
      return added;
    },
    has(hash: number): boolean {
      const v = hash + 1;
      const mask = slots.length - 1;
      let i = (v % 0x40000000) & mask;
      while (slots[i] !== 0) {
        if (slots[i] === v) return true;
        i = (i + 1) & mask;
      }
      return false;
    },
  };
}
