/**
 * Command-line helpers shared by the trainer commands: LLaMA-Factory-style `key=value` overrides after the YAML
 * (values read as YAML scalars, so `learning_rate=2e-4` is a number and `plot_loss=false` a boolean) and `--flag value`
 * options.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { TrainerError } from '../io/errors';

export function readYamlObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TrainerError('CONFIG_READ', `Cannot read config ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = parseYaml(text);
  } catch (e) {
    throw new TrainerError('CONFIG_READ', `${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TrainerError('CONFIG_READ', `${path} must be a YAML mapping of LLaMA-Factory keys.`);
  }
  return v as Record<string, unknown>;
}

/** `key=value` overrides; anything else is a usage error naming the argument. */
export function applyOverrides(base: Record<string, unknown>, args: string[]): Record<string, unknown> {
  const out = { ...base };
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new TrainerError('CLI_USAGE', `"${a}" is not a key=value override (e.g. learning_rate=2e-4).`);
    const key = a.slice(0, eq).replace(/^--/, '');
    const raw = a.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = parseYaml(raw);
    } catch {
      value = raw;
    }
    out[key] = value ?? raw;
  }
  return out;
}

/**
 * Runs fn with a signal that the first Ctrl-C aborts (fn stops after its current step or row); a second Ctrl-C
 * exits at once.
 */
export async function withCtrlC<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    process.stderr.write(`\n[crucible] stopping after the current ${what} (Ctrl-C again to quit now)\n`);
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export type ParsedFlags = { flags: Map<string, string | true>; positional: string[] };

/** `--name value` / `--name=value` / boolean `--name` (when listed in `booleans`). */
export function parseFlags(args: string[], booleans: string[] = []): ParsedFlags {
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags.set(a.slice(2, eq), a.slice(eq + 1));
    } else if (booleans.includes(a.slice(2))) {
      flags.set(a.slice(2), true);
    } else {
      const v = args[i + 1];
      if (v === undefined) throw new TrainerError('CLI_USAGE', `${a} needs a value.`);
      flags.set(a.slice(2), v);
      i++;
    }
  }
  return { flags, positional };
}
