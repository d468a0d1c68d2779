import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { SignUpForm } from '@/components/auth/sign-up-form';
import { getT } from '@/lib/i18n/server';
import { getMe } from '@/lib/me';
import { safeNext } from '@/lib/safe-next';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getT())('auth.signUp') };
}

export default async function SignUpPage({
  searchParams,
}: {
  searchParams: Promise<{ next?: string; email?: string }>;
}) {
  const { next, email } = await searchParams;
  // Already signed in: go where the link was heading (an invitation) or home.
  if (await getMe()) redirect(safeNext(next));
  return <SignUpForm next={next} email={typeof email === 'string' ? email.slice(0, 320) : undefined} />;
}
