'use client';

import { MailOpenIcon } from 'lucide-react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardFooter, CardHeader, CardTitle } from '@/components/ui/card';
import { Skeleton } from '@/components/ui/skeleton';
import { useToast } from '@/components/ui/toast';
import { ApiError, api } from '@/lib/api-client';
import { apiPaths } from '@/lib/api-paths';
import { useT } from '@/lib/i18n/client';
import type { TWorkspaceRole } from '@/lib/schemas';

type TInvitationView = {
  id: string;
  role: TWorkspaceRole;
  status: string;
  workspace: { name: string; slug: string };
  inviterName?: string;
};

type TState = { status: 'loading' } | { status: 'invalid' } | { status: 'ready'; invitation: TInvitationView };

function Frame({ children }: { children: React.ReactNode }) {
  return <Card className="w-full max-w-md shadow-lg">{children}</Card>;
}

function Icon() {
  return (
    <div className="mb-2 flex size-11 items-center justify-center rounded-xl bg-primary/10 text-primary">
      <MailOpenIcon className="size-5" aria-hidden />
    </div>
  );
}

/** What a signed-out visitor may see of a pending invitation (lib/server/routes/invitations.ts invitationPreview). */
export type TInvitationPreview = {
  workspace: { name: string };
  role: string;
  email: string;
  inviterName?: string | null;
};

export function InviteCard({
  id,
  signedIn,
  preview,
}: {
  id: string;
  signedIn: boolean;
  preview?: TInvitationPreview | null;
}) {
  const t = useT();
  const router = useRouter();
  const toast = useToast();
  const [state, setState] = React.useState<TState>({ status: signedIn ? 'loading' : 'invalid' });
  const [pending, setPending] = React.useState(false);

  React.useEffect(() => {
    if (!signedIn) return;
    api<TInvitationView>(apiPaths.invitationInfo(id))
      .then((invitation) =>
        setState(invitation.status === 'pending' ? { status: 'ready', invitation } : { status: 'invalid' }),
      )
      .catch(() => setState({ status: 'invalid' }));
  }, [id, signedIn]);

  if (!signedIn) {
    const next = encodeURIComponent(`/invite/${id}`);
    const email = preview ? `&email=${encodeURIComponent(preview.email)}` : '';
    return (
      <Frame>
        <CardHeader>
          <Icon />
          <CardTitle className="text-xl">
            {preview ? t('invitePreview.title', { workspace: preview.workspace.name }) : t('invite.title')}
          </CardTitle>
          <CardDescription data-testid="invite-preview">
            {preview
              ? t(preview.inviterName ? 'invitePreview.byInviter' : 'invitePreview.body', {
                  inviter: preview.inviterName ?? '',
                  email: preview.email,
                  workspace: preview.workspace.name,
                  role: roleName(t, preview.role),
                })
              : t('invite.signInFirst')}
          </CardDescription>
        </CardHeader>
        {preview ? (
          <CardContent className="text-sm text-muted-foreground">{t('invitePreview.next')}</CardContent>
        ) : null}
        <CardFooter className="justify-end">
          <Button variant="outline" asChild>
            <Link href={`/sign-up?next=${next}${email}`}>{t('auth.signUpLink')}</Link>
          </Button>
          <Button asChild>
            <Link href={`/sign-in?next=${next}${email}`}>{t('auth.signIn')}</Link>
          </Button>
        </CardFooter>
      </Frame>
    );
  }

  if (state.status === 'loading') {
    return (
      <Frame>
        <CardHeader>
          <Skeleton className="h-6 w-48" />
          <Skeleton className="mt-2 h-4 w-64" />
        </CardHeader>
        <CardContent>
          <Skeleton className="h-9 w-full" />
        </CardContent>
      </Frame>
    );
  }

  if (state.status === 'invalid') {
    return (
      <Frame>
        <CardHeader>
          <Icon />
          <CardTitle className="text-xl">{t('invite.title')}</CardTitle>
          <CardDescription>
            {t('invite.invalid')} {t('invite.wrongAccount')}
          </CardDescription>
        </CardHeader>
        <CardFooter className="justify-end">
          <Button asChild>
            <Link href="/">{t('errors.goHome')}</Link>
          </Button>
        </CardFooter>
      </Frame>
    );
  }

  const { invitation } = state;
  async function accept() {
    setPending(true);
    try {
      await api(apiPaths.acceptInvitation(id), { method: 'POST' });
      router.push(`/w/${invitation.workspace.slug}/datasets`);
      router.refresh();
    } catch (error) {
      setPending(false);
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) setState({ status: 'invalid' });
      else toast({ title: t('errors.unknown'), variant: 'error' });
    }
  }
  return (
    <Frame>
      <CardHeader>
        <Icon />
        <CardTitle className="text-xl">{t('invite.title')}</CardTitle>
        <CardDescription>
          {t('invite.description', { workspace: invitation.workspace.name, role: t(`roles.${invitation.role}`) })}
        </CardDescription>
      </CardHeader>
      <CardFooter className="justify-end">
        <Button variant="outline" asChild>
          <Link href="/">{t('invite.decline')}</Link>
        </Button>
        <Button onClick={accept} loading={pending}>
          {pending ? t('invite.accepting') : t('invite.accept')}
        </Button>
      </CardFooter>
    </Frame>
  );
}

function roleName(t: ReturnType<typeof useT>, role: string): string {
  return role === 'owner' || role === 'admin' || role === 'developer' || role === 'viewer' ? t(`roles.${role}`) : role;
}
