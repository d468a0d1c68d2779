// Types of scripts/lib.mjs for the TypeScript that imports it (the CLI reads .env with it; tests drive supervise).
export const ROOT: string;
export function parseEnv(text: string): Record<string, string>;
export function loadDotEnv(file?: string): Record<string, string>;
export function ensureSecret(env?: Record<string, string | undefined>, dir?: string): string;
export type TSuperviseSpec = {
  name: string;
  color?: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
};
export function supervise(
  specs: TSuperviseSpec[],
  opts?: {
    log?: (message: string) => void;
    graceMs?: number;
    minBackoffMs?: number;
    maxBackoffMs?: number;
    stableMs?: number;
    onExit?: (name: string, how: string) => void;
  },
): {
  child(name: string): import('node:child_process').ChildProcess;
  restarts(name: string): number;
  stop(signal?: NodeJS.Signals): Promise<void>;
};
