'use client';

import { Badge } from '@/components/ui/badge';
import { useT } from '@/lib/i18n/client';
import type { TMessageKey } from '@/lib/i18n/translate';

const JOB_VARIANT = {
  validating_files: 'secondary',
  queued: 'secondary',
  running: 'default',
  succeeded: 'success',
  failed: 'destructive',
  cancelled: 'outline',
} as const;

export function JobStatusBadge({ status }: { status: string }) {
  const t = useT();
  const variant = JOB_VARIANT[status as keyof typeof JOB_VARIANT] ?? 'secondary';
  const label = status in JOB_VARIANT ? t(`fineTuning.status.${status}` as TMessageKey) : status;
  return <Badge variant={variant}>{label}</Badge>;
}

const DEPLOYMENT_VARIANT: Record<string, 'success' | 'secondary' | 'destructive' | 'default'> = {
  running: 'success',
  deploying: 'default',
  stopped: 'secondary',
  failed: 'destructive',
};

export function DeploymentStatusBadge({ status }: { status: string }) {
  const t = useT();
  const label = status in DEPLOYMENT_VARIANT ? t(`deployments.status.${status}` as TMessageKey) : status;
  return <Badge variant={DEPLOYMENT_VARIANT[status] ?? 'secondary'}>{label}</Badge>;
}
