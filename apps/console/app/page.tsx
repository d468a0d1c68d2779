import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { getMe } from '@/lib/me';
import { LAST_WORKSPACE_COOKIE } from '@/lib/workspace-cookie';

// "/" sends people where they were: the last workspace they opened, else their first one, else onboarding.
export default async function Home() {
  const me = await getMe();
  if (!me) redirect('/sign-in');
  const last = (await cookies()).get(LAST_WORKSPACE_COOKIE)?.value;
  const target = me.workspaces.find((w) => w.slug === last) ?? me.workspaces[0];
  redirect(target ? `/w/${target.slug}/datasets` : '/onboarding');
}
