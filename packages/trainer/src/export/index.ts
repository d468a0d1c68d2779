export { ggufTensorName, permuteRows, writeGgufLora, writeGgufModel } from './gguf';
export { GgmlType, GgufType, quantizeQ8_0, type TGgufTensor, type TGgufValue, writeGguf } from './gguf-format';
export {
  ALL_LORA_TARGETS,
  baseKeyOf,
  expandTargets,
  loraPairs,
  loraScale,
  mergeAdapter,
  mergeLoraInto,
  peftAdapterConfig,
  readPeftAdapter,
  type TPeftAdapterConfig,
  type TPeftMeta,
  writePeftAdapter,
} from './peft';
