import { compileJsonSchema } from '@crucible/jobs';
import { describe, expect, it } from 'vitest';
import {
  createScorer,
  exactMatch,
  jsonValidity,
  judgeSchema,
  parseJudgeReply,
  stringCheck,
} from '../src/evaluation/scoring';

describe('a judge reply is parsed however it comes', () => {
  it.each([
    ['{"score": 7, "reason": "Mostly right."}', 7, 'Mostly right.'],
    ['Sure!\n```json\n{"score": "8", "reason": "Good"}\n```', 8, 'Good'],
    // cut short by max tokens: the score came first
    ['{"score":9,\n\t"reason":"half a sente', 9, 'half a sente'],
    ['Score: 6/10. The answer misses the name.', 6, 'Score: 6/10. The answer misses the name.'],
    ['I would give it 4 / 10', 4, 'I would give it 4 / 10'],
    ['3', 3, '3'],
  ])('%j -> %d', (text, score, reason) => {
    expect(parseJudgeReply(text, [1, 10])).toEqual({ score, reason });
  });

  it('gives no score outside the range, and none when there is no number', () => {
    expect(parseJudgeReply('{"score": 11, "reason": "x"}', [1, 10]).score).toBeNull();
    expect(parseJudgeReply('{"score": 0, "reason": "x"}', [1, 10]).score).toBeNull();
    expect(parseJudgeReply('no idea', [1, 10])).toEqual({ score: null, reason: 'no idea' });
    expect(parseJudgeReply('{"score": 0.25, "reason": "ok"}', [0, 1]).score).toBe(0.25);
  });

  it('holds the reply to a grammar: integer scores as an enum, the score first', () => {
    expect(judgeSchema([1, 10])).toMatchObject({
      properties: { score: { enum: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }, reason: { type: 'string' } },
    });
    expect(Object.keys((judgeSchema([0, 1.5]) as { properties: object }).properties)).toEqual(['score', 'reason']);
    expect(judgeSchema([0, 1.5])).toMatchObject({ properties: { score: { type: 'number' } } });
  });
});

describe('rule metrics', () => {
  it('exact match compares trimmed text, 100 or 0', () => {
    expect(exactMatch(' Paris\n', 'Paris')).toBe(100);
    expect(exactMatch('paris', 'Paris')).toBe(0);
  });

  it('JSON validity: parsed (one fenced block allowed) and checked against the schema by ajv', () => {
    const validate = compileJsonSchema({
      type: 'object',
      properties: { city: { type: 'string' }, n: { type: 'integer', minimum: 1 } },
      required: ['city'],
    });
    expect(jsonValidity(validate, '{"city": "Paris", "n": 2}')).toEqual({ score: 100, error: null });
    expect(jsonValidity(validate, '```json\n{"city": "Paris"}\n```')).toEqual({ score: 100, error: null });
    expect(jsonValidity(validate, '{"n": 0}')).toMatchObject({ score: 0, error: expect.stringContaining('city') });
    expect(jsonValidity(validate, '{"city": "x", "n": 0}')).toMatchObject({ score: 0, error: '/n must be >= 1' });
    expect(jsonValidity(validate, 'Paris')).toMatchObject({ score: 0, error: expect.stringMatching(/^not JSON/) });
    expect(() => compileJsonSchema({ type: 'no-such-type' })).toThrow();
  });

  it("string_check as OpenAI's grader: eq, ne, like (contains), ilike (contains, any case)", () => {
    expect(stringCheck('eq', 'a', 'a')).toBe(1);
    expect(stringCheck('ne', 'a', 'a')).toBe(0);
    expect(stringCheck('like', 'The Paris metro', 'Paris')).toBe(1);
    expect(stringCheck('like', 'The paris metro', 'Paris')).toBe(0);
    expect(stringCheck('ilike', 'The paris metro', 'PARIS')).toBe(1);
  });
});

describe('createScorer', () => {
  it('fills grader templates from the item and the answer, and asks the judge once per judged criterion', async () => {
    const asked: string[] = [];
    const score = createScorer(
      [
        { type: 'exact_match' },
        {
          type: 'string_check',
          name: 'has-city',
          input: '{{sample.output_text}}',
          reference: '{{item.city}}',
          operation: 'ilike',
        },
        { type: 'judge', deploymentId: 'd1', rubric: 'Be strict.' },
        {
          type: 'score_model',
          name: 'grader',
          deploymentId: 'd1',
          input: [{ role: 'user', content: 'Rate {{sample.output_text}} for {{item.city}}' }],
          range: [0, 1],
          passThreshold: 0.5,
        },
      ],
      async (judge, messages) => {
        asked.push(`${judge.key}: ${messages.at(-1)?.content}`);
        return judge.key === 'judge'
          ? { text: '{"score": 8, "reason": "fine"}' }
          : { error: 'context_length_exceeded: too long' };
      },
    );
    const out = await score({
      messages: [{ role: 'user', content: 'Where?' }],
      label: 'paris',
      item: { city: 'Paris' },
      answer: 'paris',
    });
    expect(out.scores).toEqual({ exact_match: 100, 'has-city': 1, judge: 8, grader: null });
    expect(out.details).toMatchObject({
      judge_reason: 'fine',
      grader_reason: 'context_length_exceeded: too long',
      graders: { 'has-city': { passed: true }, grader: { passed: false } },
    });
    expect(asked).toEqual([
      'judge: Conversation:\nuser: Where?\n\nReference answer:\nparis\n\nAnswer to score:\nparis',
      'grader-grader: Rate paris for Paris',
    ]);
  });
});
