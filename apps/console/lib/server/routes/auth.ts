import { getAuth } from '@crucible/auth';

/** better-auth's own endpoints (/api/auth/sign-up/email, /sign-in/email, /sign-out, /organization/...). */
export async function authHandler(req: Request): Promise<Response> {
  return getAuth().handler(req);
}
