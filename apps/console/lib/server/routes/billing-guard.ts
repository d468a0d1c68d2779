import { fromBillingError } from '@crucible/services/budget';
import { isServiceError } from '@crucible/services/errors';
import { fromServiceError } from '../errors';

/**
 * Billing errors as API errors: bad input 400, no price 409, hard budget limit 402 `budget_exceeded` (the mapping
 * of @crucible/services, whose requireWithinBudget guards every operation that starts billed work).
 */
export function billingToAppError(error: unknown): unknown {
  const mapped = fromBillingError(error);
  return isServiceError(mapped) ? fromServiceError(mapped) : mapped;
}
