export {
  DEFAULT_ALLOW_PATTERNS,
  downloadModel,
  MANIFEST_FILE,
  type TDownloadManifest,
  type TDownloadOptions,
  type TDownloadProgress,
  type TDownloadResult,
} from './download';
export { HubError, type THubErrorCode } from './errors';
export { globToRegExp, matchesAny } from './patterns';
export { defaultEndpoint, defaultToken, type THubSource } from './sources';
