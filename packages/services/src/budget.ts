import { assertWithinBudget, isBillingError } from '@crucible/billing';
import { ServiceError } from './errors';

/** Billing errors as service errors: bad input `invalid_request`, no price `conflict`, hard limit `budget_exceeded`. */
export function fromBillingError(error: unknown): unknown {
  if (!isBillingError(error)) return error;
  if (error.code === 'budget_exceeded') return new ServiceError('budget_exceeded', error.message);
  if (error.code === 'invalid_input') return new ServiceError('invalid_request', error.message);
  return new ServiceError('conflict', error.message);
}

/**
 * Refuses once the workspace's hard budget limit is reached. Every operation that starts billed work (a fine-tuning
 * job, a deployment start or restart) calls it first, before anything else is looked at.
 */
export async function requireWithinBudget(workspaceId: string): Promise<void> {
  try {
    await assertWithinBudget(workspaceId);
  } catch (error) {
    throw fromBillingError(error);
  }
}
