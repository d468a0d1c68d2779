'use client';

import { CheckIcon, CopyIcon } from 'lucide-react';
import Link from 'next/link';
import * as React from 'react';
import { Button } from '@/components/ui/button';
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '@/components/ui/tabs';
import { useWorkspace } from '@/components/workspace-context';
import { useT } from '@/lib/i18n/client';
import { curlSnippet, jsSnippet, pythonSnippet, SNIPPET_KEY_ENV, type TSnippetInput } from './snippets';

const LANGUAGES = [
  { id: 'curl', make: curlSnippet },
  { id: 'python', make: pythonSnippet },
  { id: 'javascript', make: jsSnippet },
] as const;

/** A code sample with a copy button (also the model page's snippets and card). */
export function CodeBlock({ code, testId }: { code: string; testId: string }) {
  const t = useT();
  const [copied, setCopied] = React.useState(false);
  return (
    <div className="relative">
      <pre
        data-testid={testId}
        className="max-h-[50vh] overflow-auto rounded-lg border bg-muted/60 p-4 font-mono text-xs leading-relaxed"
      >
        {code}
      </pre>
      <Button
        type="button"
        size="sm"
        variant="outline"
        className="absolute top-2 right-2"
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(code);
            setCopied(true);
            setTimeout(() => setCopied(false), 2000);
          } catch {
            // Clipboard refused (insecure origin): the code stays selectable in the block.
          }
        }}
      >
        {copied ? <CheckIcon aria-hidden /> : <CopyIcon aria-hidden />}
        {copied ? t('common.copied') : t('common.copy')}
      </Button>
    </div>
  );
}

/** "View code": the current request as curl, Python `openai` and JS `openai`, against APP_URL/v1. */
export function CodeDialog({
  open,
  onOpenChange,
  input,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  input: TSnippetInput;
}) {
  const t = useT();
  const { workspace } = useWorkspace();
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent closeLabel={t('common.close')} className="sm:max-w-3xl">
        <DialogHeader>
          <DialogTitle>{t('playground.code.title')}</DialogTitle>
          <DialogDescription>
            {t('playground.code.description', { env: SNIPPET_KEY_ENV })}{' '}
            <Link
              href={`/w/${workspace.slug}/settings?tab=api-keys`}
              className="font-medium text-primary underline-offset-4 hover:underline"
            >
              {t('playground.code.apiKeysLink')}
            </Link>
          </DialogDescription>
        </DialogHeader>
        <Tabs defaultValue="curl">
          <TabsList>
            {LANGUAGES.map((language) => (
              <TabsTrigger key={language.id} value={language.id}>
                {t(`playground.code.${language.id}`)}
              </TabsTrigger>
            ))}
          </TabsList>
          {LANGUAGES.map((language) => (
            <TabsContent key={language.id} value={language.id} className="pt-4">
              <CodeBlock code={language.make(input)} testId={`code-${language.id}`} />
            </TabsContent>
          ))}
        </Tabs>
      </DialogContent>
    </Dialog>
  );
}
