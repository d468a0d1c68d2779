import { describe, expect, it } from 'vitest';
import { retryEvent } from '../src/handlers/training-run.handler';

describe('events about a job going back to the queue (issue 13, item 13)', () => {
  it('promises a resume only when a checkpoint exists', () => {
    expect(retryEvent({ signal: 'SIGKILL' }, 12)).toMatchObject({
      code: 'process_killed_retry',
      params: { signal: 'SIGKILL', step: 12 },
      message: expect.stringMatching(/resumes from its checkpoint at step 12\.$/),
    });
    const none = retryEvent({ signal: 'SIGKILL' }, null);
    expect(none.code).toBe('process_killed_restart');
    expect(none.message).toMatch(/starts again from the beginning \(no checkpoint was saved yet\)/);
    expect(none.message).not.toMatch(/resume/);
    expect(retryEvent({ exitCode: 3 }, null)).toMatchObject({
      code: 'process_exited_restart',
      params: { exitCode: 3 },
    });
    expect(retryEvent({ exitCode: 3 }, 4)).toMatchObject({
      code: 'process_exited_retry',
      params: { exitCode: 3, step: 4 },
    });
  });
});
