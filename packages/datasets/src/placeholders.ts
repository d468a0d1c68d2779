// `{{name}}`-style placeholders, as in LLaMA-Factory's identity.json ("I am {{name}}, developed by {{author}}").
// They are found in a file and offered for replacement at import; replacing happens on the parsed row, before
// conversion, so a value can never break the JSON.

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Calls `fn` on every string inside a JSON value (keys are not visited). */
function eachString(v: unknown, fn: (s: string) => void): void {
  if (typeof v === 'string') fn(v);
  else if (Array.isArray(v)) for (const x of v) eachString(x, fn);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) eachString(x, fn);
}

/** Placeholder names in a value (a string, a row, a list of rows) with how often each occurs. */
export function findPlaceholders(value: unknown, into: Map<string, number> = new Map()): Map<string, number> {
  eachString(value, (s) => {
    if (!s.includes('{{')) return;
    for (const m of s.matchAll(PLACEHOLDER)) into.set(m[1], (into.get(m[1]) ?? 0) + 1);
  });
  return into;
}

/** A copy of `value` with every `{{key}}` of `mapping` replaced by its value; other placeholders stay. */
export function replacePlaceholders<T>(value: T, mapping: Readonly<Record<string, string>>): T {
  if (typeof value === 'string') {
    if (!value.includes('{{')) return value;
    return value.replace(PLACEHOLDER, (whole, name: string) =>
      Object.hasOwn(mapping, name) ? mapping[name] : whole,
    ) as T;
  }
  if (Array.isArray(value)) return value.map((x) => replacePlaceholders(x, mapping)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) out[k] = replacePlaceholders(x, mapping);
    return out as T;
  }
  return value;
}
