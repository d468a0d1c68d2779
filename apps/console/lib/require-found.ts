import 'server-only';
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import type { THandler } from './server/http';

/**
 * A detail page's "not found" (issue 13, item 13): a missing dataset, job or model showed "Something went wrong".
 * The page asks the same REST handler its client component reads — called in-process with this request's cookies,
 * like `getMe`, so the workspace check is the API's own — and renders the segment's not-found page when the API
 * says 404. (The HTTP status is 404 only where no loading.tsx has streamed the page already.)
 */
export async function requireFound(handler: THandler, params: Record<string, string>): Promise<void> {
  const res = await handler(new Request('http://console.internal/', { headers: await headers() }), params);
  await res.body?.cancel();
  if (res.status === 404) notFound();
}
