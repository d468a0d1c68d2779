import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { TrainerError } from './errors';

export type Tokenizer = {
  /** Token ids of `text`; special-token strings in it (e.g. `<|im_start|>`) become their ids; no BOS/EOS added. */
  encode(text: string): number[];
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  eosTokenId: number;
  padTokenId: number;
  bosTokenId: number | undefined;
  /** tokenizer_config.json `add_bos_token`. */
  addBosToken: boolean;
  /** Largest token id + 1, added tokens included (the model's embedding may be larger, e.g. Qwen's 151936). */
  vocabSize: number;
  /** The model's jinja chat template from tokenizer_config.json, if any. */
  chatTemplate: string | undefined;
  /** Raw tokenizer_config.json, for templates that need e.g. bos_token strings. */
  config: Record<string, unknown>;
  eosToken: string;
  bosToken: string | undefined;
};

type TTokenSpec = string | { content: string } | null | undefined;
const tokenText = (t: TTokenSpec): string | undefined =>
  t == null ? undefined : typeof t === 'string' ? t : t.content;

export async function loadTokenizer(modelDir: string): Promise<Tokenizer> {
  let json: Record<string, unknown>;
  let config: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(join(modelDir, 'tokenizer.json'), 'utf8'));
  } catch (e) {
    throw new TrainerError(
      'TOKENIZER_MISSING',
      `${modelDir} has no readable tokenizer.json (${(e as Error).message}).`,
    );
  }
  try {
    config = JSON.parse(await readFile(join(modelDir, 'tokenizer_config.json'), 'utf8'));
  } catch {
    config = {};
  }
  return tokenizerFromJson(json, config);
}

export function tokenizerFromJson(json: Record<string, unknown>, config: Record<string, unknown>): Tokenizer {
  const tok = new HfTokenizer(json, config);
  const vocab = tok.get_vocab(true);
  let maxId = -1;
  for (const id of vocab.values()) if (id > maxId) maxId = id;

  const eosToken = tokenText(config.eos_token as TTokenSpec) ?? '<|endoftext|>';
  const eosTokenId = tok.token_to_id(eosToken);
  if (eosTokenId === undefined)
    throw new TrainerError('TOKENIZER_MISSING', `EOS token ${eosToken} is not in the vocabulary.`);
  const padToken = tokenText(config.pad_token as TTokenSpec);
  const bosToken = tokenText(config.bos_token as TTokenSpec);
  const padTokenId = (padToken !== undefined ? tok.token_to_id(padToken) : undefined) ?? eosTokenId;
  const bosTokenId = bosToken !== undefined ? tok.token_to_id(bosToken) : undefined;

  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids, opts) => tok.decode(ids, { skip_special_tokens: opts?.skipSpecialTokens ?? false }),
    tokenToId: (t) => tok.token_to_id(t),
    idToToken: (id) => tok.id_to_token(id),
    eosTokenId,
    padTokenId,
    bosTokenId,
    // As LLaMA-Factory's `getattr(tokenizer, "add_bos_token", False)`: only an explicit setting counts.
    addBosToken: config.add_bos_token === true,
    vocabSize: maxId + 1,
    chatTemplate: typeof config.chat_template === 'string' ? config.chat_template : undefined,
    config,
    eosToken,
    bosToken,
  };
}
