import { handleLocalDownload, handleLocalUpload } from '@crucible/storage';
import type { THandler } from '../http';

// The local storage driver's presigned upload/download targets (an HMAC token in the URL is the authorisation;
// both answer 404 when the driver is s3). Wrapped so the route table can list them like every other route.

export const storageUpload: THandler = (req) => handleLocalUpload(req);
export const storageDownload: THandler = (req) => handleLocalDownload(req);
