export type TBillingErrorCode =
  /** No price list (instance or workspace) has a price for this meter at that time. */
  | 'no_price'
  /**
   * A workspace's monthly hard limit is reached: new jobs, deployments and API requests are refused until the next
   * month or a higher budget.
   */
  | 'budget_exceeded'
  /** Input failed validation (a bad date range, a negative quantity, ...). */
  | 'invalid_input';

/** A billing error with a stable code and a sentence a person can act on. */
export class BillingError extends Error {
  readonly code: TBillingErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: TBillingErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'BillingError';
    this.code = code;
    this.details = details;
  }
}

export const isBillingError = (e: unknown, code?: TBillingErrorCode): e is BillingError =>
  e instanceof BillingError && (code === undefined || e.code === code);
