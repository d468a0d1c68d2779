/**
 * `--flag value` pairs after the subcommand; a flag without a value or an unknown flag is an error. Names in
 * `switches` take no value (`--admin`) and read as "true".
 */
export class UsageError extends Error {
  readonly code = 'usage';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A command that understood its arguments but cannot do what they ask (exit 1, the reason on stderr). */
export class Refused extends Error {
  readonly code = 'refused';
}

export function parseFlags(
  args: string[],
  allowed: readonly string[],
  switches: readonly string[] = [],
): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (switches.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = 'true';
      continue;
    }
    if (!allowed.includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    flags[name] = value;
  }
  return flags;
}

export function required(flags: Record<string, string>, name: string): string {
  const value = flags[name];
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}
