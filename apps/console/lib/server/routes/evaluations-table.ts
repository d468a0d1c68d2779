import { ZAddEvaluationRowsToDataset } from '../../schemas';
import type { TRouteDef } from '../route-table';
import {
  addEvaluationRowsToDatasetRoute,
  cancelEvaluationRoute,
  createEvaluation,
  exportEvaluation,
  getEvaluation,
  getWinRates,
  listEvaluationRows,
  listEvaluations,
  nextRatingPair,
  rateEvaluationPair,
  ZCreateEvaluation,
} from './evaluations';

const WS = '/api/workspaces/[slug]';
const E = `${WS}/evaluations/[evaluationId]`;

/** Evaluations and their blind A/B ratings (issue 16), spliced into ROUTES (route-table.ts). */
export const EVALUATION_ROUTES: TRouteDef[] = [
  {
    method: 'GET',
    path: `${WS}/evaluations`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listEvaluations,
    summary: 'Evaluations with their status and progress',
  },
  {
    method: 'POST',
    path: `${WS}/evaluations`,
    scope: 'workspace',
    minRole: 'developer',
    handler: createEvaluation,
    body: {
      name: 'eval',
      models: [{ kind: 'base', id: 'none' }],
      source: { datasetVersionId: 'none' },
      criteria: [{ type: 'exact_match' }],
    },
    summary: 'Evaluate models on a dataset version (or a job validation file): BLEU/ROUGE, exact match, JSON, judge',
    requestSchema: ZCreateEvaluation,
  },
  {
    method: 'GET',
    path: E,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getEvaluation,
    summary: 'One evaluation with its metric table (each model mean of each score)',
  },
  {
    method: 'POST',
    path: `${E}/cancel`,
    scope: 'workspace',
    minRole: 'developer',
    handler: cancelEvaluationRoute,
    summary: 'Cancel an evaluation (answers made so far stay)',
  },
  {
    method: 'GET',
    path: `${E}/rows`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: listEvaluationRows,
    summary: 'Rows with every model answer side by side (?sort=index|disagreement&metric&offset&limit)',
  },
  {
    method: 'GET',
    path: `${E}/export`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: exportEvaluation,
    summary: 'Download the answers and scores (?format=csv|jsonl)',
  },
  {
    method: 'POST',
    path: `${E}/add-to-dataset`,
    scope: 'workspace',
    minRole: 'developer',
    handler: addEvaluationRowsToDatasetRoute,
    body: { rows: [{ index: 0, keep: 'label' }], datasetName: 'from-evaluation' },
    requestSchema: ZAddEvaluationRowsToDataset,
    summary:
      "Append rows (each prompt with the label or a model's answer, edited) to a new draft version of a ChatML dataset",
  },
  {
    method: 'POST',
    path: `${E}/ratings`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: nextRatingPair,
    summary: 'The next blind A/B pair for the signed-in member (sides random, models hidden)',
  },
  {
    method: 'POST',
    path: `${E}/ratings/[ratingId]`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: rateEvaluationPair,
    body: { verdict: 'tie' },
    summary: 'Rate a blind pair: left, right or tie; answers the next pair',
  },
  {
    method: 'GET',
    path: `${E}/win-rates`,
    scope: 'workspace',
    minRole: 'viewer',
    handler: getWinRates,
    summary: 'Win rates per model pair from the blind ratings, ties as half, 95% Wilson intervals',
  },
];
