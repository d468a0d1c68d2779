/**
 * Only same-site paths are followed after sign-in. "//evil.example" is a protocol-relative URL, and browsers read a
 * backslash as a slash and drop tabs and newlines, so "/\evil.example" and "/\t/evil.example" lead off-site too
 * (issue 17: an open redirect). The target is resolved the way a browser would, against this site, and followed only
 * when it stays here; what is followed is the resolved path, never the raw text.
 */
const HERE = 'https://console.invalid';

export function safeNext(next: string | null | undefined, fallback = '/'): string {
  if (!next || !next.startsWith('/')) return fallback;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return fallback;
  let url: URL;
  try {
    url = new URL(next, HERE);
  } catch {
    return fallback;
  }
  if (url.origin !== HERE) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
