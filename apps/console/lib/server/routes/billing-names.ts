/**
 * Names for the billing breakdowns (issue 13, item 10): the ledger keeps ids (a member's user id, a job's cuid), so
 * the dashboard showed `cmxbcqs1k001g7a7dxrgnfvvd`. Every lookup is scoped to the workspace whose ledger is read:
 * an id that belongs to another workspace (or to a user who is not a member) gets no name, never someone else's.
 */
import { getPrisma } from '@crucible/db';

type TRow = { key: string; amount: string; lines: number };
type TBreakdowns = Record<'model' | 'job' | 'deployment' | 'apiKey' | 'member', TRow[]>;
export type TNamedRow = TRow & { name: string | null };

export async function nameBreakdowns(
  workspaceId: string,
  b: TBreakdowns,
): Promise<Record<keyof TBreakdowns, TNamedRow[]>> {
  const db = getPrisma();
  const ids = (k: keyof TBreakdowns) => b[k].map((r) => r.key);
  const [fineTuned, base, jobs, deployments, keys, members] = await Promise.all([
    db.fineTunedModel.findMany({
      where: { workspaceId, id: { in: ids('model') } },
      select: { id: true, name: true, displayName: true },
    }),
    db.baseModel.findMany({
      where: { id: { in: ids('model') }, OR: [{ workspaceId }, { workspaceId: null }] },
      select: { id: true, name: true, displayName: true },
    }),
    db.trainingJob.findMany({
      where: { workspaceId, id: { in: ids('job') } },
      select: {
        id: true,
        suffix: true,
        baseModel: { select: { name: true } },
        fineTunedModel: { select: { name: true } },
        trainingFile: { select: { number: true, dataset: { select: { name: true } } } },
      },
    }),
    db.deployment.findMany({ where: { workspaceId, id: { in: ids('deployment') } }, select: { id: true, name: true } }),
    db.apikey.findMany({
      where: { referenceId: workspaceId, id: { in: ids('apiKey') } },
      select: { id: true, name: true, start: true },
    }),
    db.member.findMany({
      where: { organizationId: workspaceId, userId: { in: ids('member') } },
      select: { userId: true, user: { select: { name: true, email: true } } },
    }),
  ]);
  const names: Record<keyof TBreakdowns, Map<string, string>> = {
    model: new Map([...base, ...fineTuned].map((m) => [m.id, m.displayName || m.name])),
    job: new Map(
      jobs.map((j) => [
        j.id,
        j.fineTunedModel?.name ??
          `${j.baseModel.name} · ${j.trainingFile.dataset.name} v${j.trainingFile.number}${j.suffix ? ` (${j.suffix})` : ''}`,
      ]),
    ),
    deployment: new Map(deployments.map((d) => [d.id, d.name])),
    apiKey: new Map(keys.map((k) => [k.id, k.name || (k.start ? `${k.start}…` : k.id)])),
    member: new Map(members.map((m) => [m.userId, m.user.name ? `${m.user.name} <${m.user.email}>` : m.user.email])),
  };
  return Object.fromEntries(
    (Object.keys(b) as (keyof TBreakdowns)[]).map((k) => [
      k,
      // A model is charged under its id (deployments) or under the name requests used (`ft:…`, a base name).
      b[k].map((r) => ({ ...r, name: names[k].get(r.key) ?? (k === 'model' ? r.key : null) })),
    ]),
  ) as Record<keyof TBreakdowns, TNamedRow[]>;
}

/** Whether budget alerts can be e-mailed: SMTP_URL is what the housekeeping worker's mailer needs (packages/billing mail.ts). */
export function mailConfigured(env: Record<string, string | undefined> = process.env): boolean {
  return Boolean(env.SMTP_URL?.trim());
}
