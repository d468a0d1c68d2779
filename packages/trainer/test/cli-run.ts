// The trainer CLI in-process for tests: its exit code and what it wrote, and configs written as YAML.
import { writeFileSync } from 'node:fs';
import { vi } from 'vitest';
import { runTrainerCli } from '../src/cli/index';

/** Runs `crucible <argv>` in this process and captures stdout, stderr and the exit code. */
export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await runTrainerCli(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** `crucible init-model` arguments for a one-layer, hidden-32 random Qwen2 with the real Qwen tokenizer. */
export const TINY_QWEN2_INIT = (dir: string): string[] => [
  'init-model',
  '--arch',
  'qwen2',
  '--layers',
  '1',
  '--hidden',
  '32',
  '--heads',
  '2',
  '--kv-heads',
  '1',
  dir,
];

/** A flat config as YAML (values as JSON, which YAML reads); returns the path. */
export function writeYaml(path: string, cfg: Record<string, unknown>): string {
  writeFileSync(
    path,
    Object.entries(cfg)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join('\n'),
  );
  return path;
}
