import { describe, expect, it } from 'vitest';
import { matchAcceptLanguage } from '../lib/i18n/config';
import { createTranslator } from '../lib/i18n/translate';
import en from '../messages/en.json';
import zhCN from '../messages/zh-CN.json';

function flatten(node: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (typeof value === 'string') out.set(prefix + key, value);
    else for (const [k, v] of flatten(value, `${prefix}${key}.`)) out.set(k, v);
  }
  return out;
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

// Strings that are legitimately the same in both languages (or hold no words): the product name, an address example,
// language names, a quantity format and a list separator.
const SAME_IN_BOTH = new Set([
  'meta.title',
  'common.appName',
  'auth.emailPlaceholder',
  'locales.en',
  'locales.zh-CN',
  'units.quantity',
  'jobEvents.progressSeparator',
  'validation.field',
]);

describe('message catalogues', () => {
  const english = flatten(en);
  const chinese = flatten(zhCN);

  it('zh-CN has exactly the keys of en (no missing, no stale)', () => {
    expect([...chinese.keys()].sort()).toEqual([...english.keys()].sort());
  });

  it('every message is a non-empty string with the same placeholders in both languages', () => {
    for (const [key, text] of english) {
      const zh = chinese.get(key) ?? '';
      expect(text.trim(), key).not.toBe('');
      expect(zh.trim(), key).not.toBe('');
      expect(placeholders(zh), key).toEqual(placeholders(text));
    }
  });

  it('zh-CN is translated, not copied: every message differs from English and contains Chinese', () => {
    for (const [key, text] of english) {
      if (SAME_IN_BOTH.has(key)) continue;
      const zh = chinese.get(key) ?? '';
      expect(zh, key).not.toBe(text);
      expect(/[\u4e00-\u9fff]/.test(zh), `${key}: ${zh}`).toBe(true);
    }
  });
});

describe('createTranslator', () => {
  it('looks up dotted keys and fills placeholders', () => {
    const t = createTranslator(en);
    expect(t('nav.datasets')).toBe('Datasets');
    expect(t('settings.members.removeTitle', { name: 'Ada' })).toBe('Remove Ada?');
  });

  it('falls back to English, then to the key, instead of crashing', () => {
    const t = createTranslator({ nav: {} }, en);
    expect(t('nav.datasets')).toBe('Datasets');
    const bare = createTranslator({});
    expect(bare('nav.datasets')).toBe('nav.datasets');
  });

  it('leaves unknown placeholders visible', () => {
    const t = createTranslator({ a: 'Hello {name} {other}' });
    expect(t('a' as never, { name: 'Ada' })).toBe('Hello Ada {other}');
  });
});

describe('matchAcceptLanguage', () => {
  it.each([
    ['zh-CN,zh;q=0.9,en;q=0.8', 'zh-CN'],
    ['zh-TW', 'zh-CN'],
    ['zh', 'zh-CN'],
    ['en-US,en;q=0.9', 'en'],
    ['fr-FR,zh;q=0.5,en;q=0.4', 'zh-CN'],
    ['fr-FR,en;q=0.5,zh;q=0.4', 'en'],
    ['de-DE', 'en'],
    ['', 'en'],
    [null, 'en'],
    ['zh;q=0,en', 'en'],
  ])('%s -> %s', (header, expected) => {
    expect(matchAcceptLanguage(header)).toBe(expected);
  });
});
