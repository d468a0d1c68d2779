/** @crucible/billing — price resolution, charging, ledger reports and budgets. See README.md. */
export {
  assertWithinBudget,
  budgetStatus,
  checkAllBudgetAlerts,
  checkBudgetAlerts,
  percentOf,
  type TBudgetInput,
  ZBudgetInput,
} from './budgets';
export {
  accrueDeploymentHours,
  accrueStorage,
  assertInferenceChargeable,
  billedHours,
  chargeInference,
  chargeTraining,
  estimateTrainingCost,
  settleDeploymentRun,
} from './charges';
export { BillingError, isBillingError, type TBillingErrorCode } from './errors';
export {
  createSmtpMailer,
  DEFAULT_MAIL_FROM,
  describeSmtpUrl,
  loadMailEnv,
  type TMail,
  type TMailEnv,
  type TMailer,
  ZMailEnv,
} from './mail';
export {
  budgetAlertMail,
  deliverBudgetAlerts,
  NO_RECIPIENTS_REASON,
  NO_SMTP_REASON,
  NOTIFY_MAX_ATTEMPTS,
  notificationOf,
  type TDeliveryResult,
} from './notify';
export { instanceBillingOverview } from './overview';
export {
  AMOUNT_DECIMALS,
  amountFor,
  CURRENCIES,
  DEFAULT_PRICE_LIST,
  dec,
  ensureDefaultPrices,
  METERS,
  QUANTITY_DECIMALS,
  resolvePrice,
  type TCurrency,
  type TMeter,
  type TPriceQuery,
  type TResolvedPrice,
  unitSize,
} from './prices';
export {
  breakdowns,
  CATEGORIES,
  csvField,
  dailySeries,
  dayOf,
  dayRange,
  forecastOf,
  ledgerCsv,
  lineOut,
  monthlyStatement,
  monthStart,
  parseDay,
  statementCsv,
  type TCategory,
  type TLineOut,
  totalsOf,
  usageReport,
  workspaceSummary,
} from './reports';
export { priceItemsOf, type TPriceListInput, ZPriceItemInput, ZPriceListInput } from './schemas';
