// better-auth's endpoints: sign up, sign in, sign out, sessions, organization (workspace) helpers.
import { authHandler } from '../../../../lib/server/routes/auth';

export const dynamic = 'force-dynamic';

export const GET = (req: Request) => authHandler(req);
export const POST = (req: Request) => authHandler(req);
