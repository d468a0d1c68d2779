import { describe, expect, it } from 'vitest';
import { englishWords } from '../e2e/english';

// The zh-CN browser test (e2e/zh-cn-pages.test.ts) fails on what englishWords() finds; these cases show it can fail
// on the strings issue 13 (item 11) names, and passes Chinese text with identifiers, numbers and allowed names.
describe('englishWords', () => {
  it('finds English words, also inside hyphenated units and beside Chinese text', () => {
    const words = (text: string) => englishWords(text).map((w) => w.split(' ')[0]);
    expect(words('Step 3/10, loss 1.2345, lr 5.00e-5')).toEqual(['Step', 'loss', 'lr']);
    expect(words('价格表 Default 实例默认')).toEqual(['Default']);
    expect(words('0.003 USD / 1K tokens')).toEqual(['tokens']);
    expect(words('2.5 × GB-month')).toEqual(['month']);
    expect(words('运行时长 3 h 12 min')).toEqual(['min']);
    expect(words('batchSize 4')).toEqual(['batchSize']);
    expect(words('Cancel requested.')).toEqual(['Cancel', 'requested']);
    expect(words('角色不是“system”或 user')).toEqual(['user']);
    expect(words('部署\tTOKEN 数\tlocal')).toEqual(['local']);
  });

  it('passes Chinese text with identifiers, numbers, addresses and allowed names', () => {
    const text = [
      '训练 Token 数 1,234',
      '模型 ft:qwen2-tiny:zh-1:identity:abcd1234 已可使用',
      '第 2 行，字段 messages[0].role',
      'LoRA 目标模块 全部',
      'user+1@example.com · p50 / p95',
      '一键使用 LoRA 微调 Qwen 和 Llama（LLaMA-Factory）',
    ].join('\n');
    expect(englishWords(text)).toEqual([]);
  });
});
