import { once } from 'node:events';
import { createReadStream, createWriteStream, renameSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { stageOf, type TFineTuningMethod } from './fine-tuning';

/**
 * The files of a job's data/ folder as the training core reads them. Chat and KTO versions are used as they are
 * (sharegpt with OpenAI's role/content tags; KTO rows carry `label`). A preference version's canonical rows are
 * OpenAI's DPO rows (`input.messages`, `preferred_output`, `non_preferred_output`), which LLaMA-Factory has no
 * format for: they are rewritten as its sharegpt ranking rows (`messages` = the prompt, `chosen` / `rejected` = one
 * message each), the shape `datasetInfo` describes for a dpo job. The trainer worker and the estimate both call
 * this, so the estimate counts the pairs the run trains on.
 */

type TMessage = { role?: unknown; content?: unknown };

/** One canonical preference row as a ranking row; `line` names the row in the error. */
export function rankingRow(row: Record<string, unknown>, line: number): Record<string, unknown> {
  const input = (row.input ?? {}) as { messages?: TMessage[]; tools?: unknown };
  const answer = (field: 'preferred_output' | 'non_preferred_output') => {
    const list = row[field];
    if (!Array.isArray(list) || list.length !== 1) {
      throw new Error(
        `row ${line}: ${field} has ${Array.isArray(list) ? list.length : 'no'} message(s); a preference pair's answer is exactly one assistant message.`,
      );
    }
    const m = list[0] as TMessage;
    return { role: m.role, content: m.content ?? '' };
  };
  return {
    messages: (input.messages ?? []).map((m) => ({ role: m.role, content: m.content ?? '' })),
    ...(input.tools ? { tools: input.tools } : {}),
    chosen: answer('preferred_output'),
    rejected: answer('non_preferred_output'),
  };
}

/** Rewrites a downloaded version file in place for the method's stage (only dpo changes anything). Streams. */
export async function prepareJobDataFile(path: string, method: TFineTuningMethod): Promise<void> {
  if (stageOf(method) !== 'dpo') return;
  const tmp = `${path}.ranking`;
  const out = createWriteStream(tmp);
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (!text.trim()) continue;
      const row = JSON.parse(text) as Record<string, unknown>;
      if (!('preferred_output' in row)) {
        throw new Error(
          `row ${n} is not a preference pair (no preferred_output): a dpo job needs a preference dataset.`,
        );
      }
      if (!out.write(`${JSON.stringify(rankingRow(row, n))}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  renameSync(tmp, path);
}
