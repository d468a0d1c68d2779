export {
  ZTrainConfig,
  type TTrainConfig,
  ZChatConfig,
  type TChatConfig,
  IGNORED_TRAIN_KEYS,
  IGNORED_CHAT_KEYS,
  LORA_TARGET_MODULES,
} from './schema';
export { loadTrainConfig, loadChatConfig, parseTrainConfig, parseChatConfig, closestKey, type TConfigWarning } from './load';
