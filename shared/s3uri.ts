import { SpotTrainingError } from './errors.js';
/** Messages of S3UriError complete "the URI must …". */
/** An S3 location treated as a folder: `prefix` is empty or ends with `/`, so `run-1/` never matches `run-10/`. */
export interface S3Location {
  bucket: string;
  prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class S3UriError extends SpotTrainingError {}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!match) throw new S3UriError('look like s3://bucket/prefix');
  const bucket = match[1] ?? '';
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw new S3UriError(`name a valid bucket, not '${bucket}'`);
  const path = match[2] ?? '';
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw new S3UriError('not contain control characters or backslashes');
  const segments = path.split('/').filter((segment, i, all) => !(segment === '' && i === all.length - 1));
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new S3UriError('not have an empty, "." or ".." path segment');
  }
  return { bucket, prefix: segments.length ? `${segments.join('/')}/` : '' };
}

/**
 * An S3 URI as a bucket and a key prefix taken as written, not as a folder: SageMaker's S3Prefix
 * channel is every key that starts with it, and a ManifestFile's URI names one object.
 */
export function parseS3KeyPrefix(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new S3UriError('look like s3://bucket/prefix');
  return { bucket: match[1] ?? '', prefix: match[2] ?? '' };
}
