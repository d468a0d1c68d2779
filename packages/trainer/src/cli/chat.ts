/**
 * `crucible chat CONFIG.yaml [key=value ...]` (LLaMA-Factory's chat config) or
 * `crucible chat --model DIR [--adapter DIR] [--template NAME] [--system TEXT] [--prompt TEXT] [--max-new-tokens N]
 * [--temperature T] [--top-p P] [--seed N] [--greedy]`: an interactive chat on stdin/stdout like
 * `llamafactory-cli chat` (`clear` forgets the history, `exit` quits), or one answer to `--prompt` for scripts/tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Backend, createBackend } from '@crucible/tensor';
import { parseChatConfig } from '../config';
import { getTemplate, type TChatMessage, type Template } from '../data';
import { readPeftAdapter } from '../export';
import { generate } from '../generate/generate';
import { loadTokenizer, openWeights } from '../io';
import { TrainerError } from '../io/errors';
import type { Tokenizer } from '../io/tokenizer';
import { createModel, type Model, parseModelConfig } from '../model';
import { applyOverrides, parseFlags, readYamlObject } from './args';

export type ChatSettings = {
  modelDir: string;
  adapterDir?: string;
  template?: string;
  system?: string;
  /** LLaMA-Factory's enable_thinking (qwen3 and auto templates; default true). */
  enableThinking?: boolean;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
};

export type ChatSession = {
  model: Model;
  tokenizer: Tokenizer;
  template: Template;
  /** One assistant reply to the conversation so far (which must end with a user turn). */
  reply(messages: TChatMessage[]): string;
};

/** Loads a model directory (and a PEFT adapter on top) for generation. */
export async function openChat(s: ChatSettings, backend: Backend = createBackend('auto')): Promise<ChatSession> {
  let configJson: unknown;
  try {
    configJson = JSON.parse(readFileSync(join(s.modelDir, 'config.json'), 'utf8'));
  } catch (e) {
    throw new TrainerError(
      'MODEL_FILES_MISSING',
      `${s.modelDir} has no readable config.json (${(e as Error).message}).`,
    );
  }
  const config = parseModelConfig(configJson);
  const tokenizer = await loadTokenizer(s.modelDir);
  const weights = openWeights(s.modelDir);
  const adapter = s.adapterDir ? readPeftAdapter(s.adapterDir) : null;
  // Without an adapter the model still needs a LoRA spec; a rank-1 q_proj LoRA with B = 0 changes nothing.
  const lora = adapter
    ? { r: adapter.config.r, alpha: adapter.config.alpha, dropout: 0, targets: adapter.config.targets }
    : { r: 1, alpha: 1, dropout: 0, targets: ['q_proj'] };
  const model = createModel({ config, weights, backend, finetuning: 'lora', lora, seed: s.seed });
  if (adapter) model.loadLoraState(adapter.state);
  const template = getTemplate(s.template ?? 'auto', tokenizer, s.modelDir, { enableThinking: s.enableThinking });
  let turn = 0;
  return {
    model,
    tokenizer,
    template,
    reply(messages) {
      const prompt = template.promptForGeneration(messages, { system: s.system });
      const out = generate(model, prompt, {
        maxNewTokens: s.maxNewTokens,
        temperature: s.temperature,
        topP: s.topP,
        seed: s.seed + turn++,
        stopIds: template.stopTokenIds,
      });
      const ids = (Array.isArray(out) ? out : (out as { ids: number[] }).ids).filter(
        (t) => !template.stopTokenIds.includes(t),
      );
      return tokenizer.decode(ids, { skipSpecialTokens: true });
    },
  };
}

function settingsFromArgs(args: string[]): { settings: ChatSettings; prompt?: string } {
  const { flags, positional } = parseFlags(args, ['greedy']);
  const str = (k: string) => (typeof flags.get(k) === 'string' ? (flags.get(k) as string) : undefined);
  const numFlag = (k: string) => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new TrainerError('CLI_USAGE', `--${k} must be a number, not "${v}".`);
    return n;
  };
  const prompt = str('prompt');
  if (positional.length > 0 && !positional[0].includes('=')) {
    const [yamlPath, ...overrides] = positional;
    const cfg = parseChatConfig(applyOverrides(readYamlObject(yamlPath), overrides), yamlPath);
    if ((cfg.adapter_name_or_path?.length ?? 0) > 1) {
      throw new TrainerError('CLI_USAGE', 'adapter_name_or_path: chat applies one adapter.');
    }
    const greedy = flags.has('greedy') || !cfg.do_sample || cfg.temperature === 0;
    return {
      prompt,
      settings: {
        modelDir: cfg.model_name_or_path,
        adapterDir: str('adapter') ?? cfg.adapter_name_or_path?.[0],
        template: str('template') ?? cfg.template,
        system: str('system') ?? cfg.default_system,
        ...(cfg.enable_thinking !== undefined ? { enableThinking: cfg.enable_thinking } : {}),
        maxNewTokens: numFlag('max-new-tokens') ?? cfg.max_new_tokens,
        temperature: greedy ? 0 : (numFlag('temperature') ?? cfg.temperature),
        topP: numFlag('top-p') ?? cfg.top_p,
        seed: numFlag('seed') ?? cfg.seed ?? 42,
      },
    };
  }
  const modelDir = str('model');
  if (!modelDir) {
    throw new TrainerError(
      'CLI_USAGE',
      'usage: crucible chat CONFIG.yaml | crucible chat --model DIR [--adapter DIR] [--prompt TEXT]',
    );
  }
  return {
    prompt,
    settings: {
      modelDir,
      adapterDir: str('adapter'),
      template: str('template'),
      system: str('system'),
      maxNewTokens: numFlag('max-new-tokens') ?? 512,
      temperature: flags.has('greedy') ? 0 : (numFlag('temperature') ?? 0.95),
      topP: numFlag('top-p') ?? 0.7,
      seed: numFlag('seed') ?? 42,
    },
  };
}

export async function chatCommand(args: string[]): Promise<number> {
  const { settings, prompt } = settingsFromArgs(args);
  const backendName = (process.env.CRUCIBLE_BACKEND ?? 'auto') as 'auto' | 'cpu' | 'reference';
  const session = await openChat(settings, createBackend(backendName));
  if (prompt !== undefined) {
    process.stdout.write(`${session.reply([{ role: 'user', content: prompt }])}\n`);
    return 0;
  }
  // Lines are read through the async iterator, which buffers them: with piped stdin, question() would drop the
  // lines that arrive while a reply is being generated.
  const rl = createInterface({ input: process.stdin, terminal: false });
  process.stdout.write(
    'Welcome to the CLI application, use `clear` to remove the history, use `exit` to exit the application.\n',
  );
  const history: TChatMessage[] = [];
  process.stdout.write('\nUser: ');
  try {
    for await (const query of rl) {
      const q = query.trim();
      if (q === 'exit') break;
      if (q === 'clear') {
        history.length = 0;
        process.stdout.write('History has been removed.\n');
      } else if (q !== '') {
        history.push({ role: 'user', content: query });
        const answer = session.reply(history);
        history.push({ role: 'assistant', content: answer });
        process.stdout.write(`Assistant: ${answer}\n`);
      }
      process.stdout.write('\nUser: ');
    }
  } finally {
    rl.close();
  }
  return 0;
}
