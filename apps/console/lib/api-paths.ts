// Every REST path the console's pages call, in one place (routes live in app/api/**, owned by the API).

const ws = (slug: string) => `/api/workspaces/${encodeURIComponent(slug)}`;

export const apiPaths = {
  me: '/api/me',
  workspaces: '/api/workspaces',
  workspace: ws,
  members: (slug: string) => `${ws(slug)}/members`,
  member: (slug: string, id: string) => `${ws(slug)}/members/${encodeURIComponent(id)}`,
  invitations: (slug: string) => `${ws(slug)}/invitations`,
  invitation: (slug: string, id: string) => `${ws(slug)}/invitations/${encodeURIComponent(id)}`,
  acceptInvitation: (id: string) => `/api/invitations/${encodeURIComponent(id)}/accept`,
  invitationInfo: (id: string) => `/api/invitations/${encodeURIComponent(id)}`,
  apiKeys: (slug: string) => `${ws(slug)}/api-keys`,
  apiKey: (slug: string, id: string) => `${ws(slug)}/api-keys/${encodeURIComponent(id)}`,
  datasets: (slug: string) => `${ws(slug)}/datasets`,
  fineTuningJobs: (slug: string) => `${ws(slug)}/fine-tuning/jobs`,
  models: (slug: string) => `${ws(slug)}/models`,
  deployments: (slug: string) => `${ws(slug)}/deployments`,
  usage: (slug: string) => `${ws(slug)}/usage`,
} as const;
