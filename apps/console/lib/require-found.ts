import 'server-only';
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import type { THandler } from './server/http';

/**
 * A detail page's 404 (issue 13, item 13): a missing dataset, job or model showed "Something went wrong" (or a bare
 * "Loading…" turned error) with a 200 page. The page asks the same REST handler its client component reads — called
 * in-process with this request's cookies, like `getMe`, so the workspace check is the API's own — and answers with
 * the segment's not-found page (HTTP 404) when the API says 404.
 */
export async function requireFound(handler: THandler, params: Record<string, string>): Promise<void> {
  const res = await handler(new Request('http://console.internal/', { headers: await headers() }), params);
  await res.body?.cancel();
  if (res.status === 404) notFound();
}
