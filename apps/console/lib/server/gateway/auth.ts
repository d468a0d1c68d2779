import { authenticate, requireWorkspace } from '../context';
import { AppError } from '../errors';
import { checkRateLimit, type TRateLimit } from '../ratelimit';

export type TGatewayCaller = {
  workspaceId: string;
  workspaceSlug: string | null;
  apiKeyId: string | null;
  userId: string | null;
  /** The caller's rate-limit standing after counting this request (null: no limit configured). */
  rate: TRateLimit | null;
};

/**
 * A workspace API key (`Authorization: Bearer crk_...`), or — for the console's playground in the browser — the
 * session cookie plus `X-Crucible-Workspace: <slug>` (the caller must be a developer or above in that workspace;
 * cookie-authenticated POSTs must come from the console's own origin).
 */
export async function gatewayCaller(req: Request): Promise<TGatewayCaller> {
  if (req.headers.get('authorization')) {
    const principal = await authenticate(req);
    if (principal.kind !== 'apiKey') throw new AppError('unauthorized', 'This API takes a workspace API key.');
    return {
      workspaceId: principal.apiKey.workspaceId,
      workspaceSlug: null,
      apiKeyId: principal.apiKey.id,
      userId: null,
      rate: principal.rate,
    };
  }
  const slug = req.headers.get('x-crucible-workspace');
  if (!slug) {
    throw new AppError(
      'unauthorized',
      'You didn’t provide an API key: send Authorization: Bearer crk_... (or sign in and send X-Crucible-Workspace).',
    );
  }
  const ctx = await requireWorkspace(req, slug, 'developer');
  return {
    workspaceId: ctx.workspace.id,
    workspaceSlug: ctx.workspace.slug,
    apiKeyId: ctx.apiKey?.id ?? null,
    userId: ctx.user?.id ?? null,
    // A key was counted when it authenticated; a signed-in member (the playground) counts here.
    rate: ctx.apiKey ? null : await checkRateLimit(`user:${ctx.user?.id}:${ctx.workspace.id}`),
  };
}

/** The workspace of the Bearer API key; sessions are not accepted here (the programmatic /v1 Files and Fine-tuning APIs). */
export async function apiKeyWorkspace(req: Request): Promise<string> {
  if (!req.headers.get('authorization')) {
    throw new AppError('unauthorized', 'You didn’t provide an API key: send Authorization: Bearer crk_...');
  }
  const principal = await authenticate(req);
  if (principal.kind !== 'apiKey') throw new AppError('unauthorized', 'This API takes a workspace API key.');
  return principal.apiKey.workspaceId;
}
