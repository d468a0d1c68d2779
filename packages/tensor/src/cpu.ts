/** The native cpu backend: a thin wrapper over build/Release/crucible_tensor.node (filled in below). */
import { createRequire } from 'node:module';
import type { Backend } from './backend';

export type TCpuInfo = { threads: number; kernel: string };

type TAddon = { info(): TCpuInfo } & Record<string, unknown>;

let addon: TAddon | null = null;
let loadError: Error | null = null;

function load(): TAddon | null {
  if (addon || loadError) return addon;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('../build/Release/crucible_tensor.node') as TAddon;
    if (typeof mod.info !== 'function') throw new Error('addon is a stub without ops');
    addon = mod;
  } catch (e) {
    loadError = e as Error;
  }
  return addon;
}

export function cpuAvailable(): boolean {
  return load() !== null;
}

export function cpuInfo(): TCpuInfo | null {
  return load()?.info() ?? null;
}

export function loadCpuBackend(): Backend {
  const a = load();
  if (!a) {
    throw Object.assign(new Error(`The cpu backend's native addon did not load: ${loadError?.message}`), {
      code: 'CPU_BACKEND_UNAVAILABLE',
    });
  }
  throw Object.assign(new Error('The cpu backend is not built yet.'), { code: 'CPU_BACKEND_UNAVAILABLE' });
}
