import { mergeAdapter, writeGgufLora, writeGgufModel } from '../export';
import { TrainerError } from '../io/errors';
import { parseFlags } from './init-model';

const USAGE =
  'usage: crucible export --model DIR [--adapter DIR] (--merge OUT_DIR [--type F32|BF16|F16] | --gguf OUT.gguf [--type F32|F16|Q8_0] | --gguf-lora OUT.gguf)';

export type TExportArgs = {
  model: string;
  adapter?: string;
  merge?: string;
  gguf?: string;
  ggufLora?: string;
  type: 'F32' | 'F16' | 'Q8_0' | 'BF16';
};

export function parseExportArgs(argv: string[]): TExportArgs {
  const { flags, positional } = parseFlags(argv);
  const known = ['model', 'adapter', 'merge', 'gguf', 'gguf-lora', 'type'];
  for (const k of flags.keys())
    if (!known.includes(k)) throw new TrainerError('CLI_USAGE', `Unknown option --${k}.\n${USAGE}`);
  if (positional.length > 0) throw new TrainerError('CLI_USAGE', `Unexpected argument "${positional[0]}".\n${USAGE}`);
  const model = flags.get('model');
  if (!model) throw new TrainerError('CLI_USAGE', `--model is required.\n${USAGE}`);
  const outputs = ['merge', 'gguf', 'gguf-lora'].filter((k) => flags.has(k));
  if (outputs.length !== 1)
    throw new TrainerError('CLI_USAGE', `Give exactly one of --merge, --gguf, --gguf-lora.\n${USAGE}`);
  // --type: the GGUF type (default F16, as llama.cpp's converter), or with --merge the safetensors dtype (default F32).
  const type = (flags.get('type') ?? (flags.has('merge') ? 'F32' : 'F16')).toUpperCase();
  const allowed = flags.has('merge') ? ['F32', 'BF16', 'F16'] : ['F32', 'F16', 'Q8_0'];
  if (!allowed.includes(type)) {
    throw new TrainerError('CLI_USAGE', `--type must be one of ${allowed.join(', ')}, not ${type}.`);
  }
  const a: TExportArgs = {
    model,
    adapter: flags.get('adapter'),
    merge: flags.get('merge'),
    gguf: flags.get('gguf'),
    ggufLora: flags.get('gguf-lora'),
    type: type as TExportArgs['type'],
  };
  if ((a.merge || a.ggufLora) && !a.adapter) {
    throw new TrainerError('CLI_USAGE', `--${a.merge ? 'merge' : 'gguf-lora'} needs --adapter DIR.`);
  }
  return a;
}

/**
 * `crucible export`: merge an adapter into its base (safetensors), write a base GGUF (an adapter given with --gguf
 * is merged first, into a temporary directory), or write a LoRA adapter GGUF for llama.cpp.
 */
export async function exportCommand(argv: string[]): Promise<number> {
  const a = parseExportArgs(argv);
  const say = (m: string) => process.stderr.write(`[crucible] ${m}\n`);
  if (a.merge && a.adapter) {
    await mergeAdapter(a.model, a.adapter, a.merge, { dtype: a.type === 'Q8_0' ? 'F32' : a.type });
    say(`merged ${a.adapter} into ${a.model} -> ${a.merge}`);
  } else if (a.gguf) {
    let dir = a.model;
    let tmp: string | undefined;
    if (a.adapter) {
      const { mkdtempSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      tmp = mkdtempSync(join(tmpdir(), 'crucible-merge-'));
      await mergeAdapter(a.model, a.adapter, tmp);
      dir = tmp;
    }
    try {
      await writeGgufModel(dir, a.gguf, a.type === 'BF16' ? 'F16' : a.type);
    } finally {
      if (tmp) (await import('node:fs')).rmSync(tmp, { recursive: true, force: true });
    }
    say(`wrote ${a.type} GGUF ${a.gguf}`);
  } else if (a.ggufLora && a.adapter) {
    await writeGgufLora(a.adapter, a.model, a.ggufLora);
    say(`wrote LoRA GGUF ${a.ggufLora}`);
  }
  return 0;
}
