import { describe, expect, it } from 'vitest';
import { resumeClause } from '../src/handlers/training-run.handler';

describe('events about a job going back to the queue (issue 13, item 13)', () => {
  it('promises a resume only when a checkpoint exists', () => {
    expect(resumeClause(12)).toBe('resumes from its checkpoint at step 12');
    expect(resumeClause(null)).toBe('starts again from the beginning (no checkpoint was saved yet)');
    expect(resumeClause(null)).not.toMatch(/resume/);
  });
});
