import { describe, expect, it } from 'vitest';
import { binLabel } from '@/components/datasets/histogram';
import en from '@/messages/en.json';

describe('wording of counts and ranges (issue 13, item 13)', () => {
  it('labels histogram bins as inclusive token ranges, a single value alone ("95", never "95–95")', () => {
    expect(binLabel({ from: 95, to: 95 }, true)).toBe('95');
    expect(binLabel({ from: 90, to: 95 }, false)).toBe('90–94');
    expect(binLabel({ from: 90, to: 97 }, true)).toBe('90–97');
    expect(binLabel({ from: 3, to: 4 }, false)).toBe('3');
  });

  it('never says "1 times"', () => {
    const text = en.datasets.occurrences.replace('{count}', '1');
    expect(text).not.toMatch(/\b1 times\b/);
  });
});
