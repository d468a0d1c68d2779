import { getSessionCookie } from 'better-auth/cookies';
import { type NextRequest, NextResponse } from 'next/server';

/**
 * Optimistic check only: no session cookie means "not signed in", so we send the browser to /sign-in before
 * rendering anything. The real check (session valid in the database, membership, role) happens in the server
 * layouts and in every API route; a stale cookie gets past here and is redirected there.
 */
export function proxy(request: NextRequest) {
  if (getSessionCookie(request)) return NextResponse.next();
  const url = new URL('/sign-in', request.url);
  const target = request.nextUrl.pathname + request.nextUrl.search;
  if (target !== '/') url.searchParams.set('next', target);
  return NextResponse.redirect(url);
}

export const config = { matcher: ['/', '/onboarding', '/w/:path*'] };
