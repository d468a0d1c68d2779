export {
  bestModelOf,
  closestKey,
  frozenDtypeOf,
  gradientCheckpointingOf,
  loadChatConfig,
  loadTrainConfig,
  parseChatConfig,
  parseTrainConfig,
  type TBestModel,
  type TConfigWarning,
} from './load';
export {
  dataCutoffLen,
  IGNORED_CHAT_KEYS,
  IGNORED_TRAIN_KEYS,
  LORA_TARGET_MODULES,
  type TChatConfig,
  type TTrainConfig,
  UNSUPPORTED_TRAIN_KEYS,
  ZChatConfig,
  ZTrainConfig,
} from './schema';
