export {
  type TPeftMeta,
  type TPeftAdapterConfig,
  ALL_LORA_TARGETS,
  expandTargets,
  peftAdapterConfig,
  writePeftAdapter,
  readPeftAdapter,
  mergeAdapter,
  mergeLoraInto,
  loraPairs,
  loraScale,
  baseKeyOf,
} from './peft';
export { writeGgufModel, writeGgufLora, ggufTensorName, permuteRows } from './gguf';
export { writeGguf, quantizeQ8_0, GgmlType, GgufType, type TGgufTensor, type TGgufValue } from './gguf-format';
