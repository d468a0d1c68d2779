import { StorageError } from './errors';
import { MULTIPART_MAX_PARTS } from './types';

/**
 * Object keys. One bucket, one prefix per workspace: `workspaces/{workspaceId}/{datasets|jobs|models|...}/...`.
 *
 * Keys are validated the same way for every driver, so a key that the local driver refuses (because it would
 * escape STORAGE_DIR) is refused on S3 too; code that works on one driver works on the other.
 */

const MAX_KEY_BYTES = 1024; // S3's own limit

// A segment may not be empty (no `a//b`, no leading or trailing slash), may not start with a dot (no `.`, `..`,
// and room for the local driver's own `.tmp`/`.meta` folders), and may not contain a backslash or control
// characters (Windows separators, NUL bytes, header injection through presigned URLs).
const isBadSegment = (segment: string) =>
  segment.startsWith('.') ||
  segment.includes('\\') ||
  [...segment].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export function assertValidKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new StorageError('invalid_key', 'An object key must be a non-empty string.');
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new StorageError('invalid_key', `The object key is longer than ${MAX_KEY_BYTES} bytes.`);
  }
  for (const segment of key.split('/')) {
    if (segment.length === 0 || isBadSegment(segment)) {
      throw new StorageError(
        'invalid_key',
        `The object key "${key.slice(0, 200)}" is not allowed: segments must be non-empty, must not start with "." and must not contain "\\" or control characters.`,
      );
    }
  }
  return key;
}

/** A prefix is a key (or empty) that may end with "/". */
export function assertValidPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/**
 * `workspaceKey('ws_1', 'datasets', 'ds_2', 'v1.jsonl')` -> `workspaces/ws_1/datasets/ds_2/v1.jsonl`.
 * Every part is validated, so a user-supplied file name cannot climb out of its workspace.
 */
export function workspaceKey(workspaceId: string, ...parts: string[]): string {
  if (!workspaceId) throw new StorageError('invalid_key', 'workspaceKey needs a workspace id.');
  for (const part of [workspaceId, ...parts]) {
    if (part.includes('/')) {
      throw new StorageError('invalid_key', `A key part may not contain "/": "${part.slice(0, 200)}".`);
    }
  }
  return assertValidKey(['workspaces', workspaceId, ...parts].join('/'));
}

/**
 * `instanceKey('models', 'bm_1')` -> `instance/models/bm_1`: what belongs to the instance rather than a workspace
 * (base models an instance admin adds for everyone, the first-run demo model). Not billed to any workspace.
 */
export function instanceKey(...parts: string[]): string {
  for (const part of parts) {
    if (!part || part.includes('/'))
      throw new StorageError('invalid_key', `Bad instance key part "${part.slice(0, 200)}".`);
  }
  return assertValidKey(['instance', ...parts].join('/'));
}

/** The prefix that holds everything of one workspace (for listing or deleting it). */
export function workspacePrefix(workspaceId: string): string {
  return `${workspaceKey(workspaceId)}/`;
}

/** A multipart upload's part number: 1..10000, as S3 allows. */
export function assertValidPartNumber(partNumber: number): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MULTIPART_MAX_PARTS) {
    throw new StorageError(
      'invalid_part',
      `Part numbers are integers from 1 to ${MULTIPART_MAX_PARTS}, not ${partNumber}.`,
    );
  }
}
