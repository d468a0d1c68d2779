'use client';

import { CheckIcon, CopyIcon } from 'lucide-react';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { useToast } from '@/components/ui/toast';
import { useT } from '@/lib/i18n/client';

/** A read-only value (an invite link, a new API key) with a copy button that confirms what it did. */
export function CopyField({ value, label }: { value: string; label: string }) {
  const t = useT();
  const toast = useToast();
  const [copied, setCopied] = React.useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // Clipboard access can be refused (insecure origin, permissions): select the text so Ctrl+C works.
      document.getElementById(inputId)?.focus();
      (document.getElementById(inputId) as HTMLInputElement | null)?.select();
      return;
    }
    setCopied(true);
    toast({ title: t('common.copiedToClipboard') });
    setTimeout(() => setCopied(false), 2000);
  }
  const inputId = React.useId();
  return (
    <div className="flex gap-2">
      <Input
        id={inputId}
        readOnly
        value={value}
        aria-label={label}
        className="font-mono text-xs"
        onFocus={(e) => e.currentTarget.select()}
      />
      <Button type="button" variant="outline" onClick={copy} aria-live="polite">
        {copied ? <CheckIcon aria-hidden /> : <CopyIcon aria-hidden />}
        {copied ? t('common.copied') : t('common.copy')}
      </Button>
    </div>
  );
}
