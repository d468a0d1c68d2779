// @crucible/datasets: uploaded files -> canonical rows (OpenAI chat / DPO / text), streaming validation with
// coded problems, statistics, version diffs and search. The console's upload API and pages build on this.

export * from './types';
export { PROBLEMS, type TProblem, type TProblemCode, type TProblemGroup, type TSeverity, severityOf } from './problems';
export { detectRowFormat, convertRow, type TDetection } from './formats/detect';
export type { TConverted, TIssue } from './formats/issues';
export {
  parseDatasetInfo,
  findDatasetAttr,
  datasetAttrFromEntry,
  type TDatasetAttr,
  type TDatasetInfoError,
} from './formats/llamafactory';
export { findPlaceholders, replacePlaceholders } from './placeholders';
export { containerFromName, type TSource } from './parse/records';
export { readXlsxRows } from './parse/table';
export {
  validateStream,
  toCanonicalJsonl,
  VALIDATION_DEFAULTS,
  type TValidateOptions,
  type TValidationLimits,
  type TValidationReport,
  type TRowInfo,
} from './validate';
export { renderChatML, rowTurns } from './render';
export {
  computeStats,
  createStatsCollector,
  distribution,
  histogram,
  percentile,
  STATS_DEFAULTS,
  type TStatsOptions,
  type TDatasetStats,
  type TDistribution,
  type THistogramBin,
  type TTokenStats,
} from './stats';
export {
  readCanonicalJsonl,
  diffVersions,
  defaultRowKey,
  searchRows,
  type TVersionDiff,
  type TRowRef,
  type TRowChange,
  type TSearchResult,
  type TSearchHit,
} from './versions';
export { validateLlamaFactory } from './llamafactory-import';
