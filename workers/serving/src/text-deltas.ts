/**
 * Streaming a generation's text without "�" (issue 13, item 13). The engine hands back the whole output re-decoded
 * after every token (`detokenize(out)`), and a multi-byte character split across tokens decodes as U+FFFD until its
 * last byte arrives. A delta must therefore stop before:
 *  - a trailing U+FFFD (the incomplete UTF-8 sequence of a character still arriving: the next token completes it);
 *  - a lone high surrogate (an emoji is two UTF-16 units: cutting between them sends an unpaired surrogate, which
 *    JSON carries as `\ud83d` and every encoder after it turns into "�");
 *  - the last `hold` units, which could still become a stop sequence.
 * What the caller sends is then exactly what a streaming TextDecoder yields for the same bytes.
 */
export function createTextDeltas(hold = 0) {
  let text = '';
  let sent = 0;
  const safeEnd = (upTo: number) => {
    let end = upTo;
    while (end > sent && text.charCodeAt(end - 1) === 0xfffd) end -= 1;
    const last = text.charCodeAt(end - 1);
    if (end > sent && last >= 0xd800 && last <= 0xdbff) end -= 1;
    return end;
  };
  return {
    /** The whole text so far (after each token); returns the delta that is safe to send now ('' when none). */
    update(full: string): string {
      text = full;
      const end = safeEnd(text.length - hold);
      if (end <= sent) return '';
      const delta = text.slice(sent, end);
      sent = end;
      return delta;
    },
    /** The whole text so far, cut at a stop sequence found at `at` (nothing from there on is ever sent). */
    cut(full: string, at: number) {
      text = full.slice(0, at);
    },
    /** At the end of generation: everything not sent yet, however it ends. */
    rest(): string {
      const delta = text.slice(sent);
      sent = text.length;
      return delta;
    },
    get text() {
      return text;
    },
    get sent() {
      return sent;
    },
  };
}
