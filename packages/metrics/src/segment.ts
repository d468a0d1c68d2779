/**
 * Word segmentation as Python jieba 0.42.1's `jieba.cut(text)` (accurate mode, HMM on), which LLaMA-Factory's
 * ComputeSimilarity uses before ROUGE. The dictionary walk and the HMM come from jieba-wasm (jieba-rs, a port of
 * jieba with its dictionary built in); the outer split is done here with Python jieba's own patterns, because
 * jieba-rs's Han pattern is wider (CJK Extension A, U+9FD6-U+9FFF, compatibility ideographs): Python jieba emits
 * those characters one by one, jieba-rs groups them.
 */
import { cut } from 'jieba-wasm';
import { PY_SPACE } from './python';

// jieba's re_han_default and re_skip_default.
const RE_HAN = /([\u4E00-\u9FD5a-zA-Z0-9+#&._%-]+)/u;
const RE_SKIP = new RegExp(`(\\r\\n|[${PY_SPACE}])`, 'u');

export function segment(text: string): string[] {
  const out: string[] = [];
  // With a capturing group, split keeps the matches: odd indexes are Han blocks.
  const blocks = text.split(RE_HAN);
  for (let b = 0; b < blocks.length; b++) {
    const blk = blocks[b];
    if (blk.length === 0) continue;
    if (b % 2 === 1) {
      out.push(...cut(blk, true));
      continue;
    }
    const pieces = blk.split(RE_SKIP);
    for (let p = 0; p < pieces.length; p++) {
      if (p % 2 === 1) out.push(pieces[p]);
      else for (const ch of pieces[p]) out.push(ch);
    }
  }
  return out;
}
