import { z } from 'zod';
import { QUEUE_NAMES } from '../constants';
import { defineJob } from './define';

/**
 * `evaluation.run`: every model of an evaluation answers every row, each answer scored (issue 16). Only the id: the
 * Evaluation row says what to run, holds its progress, cancel flag and outcome, and its stored answers are what a
 * resumed run skips. It runs on the serving workers (the llama.cpp path the models are served on), from a queue of
 * its own.
 */
export const ZEvaluationJobPayload = z.strictObject({
  evaluationId: z.string().min(1, 'evaluationId is required').max(64),
});
export type TEvaluationJobPayload = z.infer<typeof ZEvaluationJobPayload>;

export const evaluationRunJob = defineJob({
  id: 'evaluation.run',
  version: 1,
  queue: QUEUE_NAMES.evaluations,
  schema: ZEvaluationJobPayload,
});
