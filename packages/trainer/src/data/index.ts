export { countTrainTokens, type TTrainTokenCount } from './count';
export {
  type Example,
  identityFrom,
  loadDatasets,
  mulberry32,
  pretrainExamples,
  readConvertedRows,
  splitValidation,
  supervisedExamples,
  type TIdentity,
} from './datasets';
export {
  convertRow,
  convertRows,
  readDatasetInfo,
  readRows,
  resolveDataset,
  streamRows,
  type TConvertedRow,
  type TDatasetAttr,
} from './formats';
export {
  createExampleStore,
  type ExampleList,
  type ExampleSource,
  type ExampleStore,
} from './store';
export {
  encodePairs,
  getTemplate,
  IGNORE_INDEX,
  inferSeqlen,
  pyJsonDumps,
  type TChatMessage,
  TEMPLATE_NAMES,
  type TEncoded,
  type TEncodeOptions,
  type Template,
  type TRole,
} from './template';
