import { createHash } from 'node:crypto';
import { mkdir, rename, rm, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { MANIFEST_NAME } from '../../shared/protocol.js';
import { parseS3Uri } from '../../shared/s3uri.js';
import { ObjectCorruptError, ObjectMissingError, RestoreError } from './errors.js';
import { ManifestError, parseManifest, S3Sha256, type Manifest, type ManifestFile } from './manifest.js';
import { inPool } from './pool.js';
import { RangedFile } from './rangedFile.js';
import type { TransferSettings } from './settings.js';

/**
 * Restores exactly the folder a manifest describes into LocalPath: every file in ranged GETs
 * run in parallel over all files, each range hashed as it arrives and written at its offset
 * (runs of zeros are left as holes, so a sparse file stays sparse), each file's SHA-256
 * checked against the manifest. All of it goes into a staging folder that replaces LocalPath
 * only when every file arrived and matched: a failed restore leaves nothing half-written.
 */
export interface RestoredCheckpoint {
  manifest: Manifest;
  manifestUri: string;
  bytes: number;
  durationMs: number;
  /** Newer checkpoints that could not be restored, newest first, with why. */
  skipped: { manifestUri: string; reason: string }[];
}

const notFound = (error: unknown) => ['NoSuchKey', 'NotFound'].includes((error as { name?: string }).name ?? '') || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

/** Where a manifest's keys start: the job's folder, the parent of the checkpoint's folder. */
function locate(manifestUri: string) {
  const { bucket, prefix } = parseS3Uri(manifestUri);
  const manifestKey = prefix.replace(/\/$/, '');
  if (!manifestKey.endsWith(`/${MANIFEST_NAME}`)) throw new RestoreError(`${manifestUri} is not a checkpoint manifest`);
  const checkpointFolder = manifestKey.slice(0, -MANIFEST_NAME.length);
  const jobFolder = checkpointFolder.slice(0, checkpointFolder.slice(0, -1).lastIndexOf('/') + 1);
  return { bucket, manifestKey, checkpointFolder, jobFolder };
}

export async function readManifest(s3: S3Client, manifestUri: string): Promise<Manifest> {
  const { bucket, manifestKey } = locate(manifestUri);
  let text: string;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: manifestKey }));
    text = (await object.Body?.transformToString()) ?? '';
  } catch (error) {
    if (notFound(error)) throw new ObjectMissingError(`${manifestUri} does not exist`, { cause: error });
    throw error;
  }
  try {
    return parseManifest(text, manifestUri);
  } catch (error) {
    if (error instanceof ManifestError) throw new RestoreError(error.message, { cause: error });
    throw error;
  }
}

/**
 * Restores the named checkpoint; when one of its objects is missing or corrupt, the newest
 * older complete checkpoint of the same job folder instead, and so on. Throws when none can
 * be restored (or on an error that is not the data's fault, such as S3 being unreachable).
 */
export async function restoreLatestUsable(s3: S3Client, manifestUri: string, localPath: string, settings: TransferSettings): Promise<RestoredCheckpoint> {
  const skipped: RestoredCheckpoint['skipped'] = [];
  let candidates: string[] | undefined;
  let uri = manifestUri;
  for (;;) {
    try {
      const restored = await restoreCheckpoint(s3, uri, localPath, settings);
      return { ...restored, skipped };
    } catch (error) {
      if (!(error instanceof RestoreError)) throw error;
      skipped.push({ manifestUri: uri, reason: `${error.name}: ${error.message}` });
      candidates ??= await olderManifests(s3, manifestUri);
      const next = candidates.shift();
      if (!next) throw new RestoreError(skipped.map((s) => s.reason).join('; '), { cause: error });
      uri = next;
    }
  }
}

/** The complete checkpoints of a manifest's job folder older than it, newest first. */
async function olderManifests(s3: S3Client, manifestUri: string): Promise<string[]> {
  const { bucket, jobFolder, checkpointFolder } = locate(manifestUri);
  const sequenceOf = (folder: string) => Number(/(\d{1,15})(?!.*\d)/.exec(folder)?.[1] ?? -1);
  const own = sequenceOf(checkpointFolder.slice(jobFolder.length, -1));
  const found: { uri: string; sequence: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: jobFolder, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }));
    for (const common of page.CommonPrefixes ?? []) {
      const folder = (common.Prefix ?? '').slice(jobFolder.length, -1);
      const sequence = sequenceOf(folder);
      if (sequence >= 0 && sequence < own) found.push({ uri: `s3://${bucket}/${jobFolder}${folder}/${MANIFEST_NAME}`, sequence });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  // A folder without a manifest was cut off: restoring it fails as missing and the next is tried.
  return found.sort((a, b) => b.sequence - a.sequence).map((f) => f.uri);
}

export async function restoreCheckpoint(s3: S3Client, manifestUri: string, localPath: string, settings: TransferSettings): Promise<Omit<RestoredCheckpoint, 'skipped'>> {
  const started = Date.now();
  const { bucket, jobFolder } = locate(manifestUri);
  const manifest = await readManifest(s3, manifestUri);
  const staging = `${localPath.replace(/\/$/, '')}.restoring`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const files = manifest.Files.map((file) => new RestoringFile(file, join(staging, file.Path), `s3://${bucket}/${jobFolder}${file.Key}`));
  try {
    for (const dir of manifest.Directories) await mkdir(join(staging, dir), { recursive: true });
    const ranges: Range[] = [];
    for (const target of files) ranges.push(...target.ranges());
    await inPool(ranges, settings.restoreConcurrency, (range) => fetchRange(s3, bucket, `${jobFolder}${range.file.entry.Key}`, range));
    // Files with no range (empty) and the check of every file's checksum.
    for (const target of files) await target.finish();
    await rm(localPath, { recursive: true, force: true });
    await mkdir(dirname(localPath), { recursive: true });
    await rename(staging, localPath);
  } catch (error) {
    await Promise.all(files.map((f) => f.abandon()));
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { manifest, manifestUri, bytes: manifest.TotalBytes, durationMs: Date.now() - started };
}

interface Range {
  file: RestoringFile;
  index: number;
  start: number;
  /** Inclusive, as HTTP ranges are. */
  end: number;
}

/** One file being restored: its ranges written as they come, each range's digest kept for the check. */
class RestoringFile {
  readonly target: RangedFile;
  private readonly digests: Buffer[] = [];

  constructor(
    readonly entry: ManifestFile,
    readonly path: string,
    readonly uri: string,
  ) {
    this.target = new RangedFile(path, entry.Size, this.ranges().length);
  }

  ranges(): Range[] {
    const { Size, PartSize, ChecksumType } = this.entry;
    if (Size === 0) return [];
    // A full-object checksum is one digest over the whole object, so it is one range; parts
    // of a composite checksum each have theirs, so each part is fetched on its own.
    const step = ChecksumType === 'COMPOSITE' ? PartSize : Size;
    const ranges: Range[] = [];
    for (let start = 0, index = 0; start < Size; start += step, index++) ranges.push({ file: this, index, start, end: Math.min(Size, start + step) - 1 });
    return ranges;
  }

  async partDone(index: number, digest: Buffer): Promise<void> {
    this.digests[index] = digest;
    await this.target.rangeDone();
  }

  /** Closes the file if it is open; the restore failed. */
  abandon(): Promise<void> {
    return this.target.abandon();
  }

  async finish(): Promise<void> {
    const { entry } = this;
    if (entry.Size === 0) await this.target.close();
    if (entry.Checksum) {
      const actual =
        entry.Size === 0 ? createHash('sha256').digest('base64') : entry.ChecksumType === 'COMPOSITE' ? S3Sha256.composite(this.digests) : (this.digests[0] ?? Buffer.alloc(0)).toString('base64');
      if (actual !== entry.Checksum) {
        throw new ObjectCorruptError(`${entry.Path} (${this.uri}) has SHA-256 ${actual}; the manifest says ${entry.Checksum}`);
      }
    }
    if (entry.MtimeMs > 0) await utimes(this.path, new Date(entry.MtimeMs), new Date(entry.MtimeMs));
  }
}

async function fetchRange(s3: S3Client, bucket: string, key: string, range: Range): Promise<void> {
  const { file } = range;
  const expected = range.end - range.start + 1;
  let object;
  try {
    object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${range.start}-${range.end}` }));
  } catch (error) {
    if (notFound(error)) throw new ObjectMissingError(`${file.entry.Path} (${file.uri}) is missing`, { cause: error });
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) {
      throw new ObjectCorruptError(`${file.entry.Path} (${file.uri}) is shorter than the manifest's ${file.entry.Size} bytes`, { cause: error });
    }
    throw error;
  }
  const total = Number(/\/(\d+)$/.exec(object.ContentRange ?? '')?.[1] ?? Number.NaN);
  if (!Number.isNaN(total) && total !== file.entry.Size) {
    throw new ObjectCorruptError(`${file.entry.Path} (${file.uri}) has ${total} bytes; the manifest says ${file.entry.Size}`);
  }
  const hash = createHash('sha256');
  const written = await file.target.write(
    object.Body as AsyncIterable<Uint8Array>,
    range.start,
    range.end,
    () => new ObjectCorruptError(`${file.entry.Path} (${file.uri}) sent more than the range ${range.start}-${range.end}`),
    hash,
  );
  if (written !== expected) {
    throw new ObjectCorruptError(`${file.entry.Path} (${file.uri}) gave ${written} bytes for the range ${range.start}-${range.end}`);
  }
  await file.partDone(range.index, hash.digest());
}
