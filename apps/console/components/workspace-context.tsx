'use client';

import * as React from 'react';
import type { TMe, TMyWorkspace } from '@/lib/me';

type TWorkspaceContext = { workspace: TMyWorkspace; me: TMe };

const Context = React.createContext<TWorkspaceContext | null>(null);

export function WorkspaceProvider({ value, children }: { value: TWorkspaceContext; children: React.ReactNode }) {
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

/** The workspace of the current /w/[slug] page and the signed-in user, as loaded by the shell layout. */
export function useWorkspace(): TWorkspaceContext {
  const value = React.useContext(Context);
  if (!value) throw new Error('useWorkspace() must be used inside /w/[slug]');
  return value;
}
