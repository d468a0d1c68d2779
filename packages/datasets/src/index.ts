// @crucible/datasets: uploaded files -> canonical rows (OpenAI chat / DPO / text), streaming validation with
// coded problems, statistics, version diffs and search. The console's upload API and pages build on this.

export { DETAIL_CODES, DETAILS, detail, type TDetailCode } from './details';
export { convertRow, detectRowFormat, type TDetection } from './formats/detect';
export type { TConverted, TIssue } from './formats/issues';
export {
  datasetAttrFromEntry,
  findDatasetAttr,
  parseDatasetInfo,
  type TDatasetAttr,
  type TDatasetInfoError,
} from './formats/llamafactory';
export { type TLlamaFactoryImportError, validateLlamaFactory } from './llamafactory-import';
export { containerFromName, type TSource } from './parse/records';
export { readXlsxRows } from './parse/table';
export { findPlaceholders, replacePlaceholders } from './placeholders';
export { PROBLEMS, severityOf, type TProblem, type TProblemCode, type TProblemGroup, type TSeverity } from './problems';
export { lossSegments, renderChatML, rowTurns, type TSegment } from './render';
export { SAMPLE_JSONL } from './sample';
export {
  computeStats,
  createStatsCollector,
  distribution,
  histogram,
  percentile,
  STATS_DEFAULTS,
  type TDatasetStats,
  type TDistribution,
  type THistogramBin,
  type TStatsOptions,
  type TTokenStats,
} from './stats';
export * from './types';
export {
  type TInvalidRow,
  type TRowInfo,
  type TValidateOptions,
  type TValidationLimits,
  type TValidationReport,
  toCanonicalJsonl,
  VALIDATION_DEFAULTS,
  validateStream,
  withCarriedRows,
} from './validate';
export {
  defaultRowKey,
  diffVersions,
  FIELD_CHANGES_MAX,
  fieldChanges,
  readCanonicalJsonl,
  searchRows,
  type TFieldChange,
  type TRowChange,
  type TRowRef,
  type TSearchHit,
  type TSearchResult,
  type TVersionDiff,
} from './versions';
