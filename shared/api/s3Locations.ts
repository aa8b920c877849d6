import type { Config } from '../config.js';
import { PROTOCOL_PREFIXES } from '../protocol.js';
import { parseS3Uri, S3UriError, type S3Location } from '../s3uri.js';
import { wirePath, type FieldReader } from './fields.js';

/**
 * The rule for every S3 location a job reads or writes: in a bucket the deployment allows (no
 * job reads or writes someone else's bucket), and never inside the control bucket's own
 * prefixes, which hold the agent protocol: a job's objects there would be read as
 * instructions and reports, and a job reading them would see other jobs' instructions.
 */
function allowed(reader: FieldReader, uri: string, field: string, location: S3Location, config: Config, touchesProtocol: boolean): boolean {
  if (!config.allowedBuckets.includes(location.bucket)) {
    reader.invalid(`${field} ${uri} is in bucket ${location.bucket}, which this deployment does not allow; allowed: ${config.allowedBuckets.join(', ')}`);
    return false;
  }
  if (location.bucket === config.controlBucket && touchesProtocol) {
    reader.invalid(
      `${field} ${uri} is inside the control bucket's own ${location.prefix === '' ? 'root' : `prefix ${location.prefix.split('/')[0]}/`}, which holds the agent protocol (${PROTOCOL_PREFIXES.join(', ')}); use a folder such as s3://${config.controlBucket}/data/, s3://${config.controlBucket}/checkpoints/ or s3://${config.controlBucket}/output/`,
    );
    return false;
  }
  return true;
}

function parsed(reader: FieldReader, uri: string, path: string): S3Location | undefined {
  try {
    return parseS3Uri(uri);
  } catch (error) {
    if (!(error instanceof S3UriError)) throw error;
    reader.problem(path, uri, error.message);
    return undefined;
  }
}

/** A folder the job writes to (checkpoints, output, TensorBoard), named as the request does (`CheckpointConfig.S3Uri`): returned as `s3://bucket/prefix/`. */
export function writableFolder(reader: FieldReader, uri: string, field: string, config: Config): string | undefined {
  const location = parsed(reader, uri, wirePath(field));
  if (!location) return undefined;
  const inProtocol = location.prefix === '' || PROTOCOL_PREFIXES.some((p) => location.prefix.startsWith(p));
  return allowed(reader, uri, field, location, config, inProtocol) ? `s3://${location.bucket}/${location.prefix}` : undefined;
}

/**
 * A channel's S3Uri, kept as submitted. For S3Prefix it is a key prefix, as SageMaker reads it
 * (every key that starts with it), so `s3://control-bucket/c` would take in `control/…`: it is
 * refused whenever a protocol key could start with it. A ManifestFile is one object.
 */
export function readableChannelUri(reader: FieldReader, uri: string, field: string, path: string, prefixMatch: boolean, config: Config): string | undefined {
  const location = parsed(reader, uri, path);
  if (!location) return undefined;
  const key = uri.slice(`s3://${location.bucket}/`.length);
  if (!prefixMatch && (key === '' || key.endsWith('/'))) {
    reader.problem(path, uri, 'name the manifest object, not a folder');
    return undefined;
  }
  const inProtocol = PROTOCOL_PREFIXES.some((p) => key.startsWith(p) || (prefixMatch && p.startsWith(key)));
  return allowed(reader, uri, field, location, config, inProtocol) ? uri : undefined;
}
