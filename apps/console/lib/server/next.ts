import type { THandler } from './http';

export type TMounted = ((
  req: Request,
  ctx: { params: Promise<Record<string, string | string[] | undefined>> },
) => Promise<Response>) & { handler: THandler };

/**
 * Adapts a handler to a Next.js App Router route export. Next passes
 * `{ params: Promise<...> }`; our handlers take plain params so tests can call
 * them without Next. The handler stays reachable as `.handler`, which lets
 * test/api/routes.test.ts check that each route file mounts exactly the
 * handler the route table (and so the tenant-isolation suite) names.
 */
export function mount(handler: THandler): TMounted {
  const mounted = async (req: Request, ctx: { params: Promise<Record<string, string | string[] | undefined>> }) => {
    const raw = (await ctx.params) ?? {};
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') params[k] = v;
    return handler(req, params);
  };
  return Object.assign(mounted, { handler });
}
