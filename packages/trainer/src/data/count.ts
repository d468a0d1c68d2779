import type { TTrainConfig } from '../config/schema';
import { loadTokenizer, type Tokenizer } from '../io/tokenizer';
import { loadDatasets } from './datasets';
import { loadKtoDatasets } from './feedback';
import { loadPairDatasets } from './pairwise';

export type TTrainTokenCount = {
  /** Tokens one epoch trains on: the sum of every train example's length, as the loop counts tokensSeen. */
  tokensPerEpoch: number;
  /** Examples (sft/pt), pairs (dpo) or KTO rows (kto). */
  trainExamples: number;
  evalExamples: number;
};

/**
 * Tokens a run of this config trains on per epoch, counted exactly as the run counts them (tokensSeen adds each
 * example's unpadded length once per epoch): the same datasets, the model's own tokenizer and template, the system
 * prompt, cutoff_len and the val_size split. Needs only the model folder's tokenizer files, not its weights.
 */
export async function countTrainTokens(
  cfg: TTrainConfig,
  modelDir: string,
  opts: { tokenizer?: Tokenizer; warn?: (m: string) => void } = {},
): Promise<TTrainTokenCount> {
  const tokenizer = opts.tokenizer ?? (await loadTokenizer(modelDir));
  // Preference stages run two sequences a row (chosen + rejected; a KTO example + its KL row), as the loop counts.
  if (cfg.stage === 'dpo') {
    const { train, eval: ev } = await loadPairDatasets(cfg, tokenizer, modelDir);
    let tokensPerEpoch = 0;
    for (let i = 0; i < train.length; i++) {
      const p = train.at(i);
      tokensPerEpoch += p.chosen.inputIds.length + p.rejected.inputIds.length;
    }
    return { tokensPerEpoch, trainExamples: train.length, evalExamples: ev.length };
  }
  if (cfg.stage === 'kto') {
    const { train, eval: ev } = await loadKtoDatasets(cfg, tokenizer, modelDir, opts.warn ?? (() => {}));
    let tokensPerEpoch = 0;
    for (let i = 0; i < train.length; i++) {
      const r = train.at(i);
      tokensPerEpoch += r.example.inputIds.length + r.kl.inputIds.length;
    }
    return { tokensPerEpoch, trainExamples: train.length, evalExamples: ev.length };
  }
  const { train, eval: evalExamples } = await loadDatasets(cfg, tokenizer, modelDir, opts.warn ?? (() => {}));
  let tokensPerEpoch = 0;
  for (const ex of train) tokensPerEpoch += ex.inputIds.length;
  return { tokensPerEpoch, trainExamples: train.length, evalExamples: evalExamples.length };
}
