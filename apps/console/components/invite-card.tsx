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

export function InviteCard({ id, signedIn }: { id: string; signedIn: boolean }) {
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
    return (
      <Frame>
        <CardHeader>
          <Icon />
          <CardTitle className="text-xl">{t('invite.title')}</CardTitle>
          <CardDescription>{t('invite.signInFirst')}</CardDescription>
        </CardHeader>
        <CardFooter className="justify-end">
          <Button variant="outline" asChild>
            <Link href={`/sign-up?next=${next}`}>{t('auth.signUpLink')}</Link>
          </Button>
          <Button asChild>
            <Link href={`/sign-in?next=${next}`}>{t('auth.signIn')}</Link>
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
