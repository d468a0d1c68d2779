import { assertWithinBudget, isBillingError } from '@crucible/billing';
import { AppError, type TAppErrorCode } from '../errors';

/**
 * An AppError whose code is `budget_exceeded` (HTTP 402): the shared error table has no such code, so this
 * subclass carries its own code and status; toResponse() answers `{ error: { code: 'budget_exceeded', ... } }`.
 */
export class BudgetExceededError extends AppError {
  constructor(message: string) {
    super('conflict', message, null);
    Object.defineProperty(this, 'code', { value: 'budget_exceeded' as TAppErrorCode });
  }
  override get status(): number {
    return 402;
  }
}

/** Billing errors as API errors: bad input 400, no price 409, hard budget limit 402 `budget_exceeded`. */
export function billingToAppError(error: unknown): unknown {
  if (!isBillingError(error)) return error;
  if (error.code === 'budget_exceeded') return new BudgetExceededError(error.message);
  if (error.code === 'invalid_input') return new AppError('invalid_request', error.message);
  return new AppError('conflict', error.message);
}

/** For routes that start work (fine-tuning jobs, deployments): refuses once a hard budget limit is reached. */
export async function requireWithinBudget(workspaceId: string): Promise<void> {
  try {
    await assertWithinBudget(workspaceId);
  } catch (error) {
    throw billingToAppError(error);
  }
}
