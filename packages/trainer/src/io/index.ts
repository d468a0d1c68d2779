export { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './dtype';
export { TrainerError, type TTrainerErrorCode } from './errors';
export {
  bundledTokenizerDir,
  initModel,
  initModelConfig,
  QWEN25_CHAT_TEMPLATE,
  type TInitModelOptions,
} from './init-model';
export {
  loadWeights,
  loadWeightsSync,
  openSafetensors,
  openWeights,
  readSafetensors,
  readSafetensorsSync,
  type Tensor,
  type TLoadedWeights,
  type TSafetensorsDtype,
  type TStoredTensor,
  type TStoredWeights,
  type Weights,
  writeSafetensors,
  writeShardedSafetensors,
} from './safetensors';
export { loadTokenizer, type Tokenizer, tokenizerFromJson } from './tokenizer';
