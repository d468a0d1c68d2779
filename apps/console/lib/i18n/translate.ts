import type en from '../../messages/en.json';

// The English catalogue is the source of truth for keys: a key missing from en.json is a type error.
export type TMessages = typeof en;

type Leaves<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string ? `${Prefix}${K}` : Leaves<T[K], `${Prefix}${K}.`>;
}[keyof T & string];

export type TMessageKey = Leaves<TMessages>;
export type TTranslate = (key: TMessageKey, vars?: Record<string, string | number>) => string;

function lookup(messages: unknown, key: string): string | undefined {
  let node: unknown = messages;
  for (const part of key.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'string' ? node : undefined;
}

/**
 * A tiny translator: dotted keys, `{name}` placeholders. Falls back to English, then to the key itself, so a
 * missing translation shows up visibly instead of crashing a page.
 */
export function createTranslator(messages: unknown, fallback?: unknown): TTranslate {
  return (key, vars) => {
    const template = lookup(messages, key) ?? (fallback ? lookup(fallback, key) : undefined) ?? key;
    if (!vars) return template;
    return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in vars ? String(vars[name]) : match));
  };
}
