/**
 * Finds English words in the visible text of a zh-CN page (issue 13, item 11). A word is a run of ASCII letters
 * between spaces, Chinese text or punctuation; tokens that carry digits or identifier characters (`_ . / : @ [`)
 * are identifiers, numbers, ids, paths or addresses and pass. Words joined by "-" are checked one by one
 * ("GB-month" → "month"). What may legitimately stay in Latin letters on a Chinese page is the allow-list below:
 * product, format and protocol names, units and abbreviations, and the word this catalogue uses for token.
 *
 * A quoted word (“auto”, "system") is a literal the reader types or reads in a file — a JSON value, a keyword — and
 * passes. Names are compared without case (CSS may upper-case a header: "TOKEN 数").
 *
 * Text inside <code>, <pre> and <kbd> is not checked: it is code (commands, JSON, API keys as spelled), the same in
 * every language. The page's own language name in the switcher ("English") is allowed.
 */
const ALLOWED_WORDS: ReadonlySet<string> = new Set([
  // product, model families, formats, libraries and tools
  'Crucible',
  'LoRA',
  'JSONL',
  'JSON',
  'CSV',
  'XLSX',
  'GGUF',
  'PEFT',
  'SFT',
  'DPO',
  // preference training methods and losses (issue 15)
  'KTO',
  'IPO',
  'ORPO',
  'SimPO',
  'AdamW',
  'OpenAI',
  'SDK',
  'Qwen',
  'Llama',
  // the curated catalog's model names (issue 14): family names and the Instruct variant, as published
  'Mistral',
  'Gemma',
  'Instruct',
  'LLaMA',
  'Factory',
  'ShareGPT',
  'Alpaca',
  'ChatML',
  'Ollama',
  'Transformers',
  'Hugging',
  'Face',
  'LM',
  'Studio',
  'Markdown',
  'README',
  'Python',
  'JavaScript',
  'curl',
  'tar',
  'safetensors',
  'ModelScope',
  // protocols, units, abbreviations
  'API',
  'REST',
  'URL',
  'ID',
  'SHA',
  'HTTP',
  'SMTP',
  'CPU',
  'GPU',
  'TB',
  'GB',
  'MB',
  'KB',
  'USD',
  'CNY',
  'EUR',
  'UTC',
  // the zh-CN catalogue's one word for token; "Top-p" and "Temperature" are sampling parameters' names
  'Token',
  'Top',
  'Temperature',
  // keys named in the playground's keyboard hint
  'Enter',
  'Shift',
  // the language switcher names the other language in its own language
  'English',
  // process signals in the trainer's events
  'SIGKILL',
  'SIGTERM',
  'SIGINT',
  // matrix kernels in the trainer's compute line (identifiers of the tensor backend)
  'sgemm',
  'widened',
  'packed',
  'reference',
]);

const ALLOWED_LOWER = new Set([...ALLOWED_WORDS].map((w) => w.toLowerCase()));
const QUOTED = /[“"‘][A-Za-z_][\w.+-]*[”"’]/g;

/** The English words of `text` outside the allow-list, each with the line it was found on. */
export function englishWords(text: string, allowed: ReadonlySet<string> = ALLOWED_WORDS): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const chunks = line
      .replace(QUOTED, ' ')
      .split(/[\s\u2000-\u206f\u3000-\u303f\u4e00-\u9fff\uff00-\uffef·•→←×]+/)
      .filter(Boolean);
    for (const chunk of chunks) {
      const token = chunk.replace(/^[("'“‘[{<]+|[)"'”’\]}>.,;:!?%]+$/g, '');
      if (!/^[A-Za-z]+(-[A-Za-z]+)*$/.test(token)) continue;
      for (const word of token.split('-')) {
        if (word.length < 2 || allowed.has(word)) continue;
        if (allowed === ALLOWED_WORDS && ALLOWED_LOWER.has(word.toLowerCase())) continue;
        found.push(`${word}  ⟵  ${line.trim().slice(0, 160)}`);
      }
    }
  }
  return found;
}
