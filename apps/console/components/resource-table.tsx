'use client';

import { AlertTriangleIcon } from 'lucide-react';
import type * as React from 'react';
import { Button } from '@/components/ui/button';
import { EmptyState } from '@/components/ui/empty-state';
import { Skeleton } from '@/components/ui/skeleton';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { useT } from '@/lib/i18n/client';
import type { TListState } from '@/lib/use-list';

export type TColumn<T> = { header: string; cell: (item: T) => React.ReactNode; className?: string };

/** Loading skeleton, error with retry, empty state, or the table — the four states every list page has. */
export function ResourceTable<T extends { id: string }>({
  state,
  columns,
  empty,
  onRetry,
  label,
}: {
  state: TListState<T>;
  columns: TColumn<T>[];
  empty: React.ReactNode;
  onRetry: () => void;
  label: string;
}) {
  const t = useT();
  if (state.status === 'loading') return <TableSkeleton columns={columns.length} label={t('common.loading')} />;
  if (state.status === 'error') {
    return (
      <EmptyState
        icon={AlertTriangleIcon}
        title={t('errors.title')}
        description={state.error.code === 'network' ? t('errors.network') : t('errors.unknown')}
        action={
          <Button variant="outline" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        }
      />
    );
  }
  if (state.items.length === 0) return <>{empty}</>;
  return (
    <Table aria-label={label}>
      <TableHeader>
        <TableRow className="hover:bg-transparent">
          {columns.map((column) => (
            <TableHead key={column.header} className={column.className}>
              {column.header}
            </TableHead>
          ))}
        </TableRow>
      </TableHeader>
      <TableBody>
        {state.items.map((item) => (
          <TableRow key={item.id}>
            {columns.map((column) => (
              <TableCell key={column.header} className={column.className}>
                {column.cell(item)}
              </TableCell>
            ))}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

export function TableSkeleton({ columns = 4, rows = 4, label }: { columns?: number; rows?: number; label: string }) {
  return (
    <div role="status" aria-label={label} className="overflow-hidden rounded-xl border bg-card shadow-xs">
      <div className="flex gap-6 border-b bg-muted/50 px-4 py-3">
        {Array.from({ length: columns }, (_, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
          <Skeleton key={i} className="h-3 flex-1" />
        ))}
      </div>
      {Array.from({ length: rows }, (_, r) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
        <div key={r} className="flex gap-6 border-b px-4 py-4 last:border-0">
          {Array.from({ length: columns }, (_, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: static placeholders
            <Skeleton key={i} className="h-4 flex-1" />
          ))}
        </div>
      ))}
    </div>
  );
}
