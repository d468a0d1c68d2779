/** Request shapes shared by the console API and its forms. */
import { z } from 'zod';
import { CURRENCIES, METERS, type TMeter } from './prices';

const meters = Object.keys(METERS) as [TMeter, ...TMeter[]];
const qualifier = z
  .string()
  .trim()
  .max(200)
  .optional()
  .nullable()
  .transform((v) => (v ? v : null));

export const ZPriceItemInput = z.object({
  meter: z.enum(meters),
  unitPrice: z.string().regex(/^\d{1,13}(\.\d{1,10})?$/, 'a decimal price such as "0.0015"'),
  /** per-1K price units for token meters; "1M tokens" is accepted too */
  unit: z.enum(['1K tokens', '1M tokens', 'hour', 'GB-month']).optional(),
  modelRef: qualifier,
  method: qualifier,
  workerClass: qualifier,
});

export const ZPriceListInput = z.object({
  name: z.string().trim().min(1).max(100),
  currency: z.enum(CURRENCIES),
  /** ISO date or datetime; defaults to now. A price change applies from here on, never to past lines. */
  effectiveFrom: z
    .string()
    .datetime({ offset: true })
    .or(z.string().regex(/^\d{4}-\d{2}-\d{2}$/))
    .optional(),
  items: z.array(ZPriceItemInput).min(1).max(200),
});
export type TPriceListInput = z.infer<typeof ZPriceListInput>;

/** Items with category and unit filled in from the meter. */
export function priceItemsOf(input: TPriceListInput) {
  return input.items.map((i) => {
    const m = METERS[i.meter];
    const unit = m.unit === '1K tokens' ? (i.unit === '1M tokens' ? '1M tokens' : '1K tokens') : m.unit;
    return {
      category: m.category,
      meter: i.meter,
      unit,
      unitPrice: i.unitPrice,
      modelRef: i.modelRef,
      method: i.method,
      workerClass: i.workerClass,
    };
  });
}
