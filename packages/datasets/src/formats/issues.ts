import type { TDetailCode } from '../details';
import type { TProblemCode } from '../problems';
import type { TCanonicalRow } from '../types';

/** A problem inside one row, before the validator adds the line and row number. */
export type TIssue = {
  code: TProblemCode;
  field?: string;
  detail?: string;
  /** The detail as a code + parameters (details.ts), for readers in other languages. */
  detailCode?: TDetailCode;
  params?: Record<string, string | number>;
};

/** A converter's answer: the canonical row, or none when the row cannot be read; issues either way. */
export type TConverted = { row?: TCanonicalRow; issues: TIssue[] };

export type TObj = Record<string, unknown>;

export const isObj = (v: unknown): v is TObj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON text of a value for the detail line of a problem, cut short so a report stays small. */
export function preview(v: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
