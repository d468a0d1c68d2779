// Typed failures of the hub downloader: a stable code the CLI and the console switch on, and a sentence that says
// what to do (set HF_TOKEN, free disk space, check the repo id).
export type THubErrorCode =
  | 'BAD_REPO_ID'
  | 'REPO_NOT_FOUND'
  | 'REVISION_NOT_FOUND'
  | 'FILE_NOT_FOUND'
  | 'AUTH_REQUIRED'
  | 'NO_MATCHING_FILES'
  | 'SIZE_MISMATCH'
  | 'CHECKSUM_MISMATCH'
  | 'DISK_FULL'
  | 'NETWORK'
  | 'HUB_ERROR'
  | 'ABORTED';

export class HubError extends Error {
  readonly code: THubErrorCode;
  readonly status?: number;
  constructor(code: THubErrorCode, message: string, status?: number) {
    super(message);
    this.name = 'HubError';
    this.code = code;
    this.status = status;
  }
}
