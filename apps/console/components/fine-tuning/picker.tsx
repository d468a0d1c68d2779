'use client';

import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from '@/components/ui/select';

export type TPickerOption = { value: string; label: string; disabled?: boolean };

/**
 * The component system's Select as a single control FormField can wire up: the id and aria attributes FormField
 * passes land on the trigger, so the field's label names the picker for screen readers (and tests).
 */
export function Picker({
  value,
  onChange,
  options,
  placeholder,
  disabled,
  ...aria
}: {
  value: string;
  onChange: (value: string) => void;
  options: TPickerOption[];
  placeholder?: string;
  disabled?: boolean;
  id?: string;
  'aria-invalid'?: boolean;
  'aria-describedby'?: string;
}) {
  return (
    <Select value={value || undefined} onValueChange={onChange} disabled={disabled}>
      <SelectTrigger {...aria}>
        <SelectValue placeholder={placeholder} />
      </SelectTrigger>
      <SelectContent>
        {options.map((o) => (
          <SelectItem key={o.value} value={o.value} disabled={o.disabled}>
            {o.label}
          </SelectItem>
        ))}
      </SelectContent>
    </Select>
  );
}
