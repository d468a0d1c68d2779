import { inflateRawSync } from 'node:zlib';
import { detail } from '../details';
import type { TRecord } from './records';

// Spreadsheet-shaped uploads: CSV (streamed, RFC 4180 quoting) and XLSX (a zip of XML; read whole, within
// maxBytes, since a zip's directory sits at its end). The first row names the columns; each later row becomes an
// object keyed by those names, which the format detector then reads like a JSON row (prompt/response,
// instruction/output, text, ...).

/** Lower-cased, trimmed header names; question/answer are read as prompt/response. */
export function normaliseHeader(names: string[]): string[] {
  const h = names.map((n) => n.trim().toLowerCase());
  const has = (k: string) => h.includes(k);
  return h.map((n) => {
    if (n === 'question' && !has('prompt')) return 'prompt';
    if (n === 'answer' && !has('response') && !has('completion')) return 'response';
    return n;
  });
}

function* tableRows(header: string[] | undefined, cells: string[], line: number): Generator<TRecord> {
  if (cells.every((c) => c.trim() === '')) return;
  if (!header) return;
  if (cells.length > header.length && cells.slice(header.length).some((c) => c !== '')) {
    yield {
      kind: 'problem',
      code: 'invalid_field_type',
      line,
      ...detail('cells_vs_header', { cells: cells.length, columns: header.length }),
    };
    return;
  }
  const row: Record<string, string> = {};
  header.forEach((k, i) => {
    if (k !== '') row[k] = cells[i] ?? '';
  });
  yield { kind: 'value', value: row, line };
}

/** CSV (or TSV when the header line has tabs and no commas), streamed record by record. */
export async function* csvRecords(chunks: AsyncIterable<Uint8Array>, maxRowBytes: number): AsyncGenerator<TRecord> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let header: string[] | undefined;
  let sep = '';
  let field = '';
  let cells: string[] = [];
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let recLine = 1;
  let recSize = 0;
  let overflow = false;

  const endRecord = function* (): Generator<TRecord> {
    cells.push(field);
    if (overflow)
      yield { kind: 'problem', code: 'row_too_large', line: recLine, ...detail('over_chars', { n: maxRowBytes }) };
    else if (!header) {
      header = normaliseHeader(cells);
    } else yield* tableRows(header, cells, recLine);
    cells = [];
    field = '';
    recSize = 0;
    overflow = false;
    recLine = line;
  };

  const feed = function* (text: string): Generator<TRecord> {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        // A quote ends the quoted part; if the next character is a quote too, it was an escaped "" (decided then,
        // so a pair split across two chunks reads the same).
        if (ch === '"') {
          quoted = false;
          afterQuote = true;
        } else {
          if (ch === '\n') line++;
          if (++recSize > maxRowBytes) overflow = true;
          else field += ch;
        }
        continue;
      }
      if (ch === '"' && afterQuote) {
        field += '"';
        quoted = true;
        afterQuote = false;
      } else if (ch === '"' && field === '') quoted = true;
      else if (ch === sep) {
        cells.push(field);
        field = '';
        afterQuote = false;
      } else if (ch === '\n') {
        line++;
        afterQuote = false;
        yield* endRecord();
      } else if (ch !== '\r') {
        if (++recSize > maxRowBytes) overflow = true;
        else field += ch;
      }
    }
  };

  // The delimiter is decided by the whole first line, so the text is held until that line is complete.
  let head = '';
  const decide = (text: string) => {
    const nl = text.indexOf('\n');
    const first = nl === -1 ? text : text.slice(0, nl);
    sep = first.includes('\t') && !first.includes(',') ? '\t' : ',';
  };
  try {
    for await (const chunk of chunks) {
      const text = decoder.decode(chunk, { stream: true });
      if (sep === '') {
        head += text;
        if (!head.includes('\n') && head.length <= maxRowBytes) continue;
        decide(head);
        yield* feed(head);
        head = '';
      } else yield* feed(text);
    }
    const rest = head + decoder.decode();
    if (sep === '') decide(rest);
    yield* feed(rest);
  } catch {
    yield { kind: 'problem', code: 'not_utf8', line, ...detail('reading_stopped') };
    return;
  }
  if (field !== '' || cells.length > 0) yield* endRecord();
}

// ---------------------------------------------------------------------------------------------------------------
// XLSX

type TZipEntry = { name: string; method: number; compressed: number; offset: number };

function zipEntries(buf: Buffer): TZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: TZipEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('broken zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const offset = buf.readUInt32LE(p + 42);
    out.push({ name: buf.toString('utf8', p + 46, p + 46 + nameLen), method, compressed, offset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function zipRead(buf: Buffer, e: TZipEntry, maxOut: number): string {
  if (buf.readUInt32LE(e.offset) !== 0x04034b50) throw new Error(`broken zip entry ${e.name}`);
  const start = e.offset + 30 + buf.readUInt16LE(e.offset + 26) + buf.readUInt16LE(e.offset + 28);
  const data = buf.subarray(start, start + e.compressed);
  if (e.method === 0) return data.toString('utf8');
  if (e.method === 8) return inflateRawSync(data, { maxOutputLength: maxOut }).toString('utf8');
  throw new Error(`zip entry ${e.name} uses compression method ${e.method}`);
}

const unescapeXml = (s: string): string =>
  s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e] as string;
  });

/** The text of every <t> run inside an XML fragment (rich text has several). */
const runsText = (xml: string): string => [...elements(xml, 't')].map((e) => unescapeXml(e.body)).join('');

/**
 * The `<tag ...>body</tag>` (or `<tag .../>`) elements of an XML string, in order, by indexOf: linear even on a
 * hostile file (a lazy regex over a missing closing tag rescans to the end for every opening one). Not nested
 * within the same tag, which SpreadsheetML's row/c/v/si/t never are.
 */
function* elements(xml: string, tag: string): Generator<{ attrs: string; body: string }> {
  const open = `<${tag}`;
  const close = `</${tag}>`;
  let at = 0;
  while (true) {
    const i = xml.indexOf(open, at);
    if (i < 0) return;
    const next = xml[i + open.length];
    if (next !== '>' && next !== '/' && next !== ' ' && next !== '\t' && next !== '\n' && next !== '\r') {
      at = i + open.length; // a longer tag name (<rowBreaks>, <cols>)
      continue;
    }
    const gt = xml.indexOf('>', i);
    if (gt < 0) return;
    const attrs = xml.slice(i + open.length, gt);
    if (attrs.endsWith('/')) {
      yield { attrs: attrs.slice(0, -1), body: '' };
      at = gt + 1;
      continue;
    }
    const end = xml.indexOf(close, gt);
    if (end < 0) return;
    yield { attrs, body: xml.slice(gt + 1, end) };
    at = end + close.length;
  }
}

/** Excel's last column is XFD (16,384 columns); a larger reference is a broken or hostile file. */
const MAX_COLUMNS = 16_384;

function colIndex(ref: string): number {
  let n = 0;
  for (const ch of ref.match(/^[A-Z]+/)?.[0] ?? '') n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/** The first worksheet of an XLSX file as rows of cell strings, with their 1-based row numbers. */
export function readXlsxRows(buf: Buffer, maxOut: number): { row: number; cells: string[] }[] {
  const entries = new Map(zipEntries(buf).map((e) => [e.name, e]));
  const read = (name: string) => {
    const e = entries.get(name);
    return e ? zipRead(buf, e, maxOut) : undefined;
  };
  let sheetPath = 'xl/worksheets/sheet1.xml';
  const wb = read('xl/workbook.xml');
  const rels = read('xl/_rels/workbook.xml.rels');
  const rid = wb?.match(/<sheet\b[^>]*\br:id="([^"]+)"/)?.[1];
  if (rid && rels) {
    const target =
      rels.match(new RegExp(`<Relationship\\b[^>]*Id="${rid}"[^>]*Target="([^"]+)"`))?.[1] ??
      rels.match(new RegExp(`<Relationship\\b[^>]*Target="([^"]+)"[^>]*Id="${rid}"`))?.[1];
    if (target) sheetPath = target.startsWith('/') ? target.slice(1) : `xl/${target}`;
  }
  const sheet = read(sheetPath);
  if (sheet === undefined) throw new Error('the workbook has no worksheet');
  const shared = [...elements(read('xl/sharedStrings.xml') ?? '', 'si')].map((e) => runsText(e.body));
  const out: { row: number; cells: string[] }[] = [];
  let next = 1;
  for (const r of elements(sheet, 'row')) {
    const rowNo = Number(r.attrs.match(/\br="(\d+)"/)?.[1] ?? next);
    next = rowNo + 1;
    const cells: string[] = [];
    let col = 0;
    for (const c of elements(r.body, 'c')) {
      const ref = c.attrs.match(/\br="([A-Z]+)\d*"/)?.[1];
      if (ref) col = colIndex(ref);
      if (col >= MAX_COLUMNS) break;
      const type = c.attrs.match(/\bt="([^"]+)"/)?.[1];
      const v = elements(c.body, 'v').next().value?.body;
      let text = '';
      if (type === 's') text = shared[Number(v)] ?? '';
      else if (type === 'inlineStr') text = runsText(c.body);
      else if (v !== undefined) text = unescapeXml(v);
      while (cells.length < col) cells.push('');
      cells[col] = text;
      col++;
    }
    out.push({ row: rowNo, cells });
  }
  return out;
}

/** Reads the whole XLSX (at most `maxInput` bytes, else `state.tooLarge`) and yields its first sheet's rows. */
export async function* xlsxRecords(
  chunks: AsyncIterable<Uint8Array>,
  maxInput: number,
  state: { tooLarge: boolean },
): AsyncGenerator<TRecord> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const c of chunks) {
    total += c.length;
    if (total > maxInput) {
      state.tooLarge = true;
      return;
    }
    parts.push(c);
  }
  // Decompressed XML may be larger than the zip, but not without bound (a zip bomb stops here).
  const maxOut = 4 * maxInput;
  let rows: { row: number; cells: string[] }[];
  try {
    rows = readXlsxRows(Buffer.concat(parts), maxOut);
  } catch (e) {
    yield {
      kind: 'problem',
      code: 'unreadable_file',
      line: 1,
      detail: `not a readable XLSX workbook: ${(e as Error).message}`,
    };
    return;
  }
  let header: string[] | undefined;
  for (const r of rows) {
    if (!header) {
      if (r.cells.every((c) => c.trim() === '')) continue;
      header = normaliseHeader(r.cells);
      continue;
    }
    yield* tableRows(header, r.cells, r.row);
  }
}
