import type { TMethod } from './route-table';
import { handlerFor } from './route-table';

/**
 * Adapts a table handler to a Next.js App Router route export. Next passes
 * `{ params: Promise<...> }`; our handlers take plain params so tests can call
 * them without Next.
 */
export function mount(method: TMethod, path: string) {
  const handler = handlerFor(method, path);
  return async (req: Request, ctx: { params: Promise<Record<string, string | string[] | undefined>> }) => {
    const raw = (await ctx.params) ?? {};
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') params[k] = v;
    return handler(req, params);
  };
}
