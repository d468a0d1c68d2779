/**
 * THE price code: the job estimate, the trainer's per-step charges, serving's per-request charges and the hourly
 * deployment accrual all resolve prices and compute amounts here, so an estimate and the ledger never disagree.
 * Amounts are Prisma.Decimal throughout: a binary float never touches money.
 */

import { getPrisma, Prisma, type TDb, type UsageCategory } from '@crucible/db';
import { DEFAULT_PRICE_CURRENCY, DEFAULT_PRICE_ITEMS, ensureDefaultPrices, findPriceItem } from '@crucible/db/billing';
import { BillingError } from './errors';

export type TMeter = 'training_tokens' | 'input_tokens' | 'output_tokens' | 'deployment_hours' | 'storage_gb_months';

/** Each meter's category and the unit its price is quoted in. */
export const METERS: Record<TMeter, { category: UsageCategory; unit: string }> = {
  training_tokens: { category: 'training', unit: '1K tokens' },
  input_tokens: { category: 'inference', unit: '1K tokens' },
  output_tokens: { category: 'inference', unit: '1K tokens' },
  deployment_hours: { category: 'deployment', unit: 'hour' },
  storage_gb_months: { category: 'storage', unit: 'GB-month' },
};

export const CURRENCIES = ['USD', 'CNY'] as const;
export type TCurrency = (typeof CURRENCIES)[number];

/** The instance's seeded default list (USD); seeded by ensureDefaultPrices (@crucible/db/billing). */
export const DEFAULT_PRICE_LIST = {
  name: 'Default',
  currency: DEFAULT_PRICE_CURRENCY as TCurrency,
  effectiveFrom: new Date(0),
  items: DEFAULT_PRICE_ITEMS as {
    category: UsageCategory;
    meter: TMeter;
    method?: string | null;
    unit: string;
    unitPrice: string;
  }[],
};
export { ensureDefaultPrices };

/** How many raw units (tokens, hours, GB-months) one priced unit holds. */
export function unitSize(unit: string): number {
  if (unit === '1K tokens') return 1000;
  if (unit === '1M tokens') return 1_000_000;
  return 1;
}

export type TDecimalLike = string | number | bigint | Prisma.Decimal;
export const dec = (v: TDecimalLike): Prisma.Decimal => {
  if (typeof v === 'number' && !Number.isInteger(v)) {
    throw new BillingError('invalid_input', `A fractional number (${v}) lost exactness; pass a decimal string.`);
  }
  return new Prisma.Decimal(typeof v === 'bigint' ? v.toString() : v);
};

/** The ledger stores amounts with 10 decimals: round half up there, once, so a line's amount is exactly its sum. */
export const AMOUNT_DECIMALS = 10;
export const QUANTITY_DECIMALS = 8;

/**
 * The charge for `raw` raw units (tokens, hours, GB-months) at `unitPrice` per `unit`:
 * quantity = raw / unitSize(unit) (8 decimals, as stored), amount = quantity × unitPrice (10 decimals).
 */
export function amountFor(raw: TDecimalLike, price: { unit: string; unitPrice: TDecimalLike }) {
  const r = dec(raw);
  if (r.isNegative()) throw new BillingError('invalid_input', 'A usage quantity cannot be negative.');
  // the ledger keeps 8 decimals of quantity: round it first, so every line's amount is exactly quantity × price
  const quantity = r.div(unitSize(price.unit)).toDecimalPlaces(QUANTITY_DECIMALS, Prisma.Decimal.ROUND_HALF_UP);
  const amount = quantity.mul(dec(price.unitPrice)).toDecimalPlaces(AMOUNT_DECIMALS, Prisma.Decimal.ROUND_HALF_UP);
  return { quantity, amount };
}

export type TPriceQuery = {
  workspaceId: string | null;
  meter: TMeter;
  /** base model name (training) or served model (inference); null = any */
  modelRef?: string | null;
  method?: string | null;
  workerClass?: string | null;
  /** the moment the usage happened: the price in force then applies */
  at?: Date;
};

export type TResolvedPrice = {
  priceItemId: string;
  priceListId: string;
  scope: 'workspace' | 'instance';
  currency: string;
  unit: string;
  unitPrice: Prisma.Decimal;
  effectiveFrom: Date;
};

/**
 * The price in force for (workspace, meter, model/method/worker class) at time `at`:
 *  1. a workspace override list beats the instance list;
 *  2. among those, the list with the latest effectiveFrom <= at (a newer list supersedes an older one entirely);
 *  3. within it, the item matching the most qualifiers (a "qwen2.5-7b + sft_lora" price beats a generic one).
 * An item whose qualifier is set and differs never applies. Seeds the default instance list when nothing matches.
 */
export async function resolvePrice(q: TPriceQuery, db: TDb = getPrisma()): Promise<TResolvedPrice> {
  const { category } = METERS[q.meter];
  const at = q.at ?? new Date();
  const best = await findPriceItem({ ...q, category, at }, db);
  if (!best) {
    throw new BillingError(
      'no_price',
      `No price list has a ${q.meter} price${q.modelRef ? ` for ${q.modelRef}` : ''}${q.workerClass ? ` (${q.workerClass})` : ''} on ${at.toISOString()}; add one under Billing → Prices.`,
      { meter: q.meter },
    );
  }
  return {
    priceItemId: best.id,
    priceListId: best.priceListId,
    scope: best.priceList.workspaceId ? 'workspace' : 'instance',
    currency: best.priceList.currency,
    unit: best.unit,
    unitPrice: best.unitPrice,
    effectiveFrom: best.priceList.effectiveFrom,
  };
}
