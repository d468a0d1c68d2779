import { Skeleton } from '@/components/ui/skeleton';

/** The loading.tsx body of list pages: header placeholder + table placeholder, shaped like the real page. */
export function PageSkeleton() {
  return (
    <div role="status" aria-busy="true" className="animate-in">
      <div className="mb-8 flex items-end justify-between gap-4">
        <div className="space-y-3">
          <Skeleton className="h-7 w-48" />
          <Skeleton className="h-4 w-96 max-w-full" />
        </div>
        <Skeleton className="h-9 w-36" />
      </div>
      <div className="overflow-hidden rounded-xl border bg-card">
        {Array.from({ length: 5 }, (_, r) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
          <div key={r} className="flex gap-6 border-b px-4 py-4 last:border-0">
            <Skeleton className="h-4 flex-[2]" />
            <Skeleton className="h-4 flex-1" />
            <Skeleton className="h-4 flex-1" />
          </div>
        ))}
      </div>
    </div>
  );
}
