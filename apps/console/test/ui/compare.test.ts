import { describe, expect, it } from 'vitest';
import type { TChatModel } from '@/components/playground/chat-pane';
import { comparePartner } from '@/components/playground/compare';

const models: TChatModel[] = [
  { id: 'ft:support-v2', name: 'support v2', kind: 'fine_tuned', deployed: false, base: 'qwen-0.5b' },
  { id: 'ft:other', name: 'other', kind: 'fine_tuned', deployed: true, base: 'llama-1b' },
  { id: 'llama-1b', name: 'Llama 1B', kind: 'base', deployed: true },
  { id: 'qwen-0.5b', name: 'Qwen 0.5B', kind: 'base', deployed: false },
];

describe('playground compare (issue 13, item 13)', () => {
  it('pairs a fine-tune with its own base model, even when another model is deployed', () => {
    expect(comparePartner(models, 'ft:support-v2')).toBe('qwen-0.5b');
    expect(comparePartner(models, 'ft:other')).toBe('llama-1b');
  });

  it('pairs a base model with its newest fine-tune', () => {
    expect(comparePartner(models, 'qwen-0.5b')).toBe('ft:support-v2');
    expect(comparePartner(models, 'llama-1b')).toBe('ft:other');
  });

  it('falls back to a model of the other kind, then any other, when there is no pair', () => {
    const lone: TChatModel[] = [
      { id: 'base-a', name: 'a', kind: 'base', deployed: false },
      { id: 'base-b', name: 'b', kind: 'base', deployed: true },
    ];
    expect(comparePartner(lone, 'base-a')).toBe('base-b');
    expect(comparePartner([lone[0]], 'base-a')).toBe('base-a');
    expect(comparePartner([], '')).toBe('');
  });
});
