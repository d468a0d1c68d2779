import { recordAudit } from '@crucible/db';
import type { TWorkspaceContext } from './context';

/**
 * One audit-log line for a security-relevant change (who did what to whom).
 * Written after the change succeeds; a failure to write it is logged, not
 * turned into a failed request, since the change itself has happened.
 */
export async function audit(
  req: Request,
  actor: { workspaceId: string | null; user?: { id: string }; apiKey?: { id: string } },
  action: string,
  target?: { type: string; id: string },
  data?: Record<string, unknown>,
): Promise<void> {
  try {
    await recordAudit({
      workspaceId: actor.workspaceId,
      actorUserId: actor.user?.id ?? null,
      actorApiKeyId: actor.apiKey?.id ?? null,
      action,
      targetType: target?.type ?? null,
      targetId: target?.id ?? null,
      data: data ?? null,
      ip: req.headers.get('x-forwarded-for')?.split(',')[0]?.trim().slice(0, 100) || null,
      userAgent: req.headers.get('user-agent')?.slice(0, 1000) || null,
    });
  } catch (error) {
    console.error(`[audit] could not record ${action}`, error);
  }
}

/** The actor fields of a workspace context. */
export const actorOf = (ctx: TWorkspaceContext) => ({
  user: ctx.user,
  apiKey: ctx.apiKey,
  workspaceId: ctx.workspace.id,
});
