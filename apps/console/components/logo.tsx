import { cn } from '@/lib/utils';

/** The Crucible mark: a stylised crucible (vessel) with a flame, in the primary colour. */
export function Logo({ className, withText = true }: { className?: string; withText?: boolean }) {
  return (
    <span className={cn('inline-flex items-center gap-2 font-semibold tracking-tight', className)}>
      <span className="flex size-7 items-center justify-center rounded-lg bg-primary text-primary-foreground shadow-sm">
        <svg viewBox="0 0 24 24" className="size-4" fill="none" stroke="currentColor" strokeWidth="2.2" aria-hidden>
          <path d="M5 9h14l-1.6 9.2A2 2 0 0 1 15.4 20H8.6a2 2 0 0 1-2-1.8Z" strokeLinejoin="round" />
          <path d="M12 3c1.8 1.7 1.8 3.3 0 4.8C10.2 6.3 10.2 4.7 12 3Z" fill="currentColor" stroke="none" />
        </svg>
      </span>
      {withText ? <span>Crucible</span> : null}
    </span>
  );
}
