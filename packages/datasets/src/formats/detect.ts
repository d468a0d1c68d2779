import { detail } from '../details';
import type { TSourceFormat } from '../types';
import { isObj, type TConverted, type TObj } from './issues';
import {
  convertSharegpt,
  convertWithAttr,
  DEFAULT_TAGS,
  defaultAttr,
  OPENAI_STYLE_TAGS,
  type TDatasetAttr,
} from './llamafactory';
import { convertOpenAIChat, convertOpenAIPreference, convertPromptCompletion, convertText } from './openai';

// Which format a row is in, from the keys it has. A rule matches when all its key groups are present (a group is
// satisfied by any one of its keys). A rule that extends another (sharegpt_preference extends sharegpt) wins
// over it; two unrelated matches are ambiguous and the row is rejected with both names.

type TRule = { format: TSourceFormat; keys: string[][]; extends?: TSourceFormat[] };

const RULES: readonly TRule[] = Object.freeze([
  { format: 'openai_chat', keys: [['messages']] },
  { format: 'openai_preference', keys: [['input'], ['preferred_output', 'non_preferred_output']] },
  { format: 'openai_prompt_completion', keys: [['prompt'], ['completion', 'response']] },
  { format: 'alpaca', keys: [['instruction'], ['output']] },
  { format: 'alpaca_preference', keys: [['instruction'], ['chosen'], ['rejected']] },
  { format: 'sharegpt', keys: [['conversations']] },
  { format: 'sharegpt_preference', keys: [['conversations'], ['chosen'], ['rejected']], extends: ['sharegpt'] },
  { format: 'kto', keys: [['messages', 'conversations'], ['label']], extends: ['openai_chat', 'sharegpt'] },
  { format: 'text', keys: [['text']] },
]);

export type TDetection = { formats: TSourceFormat[]; reason?: string };

/** The formats a parsed row matches: one (clear), none (unknown) or several (ambiguous, with the reason). */
export function detectRowFormat(row: unknown): TDetection {
  if (!isObj(row)) return { formats: [], reason: 'the row is not a JSON object' };
  const matched = RULES.filter((r) => r.keys.every((group) => group.some((k) => k in row)));
  const overridden = new Set(matched.flatMap((r) => r.extends ?? []));
  const formats = matched.filter((r) => !overridden.has(r.format)).map((r) => r.format);
  if (formats.length === 0) {
    const keys = Object.keys(row).slice(0, 8).join(', ');
    return { formats, reason: `keys {${keys}} match no known format` };
  }
  if (formats.length > 1) {
    const why = formats
      .map(
        (f) =>
          `${f} (${RULES.find((r) => r.format === f)!
            .keys.map((g) => g.filter((k) => k in row).join('/'))
            .join(' + ')})`,
      )
      .join(' and ');
    return { formats, reason: `the row matches ${why}` };
  }
  return { formats };
}

/** sharegpt turns written with role/content keys use OpenAI-style tags. */
function sharegptTags(list: unknown): TDatasetAttr['tags'] {
  const first = Array.isArray(list) ? list.find(isObj) : undefined;
  return first && !('from' in first) && 'role' in first ? OPENAI_STYLE_TAGS : DEFAULT_TAGS;
}

/** Converts a row of a known source format to its canonical row. */
export function convertRow(row: TObj, format: TSourceFormat, attr?: TDatasetAttr): TConverted {
  switch (format) {
    case 'openai_chat':
      return convertOpenAIChat(row);
    case 'openai_preference':
      return convertOpenAIPreference(row);
    case 'openai_prompt_completion':
      return convertPromptCompletion(row);
    case 'text':
      return convertText(row);
    case 'alpaca':
      return convertWithAttr(row, defaultAttr('alpaca'));
    case 'alpaca_preference':
      return convertWithAttr(row, defaultAttr('alpaca', { ranking: true }));
    case 'sharegpt':
      return convertSharegpt(row, defaultAttr('sharegpt', { tags: sharegptTags(row.conversations) }));
    case 'sharegpt_preference':
      return convertSharegpt(row, defaultAttr('sharegpt', { ranking: true, tags: sharegptTags(row.conversations) }));
    case 'kto': {
      if ('messages' in row) {
        const r = convertOpenAIChat(row);
        if (!r.row) return r;
        if (typeof row.label !== 'boolean') {
          return {
            issues: [...r.issues, { code: 'invalid_field_type', field: 'label', ...detail('expected_boolean') }],
          };
        }
        return { row: { ...r.row, label: row.label }, issues: r.issues };
      }
      return convertSharegpt(row, defaultAttr('sharegpt', { kto: true, tags: sharegptTags(row.conversations) }));
    }
    case 'llamafactory':
      if (!attr) throw new Error('convertRow: the llamafactory format needs its dataset_info entry');
      return convertWithAttr(row, attr);
  }
}
