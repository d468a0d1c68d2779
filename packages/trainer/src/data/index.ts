export {
  type Template,
  type TChatMessage,
  type TRole,
  type TEncoded,
  type TEncodeOptions,
  getTemplate,
  inferSeqlen,
  encodePairs,
  pyJsonDumps,
  IGNORE_INDEX,
  TEMPLATE_NAMES,
} from './template';
export {
  type Example,
  type TIdentity,
  loadDatasets,
  readConvertedRows,
  supervisedExamples,
  pretrainExamples,
  splitValidation,
  identityFrom,
  mulberry32,
} from './datasets';
export { type TDatasetAttr, type TConvertedRow, readDatasetInfo, resolveDataset, readRows, convertRows } from './formats';
