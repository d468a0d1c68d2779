import { cn } from '@/lib/utils';

/** A thin accessible progress bar; `value` is 0–100, or null when the total is not known yet. */
export function ProgressBar({ value, label, className }: { value: number | null; label: string; className?: string }) {
  const pct = value === null ? null : Math.max(0, Math.min(100, value));
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct === null ? undefined : Math.round(pct)}
      className={cn('h-2 w-full overflow-hidden rounded-full bg-muted', className)}
    >
      <div
        className={cn(
          'h-full rounded-full bg-primary transition-[width] duration-500',
          pct === null && 'animate-pulse',
        )}
        style={{ width: `${pct ?? 100}%`, opacity: pct === null ? 0.25 : 1 }}
      />
    </div>
  );
}
