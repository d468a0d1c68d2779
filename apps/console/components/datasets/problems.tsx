'use client';

import { DownloadIcon } from 'lucide-react';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { useT } from '@/lib/i18n/client';
import { datasetDetailText, datasetProblemText } from '@/lib/i18n/domain';
import type { TProblemGroup } from './api';

/** Validation problems grouped by code, with counts and the first examples (line, field, detail). */
export function ProblemsPanel({ problems, onDownload }: { problems: TProblemGroup[]; onDownload: () => void }) {
  const t = useT();
  return (
    <Card>
      <CardHeader className="flex flex-row items-center justify-between">
        <CardTitle>{t('datasets.problemsTitle')}</CardTitle>
        <Button variant="outline" size="sm" onClick={onDownload}>
          <DownloadIcon aria-hidden />
          {t('datasets.downloadReport')}
        </Button>
      </CardHeader>
      <CardContent>
        {problems.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t('datasets.noProblems')}</p>
        ) : (
          <ul className="space-y-3" data-testid="problems">
            {problems.map((p) => (
              <li key={p.code} className="rounded-lg border p-3">
                <div className="flex flex-wrap items-center gap-2">
                  <Badge variant={p.severity === 'error' ? 'destructive' : 'secondary'}>
                    {p.severity === 'error' ? t('datasets.error') : t('datasets.warning')}
                  </Badge>
                  <code className="text-sm font-medium">{p.code}</code>
                  <span className="text-xs text-muted-foreground">{t('datasets.occurrences', { count: p.count })}</span>
                </div>
                <p className="mt-1 text-sm">{datasetProblemText(t, p.code, p.message)}</p>
                <ul className="mt-2 space-y-0.5 text-xs text-muted-foreground">
                  {p.examples.map((e) => (
                    <li key={`${e.line}-${e.field ?? ''}`}>
                      {t('datasets.lineField', { line: e.line, field: e.field ?? '—' })}
                      {e.detail ? `: ${datasetDetailText(t, e)}` : ''}
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
