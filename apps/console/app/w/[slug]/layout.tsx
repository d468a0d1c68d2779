import { notFound, redirect } from 'next/navigation';
import type * as React from 'react';
import { AppShell } from '@/components/shell/app-shell';
import { getMe } from '@/lib/me';

export default async function WorkspaceLayout({
  children,
  params,
}: {
  children: React.ReactNode;
  params: Promise<{ slug: string }>;
}) {
  const { slug } = await params;
  const me = await getMe();
  if (!me) redirect(`/sign-in?next=${encodeURIComponent(`/w/${slug}/datasets`)}`);
  // Not a member (or no such workspace): 404, the same answer the API gives, so we never confirm it exists.
  const workspace = me.workspaces.find((w) => w.slug === slug);
  if (!workspace) notFound();
  return (
    <AppShell me={me} workspace={workspace}>
      {children}
    </AppShell>
  );
}
