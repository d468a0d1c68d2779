import { randomInt } from 'node:crypto';
import { getPrisma } from '@crucible/db';
import type { TEvaluationRow } from '@crucible/services';
import { AppError } from '../errors';

/**
 * Human evaluation (issue 16): blind A/B ratings of an evaluation's answers. The server picks a row and a pair of
 * models the member has not rated yet, puts them on random sides, and stores the assignment as a pending rating; the
 * page gets the two texts and the rating's id only, never which model wrote which. A rating is `left`, `right` or
 * `tie`; win rates per model pair count a tie as half a win for each side, with a 95% Wilson score interval.
 */

/** z for a two-sided 95% interval: the 0.975 quantile of the standard normal. */
const Z95 = 1.959963984540054;

/**
 * The Wilson score interval of a proportion `successes / n` (successes may be fractional: ties count half). Null for
 * no trials. Wilson (1927); the interval of `statsmodels.stats.proportion.proportion_confint(method='wilson')`.
 */
export function wilsonInterval(successes: number, n: number, z = Z95): [number, number] | null {
  if (n <= 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

type TPair = { rowIndex: number; a: number; b: number };

/**
 * The member's next blind pair: the pending one they were already shown, else a (row, model pair) they have not rated,
 * at random, among rows where both models answered without error. Null when there is none left.
 */
export async function nextPair(ev: TEvaluationRow, userId: string) {
  const db = getPrisma();
  let rating = await db.evaluationRating.findFirst({
    where: { evaluationId: ev.id, userId, verdict: null },
    orderBy: { createdAt: 'asc' },
  });
  if (!rating) {
    const [outputs, rated] = await Promise.all([
      db.evaluationOutput.findMany({
        where: { evaluationId: ev.id, errorCode: null },
        select: { rowIndex: true, modelIndex: true },
      }),
      db.evaluationRating.findMany({
        where: { evaluationId: ev.id, userId },
        select: { rowIndex: true, leftModel: true, rightModel: true },
      }),
    ]);
    const seen = new Set(
      rated.map((r) => `${r.rowIndex}:${Math.min(r.leftModel, r.rightModel)}:${Math.max(r.leftModel, r.rightModel)}`),
    );
    const byRow = new Map<number, number[]>();
    for (const o of outputs) byRow.set(o.rowIndex, [...(byRow.get(o.rowIndex) ?? []), o.modelIndex]);
    const open: TPair[] = [];
    for (const [rowIndex, models] of byRow) {
      const sorted = [...models].sort((x, y) => x - y);
      for (let i = 0; i < sorted.length; i++) {
        for (let j = i + 1; j < sorted.length; j++) {
          if (!seen.has(`${rowIndex}:${sorted[i]}:${sorted[j]}`)) open.push({ rowIndex, a: sorted[i], b: sorted[j] });
        }
      }
    }
    if (!open.length) return null;
    const pick = open[randomInt(open.length)];
    const swap = randomInt(2) === 1;
    rating = await db.evaluationRating.create({
      data: {
        evaluationId: ev.id,
        userId,
        rowIndex: pick.rowIndex,
        leftModel: swap ? pick.b : pick.a,
        rightModel: swap ? pick.a : pick.b,
      },
    });
  }
  const [row, answers, ratedCount] = await Promise.all([
    db.evaluationRow.findUnique({ where: { evaluationId_index: { evaluationId: ev.id, index: rating.rowIndex } } }),
    db.evaluationOutput.findMany({
      where: {
        evaluationId: ev.id,
        rowIndex: rating.rowIndex,
        modelIndex: { in: [rating.leftModel, rating.rightModel] },
      },
      select: { modelIndex: true, text: true },
    }),
    db.evaluationRating.count({ where: { evaluationId: ev.id, userId, verdict: { not: null } } }),
  ]);
  const text = (model: number) => answers.find((a) => a.modelIndex === model)?.text ?? '';
  return {
    id: rating.id,
    messages: (row?.messages ?? []) as { role: string; content: string }[],
    label: row?.label ?? '',
    left: text(rating.leftModel),
    right: text(rating.rightModel),
    rated: ratedCount,
  };
}

/** Records the member's verdict on a pair they were shown; a pair is rated once. */
export async function ratePair(
  ev: TEvaluationRow,
  userId: string,
  ratingId: string,
  verdict: 'left' | 'right' | 'tie',
) {
  const db = getPrisma();
  const { count } = await db.evaluationRating.updateMany({
    where: { id: ratingId, evaluationId: ev.id, userId, verdict: null },
    data: { verdict, ratedAt: new Date() },
  });
  if (count === 1) return;
  const exists = await db.evaluationRating.findFirst({ where: { id: ratingId, evaluationId: ev.id, userId } });
  if (!exists) throw new AppError('not_found', 'No such pair to rate.');
  throw new AppError('conflict', 'This pair is already rated.');
}

/**
 * Every member's ratings per model pair (a < b by model index): wins of each, ties, and a's win rate with ties as half
 * a win, with its 95% Wilson interval (b's is the mirror: 1 - rate, [1 - hi, 1 - lo]).
 */
export async function winRates(ev: TEvaluationRow) {
  const ratings = await getPrisma().evaluationRating.findMany({
    where: { evaluationId: ev.id, verdict: { not: null } },
    select: { leftModel: true, rightModel: true, verdict: true },
  });
  const pairs = new Map<string, { a: number; b: number; winsA: number; winsB: number; ties: number }>();
  for (const r of ratings) {
    const a = Math.min(r.leftModel, r.rightModel);
    const b = Math.max(r.leftModel, r.rightModel);
    const key = `${a}:${b}`;
    const p = pairs.get(key) ?? { a, b, winsA: 0, winsB: 0, ties: 0 };
    const winner = r.verdict === 'left' ? r.leftModel : r.verdict === 'right' ? r.rightModel : null;
    if (winner === null) p.ties += 1;
    else if (winner === a) p.winsA += 1;
    else p.winsB += 1;
    pairs.set(key, p);
  }
  const model = (i: number) => {
    const m = ev.models.find((x) => x.index === i);
    return { index: i, name: m?.name ?? '', displayName: m?.displayName ?? '' };
  };
  return [...pairs.values()]
    .sort((x, y) => x.a - y.a || x.b - y.b)
    .map((p) => {
      const n = p.winsA + p.winsB + p.ties;
      return {
        a: model(p.a),
        b: model(p.b),
        n,
        winsA: p.winsA,
        winsB: p.winsB,
        ties: p.ties,
        winRateA: (p.winsA + p.ties / 2) / n,
        interval: wilsonInterval(p.winsA + p.ties / 2, n),
      };
    });
}
