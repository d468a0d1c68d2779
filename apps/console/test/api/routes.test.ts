// @vitest-environment node
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROLES } from '@crucible/auth';
import { describe, expect, it } from 'vitest';
import { WORKSPACE_ROLES } from '../../lib/schemas';
import { ROUTES } from '../../lib/server/route-table';

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../app');

function routeFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...routeFiles(full));
    else if (name === 'route.ts') out.push(full);
  }
  return out;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

describe('route table and app/api agree', () => {
  it('prevents an app/api route that the table (and so the tenant-isolation suite) does not know', async () => {
    const mounted: string[] = [];
    for (const file of routeFiles(path.join(appDir, 'api'))) {
      const urlPath = `/${path.relative(appDir, path.dirname(file)).split(path.sep).join('/')}`;
      if (urlPath.startsWith('/api/auth/')) continue; // better-auth's own endpoints
      const mod = (await import(file)) as Record<string, unknown>;
      for (const m of METHODS) {
        const exported = mod[m] as ((...args: unknown[]) => unknown) & { handler?: unknown };
        if (typeof exported !== 'function') continue;
        const def = ROUTES.find((r) => r.method === m && r.path === urlPath);
        // The file must mount the very handler the table lists, or the table would test a different route.
        expect(exported.handler, `${m} ${urlPath}`).toBe(def?.handler);
        mounted.push(`${m} ${urlPath}`);
      }
    }
    const table = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(mounted.sort()).toEqual([...table].sort());
  });

  it('requires a minimum role on every workspace route', () => {
    for (const r of ROUTES.filter((x) => x.scope === 'workspace')) expect(r.minRole, r.path).toBeDefined();
  });

  it('keeps the form schemas’ roles identical to @crucible/auth’s', () => {
    expect([...WORKSPACE_ROLES]).toEqual([...ROLES]);
  });
});
