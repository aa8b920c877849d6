import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SpotTrainingError } from '../../shared/errors.js';
import type { InputChannel } from '../../shared/lifecycle/jobSpec.js';
import { parseS3KeyPrefix } from '../../shared/s3uri.js';
import { safeRelativePath } from '../checkpoint/manifest.js';
import { inPool } from '../checkpoint/pool.js';
import { RangedFile } from '../checkpoint/rangedFile.js';
import type { TransferSettings } from '../checkpoint/settings.js';

/**
 * File-mode input channels, downloaded before training starts into
 * /opt/ml/input/data/<channel>/ as SageMaker does: every object under an S3Prefix, or every
 * object a ManifestFile lists; with ShardedByS3Key each instance of the job gets every N-th
 * object of the sorted keys. Objects are fetched in parallel ranged GETs written in place, so
 * no object is ever whole in memory; each lands under a temporary name and is renamed when
 * complete. What an instance already downloaded (same key, size and ETag) is kept when it
 * comes back after a stop: the record of that is a small state file on the instance's disk.
 */
export class ChannelError extends SpotTrainingError {}

export interface ChannelObject {
  channel: string;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** Path under the channel's folder. */
  path: string;
}

export interface DownloadInput {
  s3: S3Client;
  channels: readonly InputChannel[];
  hostIndex: number;
  hostCount: number;
  /** Folder of a channel's files: /opt/ml/input/data/<channel> on the instance's disk. */
  channelDir: (channel: string) => string;
  /** Where what was downloaded is remembered across a stop. */
  stateFile: string;
  transfer: TransferSettings;
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadProgress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface DownloadResult extends DownloadProgress {
  /** Files already on the instance's disk from an earlier attempt. */
  keptFiles: number;
  durationMs: number;
}

/** At most this many bytes of a ManifestFile are read: its list of keys is held while listing. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** `s3://bucket/any key prefix`, the prefix as submitted (SageMaker matches keys that start with it). */
export function splitChannelUri(uri: string): { bucket: string; prefix: string } {
  try {
    return parseS3KeyPrefix(uri);
  } catch {
    throw new ChannelError(`${uri} is not an s3:// URI`);
  }
}

/**
 * The local name of a key under a channel's prefix: what follows the prefix, as SageMaker
 * names it, so `s3://b/data/train` and `s3://b/data/train/` both put `data/train/a.csv` at
 * `<channel>/a.csv`; a URI naming one object gives that object under its own name.
 */
export function relativePath(prefix: string, key: string): string {
  const rest = key.slice(prefix.length).replace(/^\/+/, '');
  return rest === '' ? key.slice(key.lastIndexOf('/') + 1) : rest;
}

/** ShardedByS3Key: the sorted keys dealt out to the instances in turn; FullyReplicated: all of them. */
export function shard<T extends { key: string }>(objects: readonly T[], distribution: string, hostIndex: number, hostCount: number): T[] {
  if (distribution !== 'ShardedByS3Key' || hostCount <= 1) return [...objects];
  return [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).filter((_, i) => i % hostCount === hostIndex);
}

async function listPrefix(s3: S3Client, channel: string, uri: string): Promise<ChannelObject[]> {
  const { bucket, prefix } = splitChannelUri(uri);
  const objects: ChannelObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) {
      const key = o.Key ?? '';
      // Folder markers (an empty object named like a folder) are not files.
      if (!key || key.endsWith('/')) continue;
      objects.push({ channel, bucket, key, size: o.Size ?? 0, etag: o.ETag ?? '', path: relativePath(prefix, key) });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/**
 * A ManifestFile: a JSON array whose first element is `{"prefix": "s3://bucket/prefix/"}` and
 * whose others are keys relative to it. Its objects must be in the manifest's own bucket,
 * which the API checked against the allowed buckets.
 */
async function listManifest(s3: S3Client, channel: string, uri: string, transfer: TransferSettings): Promise<ChannelObject[]> {
  const { bucket, prefix: manifestKey } = splitChannelUri(uri);
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }));
  if ((object.ContentLength ?? 0) > MAX_MANIFEST_BYTES) throw new ChannelError(`channel ${channel}: the manifest ${uri} is larger than ${MAX_MANIFEST_BYTES} bytes`);
  let entries: unknown;
  try {
    entries = JSON.parse((await object.Body?.transformToString()) ?? '');
  } catch {
    throw new ChannelError(`channel ${channel}: the manifest ${uri} is not JSON`);
  }
  const [head, ...relative] = Array.isArray(entries) ? entries : [];
  const base = (head as { prefix?: unknown } | undefined)?.prefix;
  if (typeof base !== 'string' || relative.some((r) => typeof r !== 'string')) {
    throw new ChannelError(`channel ${channel}: the manifest ${uri} must be a JSON array of {"prefix": "s3://…"} followed by keys relative to it`);
  }
  const target = splitChannelUri(base);
  if (target.bucket !== bucket) throw new ChannelError(`channel ${channel}: the manifest ${uri} names objects in bucket ${target.bucket}; they must be in ${bucket}, the manifest's own`);
  const objects: ChannelObject[] = [];
  await inPool(relative as string[], transfer.restoreConcurrency, async (rel) => {
    const key = `${target.prefix}${rel}`;
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((error: unknown) => {
      throw new ChannelError(`channel ${channel}: s3://${bucket}/${key}, listed in ${uri}, cannot be read: ${(error as Error).name}`, { cause: error });
    });
    objects.push({ channel, bucket, key, size: head.ContentLength ?? 0, etag: head.ETag ?? '', path: rel });
  });
  return objects;
}

type DownloadState = Record<string, { etag: string; size: number }>;
const stateKey = (o: ChannelObject) => `${o.channel}\u0000${o.path}`;

/** What one instance downloads of the channels: every object of each, or its shard. */
export async function channelObjects(input: Pick<DownloadInput, 's3' | 'channels' | 'hostIndex' | 'hostCount' | 'transfer'>): Promise<ChannelObject[]> {
  const { s3, transfer } = input;
  const objects: ChannelObject[] = [];
  for (const channel of input.channels) {
    const source = channel.DataSource.S3DataSource;
    const listed =
      source.S3DataType === 'ManifestFile' ? await listManifest(s3, channel.ChannelName, source.S3Uri, transfer) : await listPrefix(s3, channel.ChannelName, source.S3Uri);
    for (const o of listed) {
      if (!safeRelativePath(o.path)) throw new ChannelError(`channel ${channel.ChannelName}: s3://${o.bucket}/${o.key} has no safe local name ('${o.path}')`);
    }
    objects.push(...shard(listed, source.S3DataDistributionType, input.hostIndex, input.hostCount));
  }
  return objects;
}

export async function downloadChannels(input: DownloadInput): Promise<DownloadResult> {
  const started = Date.now();
  const { s3, transfer } = input;
  const objects = await channelObjects(input);
  for (const channel of input.channels) await mkdir(input.channelDir(channel.ChannelName), { recursive: true });

  const state: DownloadState = JSON.parse(await readFile(input.stateFile, 'utf8').catch(() => '{}')) as DownloadState;
  const progress: DownloadProgress = { files: 0, totalFiles: objects.length, bytes: 0, totalBytes: objects.reduce((n, o) => n + o.size, 0) };
  const pending: ChannelObject[] = [];
  let keptFiles = 0;
  for (const o of objects) {
    const known = state[stateKey(o)];
    const local = await stat(join(input.channelDir(o.channel), o.path)).catch(() => undefined);
    if (known && known.etag === o.etag && known.size === o.size && local?.size === o.size) {
      keptFiles++;
      progress.files++;
      progress.bytes += o.size;
    } else {
      pending.push(o);
    }
  }
  input.onProgress?.({ ...progress });

  // Ranges over all files, so that one large object and many small ones both keep every connection busy.
  const ranges: { file: PendingFile; start: number; end: number }[] = [];
  const files = pending.map((o) => new PendingFile(o, join(input.channelDir(o.channel), o.path), transfer.partSizeBytes));
  for (const file of files) {
    if (file.object.size === 0) continue;
    for (let start = 0; start < file.object.size; start += transfer.partSizeBytes) {
      ranges.push({ file, start, end: Math.min(file.object.size, start + transfer.partSizeBytes) - 1 });
    }
  }
  let saving = Promise.resolve();
  const remember = (o: ChannelObject) => {
    state[stateKey(o)] = { etag: o.etag, size: o.size };
    saving = saving.then(() => saveState(input.stateFile, state));
  };
  try {
    for (const file of files.filter((f) => f.object.size === 0)) {
      await file.complete();
      remember(file.object);
      progress.files++;
    }
    await inPool(ranges, transfer.restoreConcurrency, async (range) => {
      const bytes = await fetchInto(s3, range.file, range.start, range.end);
      progress.bytes += bytes;
      if (await range.file.rangeDone()) {
        remember(range.file.object);
        progress.files++;
      }
      input.onProgress?.({ ...progress });
    });
  } catch (error) {
    await Promise.all(files.map((f) => f.abandon()));
    throw error;
  } finally {
    await saving;
  }
  return { ...progress, keptFiles, durationMs: Date.now() - started };
}

async function saveState(path: string, state: DownloadState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(state));
  await rename(`${path}.tmp`, path);
}

/** One object being downloaded under a temporary name, renamed into place when its last range is in. */
class PendingFile {
  readonly target: RangedFile;
  readonly temporary: string;

  constructor(
    readonly object: ChannelObject,
    readonly path: string,
    partSize: number,
  ) {
    this.temporary = `${path}.spot-training-download`;
    this.target = new RangedFile(this.temporary, object.size, Math.ceil(object.size / partSize));
  }

  /** True when that was the last range: the file is complete and in place. */
  async rangeDone(): Promise<boolean> {
    if (!(await this.target.rangeDone())) return false;
    await rename(this.temporary, this.path);
    return true;
  }

  async complete(): Promise<void> {
    await this.target.close();
    await rename(this.temporary, this.path);
  }

  async abandon(): Promise<void> {
    await this.target.abandon();
    await rm(this.temporary, { force: true });
  }
}

async function fetchInto(s3: S3Client, file: PendingFile, start: number, end: number): Promise<number> {
  const { object } = file;
  const got = await s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key, Range: `bytes=${start}-${end}`, IfMatch: object.etag || undefined })).catch((error: unknown) => {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const why = status === 412 ? 'it changed while the channel was being downloaded' : (error as Error).name;
    throw new ChannelError(`channel ${object.channel}: s3://${object.bucket}/${object.key} cannot be read: ${why}`, { cause: error });
  });
  const where = `channel ${object.channel}: s3://${object.bucket}/${object.key}`;
  const written = await file.target.write(got.Body as AsyncIterable<Uint8Array>, start, end, () => new ChannelError(`${where} sent more than the range ${start}-${end}`));
  if (written !== end - start + 1) throw new ChannelError(`${where} gave ${written} bytes for the range ${start}-${end}`);
  return written;
}
