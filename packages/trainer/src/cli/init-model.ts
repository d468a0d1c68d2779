import { TrainerError } from '../io/errors';
import { initModel, MODEL_PRESETS, type TInitModelOptions, type TModelPreset } from '../io/init-model';
import type { ModelArch } from '../model';

const USAGE =
  'usage: crucible init-model --arch qwen2|qwen3|llama|mistral|gemma2|gemma3 --layers N --hidden N [--intermediate N] [--heads N] [--kv-heads N] ' +
  '[--vocab N] [--untied] [--dtype F32|BF16] [--shards N] [--seed N] OUT\n' +
  `       crucible init-model --preset ${Object.keys(MODEL_PRESETS).join('|')} [any flag above to override] OUT ` +
  '(Qwen2.5 shapes, BF16, sharded as the hub files are)';

/** Splits `--key value` / `--key=value` flags from positional arguments. */
export function parseFlags(
  argv: string[],
  booleans: string[] = [],
): { flags: Map<string, string>; positional: string[] } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) flags.set(key, a.slice(eq + 1));
    else if (booleans.includes(key)) flags.set(key, 'true');
    else {
      const v = argv[++i];
      if (v === undefined) throw new TrainerError('CLI_USAGE', `--${key} needs a value.`);
      flags.set(key, v);
    }
  }
  return { flags, positional };
}

function intFlag(flags: Map<string, string>, key: string, fallback?: number): number {
  const v = flags.get(key);
  if (v === undefined) {
    if (fallback === undefined) throw new TrainerError('CLI_USAGE', `--${key} is required.\n${USAGE}`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new TrainerError('CLI_USAGE', `--${key} must be a positive integer, got "${v}".`);
  return n;
}

export function parseInitModelArgs(argv: string[]): { opts: TInitModelOptions; outDir: string } {
  const known = [
    'arch',
    'layers',
    'hidden',
    'intermediate',
    'heads',
    'kv-heads',
    'vocab',
    'untied',
    'dtype',
    'seed',
    'preset',
    'shards',
  ];
  const { flags, positional } = parseFlags(argv, ['untied']);
  for (const k of flags.keys())
    if (!known.includes(k)) throw new TrainerError('CLI_USAGE', `Unknown option --${k}.\n${USAGE}`);
  if (positional.length !== 1) throw new TrainerError('CLI_USAGE', USAGE);
  const presetName = flags.get('preset');
  if (presetName !== undefined) {
    if (!(presetName in MODEL_PRESETS)) {
      throw new TrainerError(
        'CLI_USAGE',
        `--preset must be one of ${Object.keys(MODEL_PRESETS).join(', ')}, got "${presetName}".`,
      );
    }
    // A preset supplies every shape flag; flags given explicitly win (e.g. --layers 2 for a slice of the shapes).
    const p = MODEL_PRESETS[presetName as TModelPreset];
    const defaults: Record<string, string> = {
      arch: 'qwen2',
      layers: String(p.layers),
      hidden: String(p.hidden),
      intermediate: String(p.intermediate),
      heads: String(p.heads),
      'kv-heads': String(p.kvHeads),
      vocab: String(p.vocab),
      dtype: 'BF16',
      shards: String(p.shards),
    };
    for (const [k, v] of Object.entries(defaults)) if (!flags.has(k)) flags.set(k, v);
    if (!p.tie) flags.set('untied', 'true');
  }
  const arch = flags.get('arch') as ModelArch | undefined;
  if (!arch || !['qwen2', 'llama', 'qwen3', 'mistral', 'gemma2', 'gemma3'].includes(arch))
    throw new TrainerError('CLI_USAGE', `--arch must be qwen2, qwen3, llama, mistral, gemma2 or gemma3.\n${USAGE}`);
  const hidden = intFlag(flags, 'hidden');
  // Defaults follow the small real models: 64-wide heads, GQA 4:1 where it divides, SwiGLU width ~ 8/3 * hidden.
  const heads = intFlag(
    flags,
    'heads',
    hidden >= 256 && hidden % 64 === 0 ? hidden / 64 : hidden % 16 === 0 ? hidden / 16 : 1,
  );
  const kvDefault = heads % 4 === 0 ? heads / 4 : heads % 2 === 0 ? heads / 2 : heads;
  const dtype = flags.get('dtype') ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'BF16') throw new TrainerError('CLI_USAGE', '--dtype must be F32 or BF16.');
  const seedText = flags.get('seed') ?? '0';
  const seed = Number(seedText);
  if (!Number.isInteger(seed)) throw new TrainerError('CLI_USAGE', `--seed must be an integer, got "${seedText}".`);
  return {
    opts: {
      arch,
      layers: intFlag(flags, 'layers'),
      hidden,
      intermediate: intFlag(flags, 'intermediate', Math.ceil((hidden * 8) / 3 / 32) * 32),
      heads,
      kvHeads: intFlag(flags, 'kv-heads', kvDefault),
      vocab: flags.has('vocab') ? intFlag(flags, 'vocab') : undefined,
      tie: !flags.has('untied'),
      seed,
      dtype,
      shards: intFlag(flags, 'shards', 1),
    },
    outDir: positional[0],
  };
}

/** `crucible init-model ...`: writes a random-weight model directory with the real tokenizer of its family. */
export async function initModelCommand(argv: string[]): Promise<number> {
  const { opts, outDir } = parseInitModelArgs(argv);
  await initModel(opts, outDir);
  process.stderr.write(
    `[crucible] wrote ${opts.arch} model (${opts.layers} layers, hidden ${opts.hidden}, heads ${opts.heads}/${opts.kvHeads}, ${opts.dtype ?? 'F32'}, ${opts.shards ?? 1} file(s)) to ${outDir}\n`,
  );
  return 0;
}
