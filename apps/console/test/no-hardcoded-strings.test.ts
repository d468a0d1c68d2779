import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every visible string goes through the message catalogues (issue 2, "The console"). This scan catches the
// common slip — literal text between JSX tags or in a visible attribute — so a new page cannot ship English-only.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCANNED = ['app', 'components'];
const SKIP = [path.join('app', 'api')];

// Not words a translator would touch: the brand, and an example slug shown in a monospace field.
const ALLOWED = new Set(['Crucible', 'my-team']);

function tsxFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (SKIP.some((skip) => full.startsWith(path.join(root, skip)))) return [];
    if (statSync(full).isDirectory()) return tsxFiles(full);
    return full.endsWith('.tsx') ? [full] : [];
  });
}

describe('no hard-coded user-visible strings', () => {
  it('finds no literal text in JSX or in placeholder/title/aria-label/alt attributes', () => {
    const offenders: string[] = [];
    for (const file of SCANNED.flatMap((dir) => tsxFiles(path.join(root, dir)))) {
      const source = readFileSync(file, 'utf8');
      const patterns = [
        // `>` not preceded by `=` (arrow functions) and text without code punctuation.
        /(?<![=-])>\s*([A-Za-z\u4e00-\u9fff][^<>{};()=]*?)\s*</g,
        /\b(?:placeholder|title|aria-label|alt)="([^"]*[A-Za-z\u4e00-\u9fff][^"]*)"/g,
      ];
      for (const pattern of patterns) {
        for (const match of source.matchAll(pattern)) {
          const text = match[1]?.trim() ?? '';
          if (!text || ALLOWED.has(text)) continue;
          offenders.push(`${path.relative(root, file)}: ${text}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
