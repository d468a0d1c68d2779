import type { Metadata } from 'next';
import { InviteCard } from '@/components/invite-card';
import { LocaleSwitcher } from '@/components/locale-switcher';
import { Logo } from '@/components/logo';
import { getT } from '@/lib/i18n/server';
import { getMe } from '@/lib/me';
import { invitationPreview } from '@/lib/server/routes/invitations';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('invite.title') };
}

export default async function InvitePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const me = await getMe();
  // Signed out: name the workspace and role now, and carry the invited address to sign-up.
  const preview = me ? null : await invitationPreview(id);
  return (
    <div className="flex min-h-dvh flex-col">
      <div className="flex items-center justify-between p-4 sm:px-8">
        <Logo />
        <LocaleSwitcher signedIn={me !== null} />
      </div>
      <main className="flex flex-1 items-center justify-center px-6 pb-20">
        <InviteCard id={id} signedIn={me !== null} preview={preview} />
      </main>
    </div>
  );
}
