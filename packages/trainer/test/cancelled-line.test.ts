import { describe, expect, it } from 'vitest';
import { cancelledLine } from '../src/train/run';

describe('the line a cancelled run ends with (issue 13, item 13)', () => {
  it('names the checkpoint that can be resumed, or says there is none', () => {
    expect(cancelledLine(7, '/out', 5)).toBe('[crucible] cancelled after step 7; checkpoint-5 in /out can be resumed');
    const none = cancelledLine(2, '/out', null);
    expect(none).toBe(
      '[crucible] cancelled after step 2; no checkpoint was saved, so a new run starts from the beginning',
    );
    expect(none).not.toMatch(/can be resumed/);
  });
});
