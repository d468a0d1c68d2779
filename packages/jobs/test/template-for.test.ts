import { describe, expect, it } from 'vitest';
import { templateFor } from '../src/train-config';

describe('templateFor', () => {
  it("names LLaMA-Factory's template for each supported architecture", () => {
    expect(['qwen2', 'qwen3', 'llama', 'mistral', 'gemma2', 'gemma3', 'gpt2'].map(templateFor)).toEqual([
      'qwen',
      'qwen3',
      'llama3',
      'mistral',
      'gemma',
      'gemma',
      undefined,
    ]);
  });
});
