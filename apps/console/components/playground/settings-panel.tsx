'use client';

import * as React from 'react';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { useLocale, useT } from '@/lib/i18n/client';
import type { TSampling } from './stream';

export const DEFAULT_SAMPLING: TSampling = Object.freeze({ temperature: 0.7, topP: 0.95, maxTokens: 256 });

const LIMITS = {
  temperature: { min: 0, max: 2, step: 0.05 },
  topP: { min: 0, max: 1, step: 0.01 },
  maxTokens: { min: 1, max: 8192, step: 1 },
} as const;

const clamp = (value: number, key: keyof typeof LIMITS) =>
  Number.isFinite(value) ? Math.min(LIMITS[key].max, Math.max(LIMITS[key].min, value)) : DEFAULT_SAMPLING[key];

/** What is sent is always in range: an emptied or out-of-range field falls back to its default or its limit. */
export function clampSampling(s: TSampling): TSampling {
  return {
    temperature: clamp(s.temperature, 'temperature'),
    topP: clamp(s.topP, 'topP'),
    maxTokens: Math.round(clamp(s.maxTokens, 'maxTokens')),
  };
}

function Slider({
  label,
  value,
  field,
  onChange,
}: {
  label: string;
  value: number;
  field: 'temperature' | 'topP';
  onChange: (value: number) => void;
}) {
  const id = React.useId();
  const locale = useLocale();
  const limits = LIMITS[field];
  return (
    <div className="grid gap-2">
      <div className="flex items-center justify-between">
        <Label htmlFor={id}>{label}</Label>
        <span className="font-mono text-xs tabular-nums">
          {new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value)}
        </span>
      </div>
      <input
        id={id}
        type="range"
        min={limits.min}
        max={limits.max}
        step={limits.step}
        value={value}
        onChange={(e) => onChange(Number(e.target.value))}
        className="w-full accent-primary"
      />
    </div>
  );
}

/** System prompt and sampling settings, shared by both panes so a comparison changes only the model. */
export function SettingsPanel({
  system,
  onSystemChange,
  sampling,
  onSamplingChange,
}: {
  system: string;
  onSystemChange: (value: string) => void;
  sampling: TSampling;
  onSamplingChange: (value: TSampling) => void;
}) {
  const t = useT();
  const systemId = React.useId();
  const maxId = React.useId();
  return (
    <Card className="h-fit">
      <CardHeader className="pb-3">
        <CardTitle className="text-sm">{t('playground.settings')}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-5">
        <div className="grid gap-2">
          <Label htmlFor={systemId}>{t('playground.systemPrompt')}</Label>
          <textarea
            id={systemId}
            rows={5}
            value={system}
            placeholder={t('playground.systemPromptPlaceholder')}
            onChange={(e) => onSystemChange(e.target.value)}
            className="w-full resize-y rounded-md border border-input bg-card px-3 py-2 text-sm shadow-xs outline-none placeholder:text-muted-foreground/70 focus-visible:border-ring focus-visible:ring-[3px] focus-visible:ring-ring/30"
          />
        </div>
        <Slider
          label={t('playground.temperature')}
          field="temperature"
          value={sampling.temperature}
          onChange={(temperature) => onSamplingChange({ ...sampling, temperature })}
        />
        <Slider
          label={t('playground.topP')}
          field="topP"
          value={sampling.topP}
          onChange={(topP) => onSamplingChange({ ...sampling, topP })}
        />
        <div className="grid gap-2">
          <Label htmlFor={maxId}>{t('playground.maxTokens')}</Label>
          <Input
            id={maxId}
            type="number"
            min={LIMITS.maxTokens.min}
            max={LIMITS.maxTokens.max}
            value={Number.isFinite(sampling.maxTokens) ? sampling.maxTokens : ''}
            onChange={(e) =>
              onSamplingChange({ ...sampling, maxTokens: e.target.value === '' ? Number.NaN : Number(e.target.value) })
            }
          />
          <p className="text-xs text-muted-foreground">{t('playground.maxTokensHint')}</p>
        </div>
      </CardContent>
    </Card>
  );
}
