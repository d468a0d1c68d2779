/** Only same-site paths are followed after sign-in ("//evil.example" is a protocol-relative URL, not a path). */
export function safeNext(next: string | null | undefined, fallback = '/'): string {
  return next?.startsWith('/') && !next.startsWith('//') ? next : fallback;
}
