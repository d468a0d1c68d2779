import { describe, expect, it } from 'vitest';
import { createTextDeltas } from '../src/text-deltas';

/**
 * Streamed output showed "�" where a multi-byte character was split across tokens (issue 13, item 13). The engine
 * re-decodes the whole output after each token the way the native addon does (invalid or incomplete UTF-8 → U+FFFD);
 * the deltas sent must add up to what a streaming TextDecoder makes of the same bytes, with no "�" and no unpaired
 * surrogate in any delta (JSON would carry it, and the next encoder would turn it into "�").
 */
const encoder = new TextEncoder();

/** A deterministic split of `bytes` into "tokens" of 1..max bytes. */
function tokensOf(bytes: Uint8Array, seed: number, max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let x = seed;
  for (let at = 0; at < bytes.length; ) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (x % max);
    out.push(bytes.slice(at, at + n));
    at += n;
  }
  return out;
}

function stream(tokens: Uint8Array[], hold: number) {
  const deltas = createTextDeltas(hold);
  const sent: string[] = [];
  const reference = new TextDecoder('utf-8', { fatal: false });
  let expected = '';
  const seen: number[] = [];
  for (const t of tokens) {
    seen.push(...t);
    // what the addon's detokenize(out) returns: every byte so far, decoded at once
    const full = Buffer.from(seen).toString('utf8');
    const d = deltas.update(full);
    if (d) sent.push(d);
    expected += reference.decode(t, { stream: true });
  }
  const rest = deltas.rest();
  if (rest) sent.push(rest);
  expected += reference.decode();
  return { sent, expected };
}

const hasLoneSurrogate = (s: string) =>
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe('text deltas of a streamed generation', () => {
  const samples = ['你好，世界！', 'Emoji 😀👍🏽 and flags 🇨🇳🇫🇷', 'café naïve — “quotes”', '日本語のテキスト🍣です'];

  it.each([0, 1, 2, 4])('never sends "�" or half an emoji, for every split of the bytes (hold %i)', (hold) => {
    for (const sample of samples) {
      for (let seed = 1; seed <= 40; seed++) {
        const { sent, expected } = stream(tokensOf(encoder.encode(sample), seed, 3), hold);
        expect(sent.join('')).toBe(expected);
        expect(sent.join('')).toBe(sample);
        for (const d of sent) {
          expect(d).not.toContain('\ufffd');
          expect(hasLoneSurrogate(d), JSON.stringify(d)).toBe(false);
          // what the gateway gets after the NDJSON hop and re-encoding: the same text
          expect(new TextDecoder().decode(encoder.encode(JSON.parse(JSON.stringify(d))))).toBe(d);
        }
      }
    }
  });

  it('sends one byte at a time once each character is complete', () => {
    const { sent } = stream(tokensOf(encoder.encode('你好'), 7, 1), 0);
    expect(sent).toEqual(['你', '好']);
  });

  it('still sends a real "�" the model produced, and the incomplete tail when generation ends', () => {
    expect(stream([encoder.encode('a\ufffdb')], 0).sent.join('')).toBe('a\ufffdb');
    // max_tokens reached in the middle of a character: the bytes that came are what the answer is
    const cut = stream([encoder.encode('ok'), new Uint8Array([0xe4, 0xbd])], 0);
    expect(cut.sent).toEqual(['ok', '\ufffd']);
  });

  it('keeps the last `hold` characters back for a stop sequence, and cuts at it', () => {
    const d = createTextDeltas(3);
    expect(d.update('Hello')).toBe('He');
    expect(d.update('Hello wor')).toBe('llo ');
    d.cut('Hello world###', 11);
    expect(d.rest()).toBe('world');
    expect(d.text).toBe('Hello world');
  });
});
