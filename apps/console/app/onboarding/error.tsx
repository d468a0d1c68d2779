'use client';

import { ErrorView } from '@/components/error-view';

export default function RootError(props: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main className="mx-auto flex min-h-dvh max-w-xl items-center px-6">
      <div className="w-full">
        <ErrorView {...props} />
      </div>
    </main>
  );
}
