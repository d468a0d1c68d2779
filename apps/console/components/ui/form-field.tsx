'use client';

import * as React from 'react';
import type { z } from 'zod';
import { issueMessage } from '@/lib/api-client';
import { cn } from '@/lib/utils';
import { Label } from './label';

/**
 * A labelled control with a hint and a validation error. The error and hint are wired to the control with
 * aria-describedby / aria-invalid so screen readers read them when the field gets focus.
 */
export function FormField({
  label,
  hint,
  error,
  className,
  children,
}: {
  label: string;
  hint?: string;
  error?: string;
  className?: string;
  children: React.ReactElement<Record<string, unknown>>;
}) {
  const id = React.useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  const control = React.cloneElement(children, {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
  });
  return (
    <div className={cn('grid gap-2', className)}>
      <Label htmlFor={id}>{label}</Label>
      {control}
      {hint && !error ? (
        <p id={hintId} className="text-xs text-muted-foreground">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="text-xs font-medium text-destructive" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export type TFieldErrors = Record<string, string | undefined>;

/**
 * Turns a zod error (v4 `issues`) into one message per top-level field, so forms validate with the same schemas
 * as the API (`lib/schemas.ts`) and show errors beside the right input.
 */
export function fieldErrors(error: { issues: ReadonlyArray<z.core.$ZodIssue> }) {
  const errors: TFieldErrors = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? '_form');
    errors[field] ??= issueMessage(issue);
  }
  return errors;
}
