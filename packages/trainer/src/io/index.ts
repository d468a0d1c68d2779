export { TrainerError, type TTrainerErrorCode } from './errors';
export {
  type Tensor,
  type Weights,
  type TLoadedWeights,
  type TSafetensorsDtype,
  readSafetensors,
  readSafetensorsSync,
  writeSafetensors,
  writeShardedSafetensors,
  loadWeights,
  loadWeightsSync,
} from './safetensors';
export { type Tokenizer, loadTokenizer, tokenizerFromJson } from './tokenizer';
export { type TInitModelOptions, initModel, initModelConfig, bundledTokenizerDir, QWEN25_CHAT_TEMPLATE } from './init-model';
export { f32ToBf16Bits, bf16BitsToF32, f32ToF16Bits, f16BitsToF32 } from './dtype';
