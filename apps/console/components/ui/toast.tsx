'use client';

import { CheckCircle2Icon, XCircleIcon, XIcon } from 'lucide-react';
import * as React from 'react';
import { cn } from '@/lib/utils';

// A small toaster instead of another dependency: a polite live region that screen readers announce, messages
// that dismiss themselves after a few seconds, and a close button reachable by keyboard.

type TToast = { id: number; title: string; description?: string; variant: 'success' | 'error' };
type TToastInput = Omit<TToast, 'id' | 'variant'> & { variant?: TToast['variant'] };

const ToastContext = React.createContext<((toast: TToastInput) => void) | null>(null);

const DISMISS_AFTER_MS = 4000;

export function Toaster({ children, closeLabel }: { children: React.ReactNode; closeLabel: string }) {
  const [toasts, setToasts] = React.useState<TToast[]>([]);
  const nextId = React.useRef(0);

  const dismiss = React.useCallback((id: number) => setToasts((all) => all.filter((t) => t.id !== id)), []);
  const push = React.useCallback(
    (input: TToastInput) => {
      const id = ++nextId.current;
      setToasts((all) => [...all.slice(-2), { variant: 'success', ...input, id }]);
      setTimeout(() => dismiss(id), DISMISS_AFTER_MS);
    },
    [dismiss],
  );

  return (
    <ToastContext.Provider value={push}>
      {children}
      <section
        aria-live="polite"
        aria-atomic="false"
        className="pointer-events-none fixed right-4 bottom-4 z-[60] flex w-[min(24rem,calc(100%-2rem))] flex-col gap-2"
      >
        {toasts.map((toast) => (
          <div
            key={toast.id}
            role={toast.variant === 'error' ? 'alert' : 'status'}
            className="pointer-events-auto flex animate-in items-start gap-3 rounded-lg border bg-popover p-4 text-popover-foreground shadow-lg"
          >
            {toast.variant === 'error' ? (
              <XCircleIcon className="mt-0.5 size-4 shrink-0 text-destructive" aria-hidden />
            ) : (
              <CheckCircle2Icon className="mt-0.5 size-4 shrink-0 text-success" aria-hidden />
            )}
            <div className="flex-1 text-sm">
              <p className="font-medium">{toast.title}</p>
              {toast.description ? <p className="mt-0.5 text-muted-foreground">{toast.description}</p> : null}
            </div>
            <button
              type="button"
              onClick={() => dismiss(toast.id)}
              className={cn(
                'rounded-sm opacity-60 outline-none hover:opacity-100 focus-visible:ring-[3px] focus-visible:ring-ring/40',
              )}
            >
              <XIcon className="size-4" aria-hidden />
              <span className="sr-only">{closeLabel}</span>
            </button>
          </div>
        ))}
      </section>
    </ToastContext.Provider>
  );
}

export function useToast() {
  const push = React.useContext(ToastContext);
  if (!push) throw new Error('useToast() must be used inside <Toaster>');
  return push;
}
