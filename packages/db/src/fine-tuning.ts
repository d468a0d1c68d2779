/**
 * Data access for fine-tuning jobs shared by the trainer worker and the console: metrics written once per job and
 * step, and the training price from the price list (a default list is seeded when an instance has none, so a
 * fresh install can charge and estimate).
 */
import { Prisma } from '@prisma/client';
import { pickPriceItem } from './billing';
import { getPrisma, type TDb } from './client';

export type TTrainingMetricInput = {
  workspaceId: string;
  jobId: string;
  step: number;
  epoch?: number | null;
  loss?: number | null;
  evalLoss?: number | null;
  learningRate?: number | null;
  gradNorm?: number | null;
  tokensPerSecond?: number | null;
  tokensSeen?: number | null;
};

const finite = (v: number | null | undefined) => (v === undefined || v === null || !Number.isFinite(v) ? undefined : v);

/**
 * One row per (job, step): a second delivery of the same step (a resumed run recomputing the steps after its last
 * checkpoint, a redelivered message) updates the row instead of adding one. Fields the update does not carry are
 * kept (an eval loss arrives after the step's training loss).
 */
export async function upsertTrainingMetric(m: TTrainingMetricInput, db: TDb = getPrisma()) {
  const values = {
    epoch: finite(m.epoch),
    loss: finite(m.loss),
    evalLoss: finite(m.evalLoss),
    learningRate: finite(m.learningRate),
    gradNorm: finite(m.gradNorm),
    tokensPerSecond: finite(m.tokensPerSecond),
    tokensSeen: m.tokensSeen === undefined || m.tokensSeen === null ? undefined : BigInt(Math.round(m.tokensSeen)),
  };
  return db.trainingMetric.upsert({
    where: { jobId_step: { jobId: m.jobId, step: m.step } },
    create: { workspaceId: m.workspaceId, jobId: m.jobId, step: m.step, ...values },
    update: values,
  });
}

export const DEFAULT_TRAINING_PRICE = { unit: '1K tokens', unitPrice: '0.003', currency: 'USD' } as const;

export type TTrainingPrice = { priceItemId: string; unit: string; unitPrice: Prisma.Decimal; currency: string };

/**
 * The training-token price that applies to a workspace now: the newest effective list of the workspace, else of
 * the instance; within it an item for the method beats a generic one. Seeds the instance default list
 * ("Default", USD 0.003 per 1K training tokens) when no list has a training price at all.
 */
export async function getTrainingPrice(
  workspaceId: string,
  method: string | null,
  db: TDb = getPrisma(),
): Promise<TTrainingPrice> {
  const find = () =>
    db.priceItem.findMany({
      where: {
        category: 'training',
        meter: 'training_tokens',
        priceList: { effectiveFrom: { lte: new Date() }, OR: [{ workspaceId }, { workspaceId: null }] },
      },
      include: { priceList: true },
    });
  let items = await find();
  if (items.length === 0) {
    await db.priceList.create({
      data: {
        name: 'Default',
        currency: DEFAULT_TRAINING_PRICE.currency,
        effectiveFrom: new Date(0),
        items: {
          create: {
            category: 'training',
            meter: 'training_tokens',
            unit: DEFAULT_TRAINING_PRICE.unit,
            unitPrice: new Prisma.Decimal(DEFAULT_TRAINING_PRICE.unitPrice),
          },
        },
      },
    });
    items = await find();
  }
  // the one ranking rule shared with @crucible/billing (workspace over instance, newest list, most specific item)
  const best = pickPriceItem(items, { method }) ?? items[0];
  return { priceItemId: best.id, unit: best.unit, unitPrice: best.unitPrice, currency: best.priceList.currency };
}

/** Price of `tokens` training tokens at `price` (units "1K tokens" or "1M tokens"; anything else: per token). */
export function trainingAmount(tokens: number | bigint, price: Pick<TTrainingPrice, 'unit' | 'unitPrice'>) {
  const per = price.unit === '1K tokens' ? 1000 : price.unit === '1M tokens' ? 1_000_000 : 1;
  const quantity = new Prisma.Decimal(tokens.toString()).div(per);
  return { quantity, amount: quantity.mul(price.unitPrice) };
}
