'use client';

import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { useT } from '@/lib/i18n/client';

/** The billing pages' "from / to" day pickers (YYYY-MM-DD); an emptied field keeps its last day. */
export function DateRange({
  idPrefix,
  from,
  to,
  onFrom,
  onTo,
}: {
  idPrefix: string;
  from: string;
  to: string;
  onFrom: (day: string) => void;
  onTo: (day: string) => void;
}) {
  const t = useT();
  return (
    <>
      <div className="grid gap-1">
        <Label htmlFor={`${idPrefix}-from`}>{t('billing.from')}</Label>
        <Input
          id={`${idPrefix}-from`}
          type="date"
          value={from}
          max={to}
          onChange={(e) => e.target.value && onFrom(e.target.value)}
        />
      </div>
      <div className="grid gap-1">
        <Label htmlFor={`${idPrefix}-to`}>{t('billing.to')}</Label>
        <Input
          id={`${idPrefix}-to`}
          type="date"
          value={to}
          min={from}
          onChange={(e) => e.target.value && onTo(e.target.value)}
        />
      </div>
    </>
  );
}
