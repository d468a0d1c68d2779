import { describe, expect, it } from 'vitest';
import { binLabel } from '@/components/datasets/histogram';
import { evaluationModelLabel } from '@/components/evaluations/api';
import { createTranslator } from '@/lib/i18n/translate';
import en from '@/messages/en.json';
import zh from '@/messages/zh-CN.json';

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

describe('evaluation model names (issue 16)', () => {
  const ck = { kind: 'checkpoint' as const, displayName: 'ft:qwen:acme:bot:1a2b3c4d · step 1200' };
  it("say a checkpoint's step in the page's language, from the API's English displayName", () => {
    expect(evaluationModelLabel(ck, createTranslator(en), 'en-US')).toBe('ft:qwen:acme:bot:1a2b3c4d · step 1,200');
    expect(evaluationModelLabel(ck, createTranslator(zh, en), 'zh-CN')).toBe('ft:qwen:acme:bot:1a2b3c4d · 第 1,200 步');
    // Rating pairs carry no kind: the server's suffix tells a checkpoint.
    expect(evaluationModelLabel({ displayName: ck.displayName }, createTranslator(zh, en), 'zh-CN')).toContain('第');
  });
  it('leave other models as named, even a fine-tune whose name ends like a checkpoint', () => {
    const t = createTranslator(zh, en);
    expect(evaluationModelLabel({ kind: 'base', displayName: 'Qwen2.5-0.5B' }, t, 'zh-CN')).toBe('Qwen2.5-0.5B');
    expect(evaluationModelLabel({ kind: 'fine_tuned', displayName: 'bot · step 3' }, t, 'zh-CN')).toBe('bot · step 3');
  });
});
