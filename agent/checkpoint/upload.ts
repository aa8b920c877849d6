import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CheckpointFileUnstableError, CheckpointKeyTooLongError, UploadChecksumMismatchError } from './errors.js';
import { checkpointId, FILES_FOLDER, MANIFEST_VERSION, partSizeFor, S3_MAX_KEY_BYTES, S3Sha256, type Manifest, type ManifestFile, type SyncTrigger } from './manifest.js';
import { inPool } from './pool.js';
import { privateCopy, sameVersion, versionOf, type FileVersion, type Snapshot, type SnapshotFile } from './snapshot.js';
import type { TransferSettings } from './settings.js';
import { MANIFEST_NAME } from '../../shared/protocol.js';

/** Where a job's checkpoints go: `<S3Uri prefix><job>/`, one folder per checkpoint under it. */
export interface CheckpointTarget {
  s3: S3Client;
  bucket: string;
  /** SSE-KMS under the job's OutputDataConfig.KmsKeyId, on every object written. */
  encryption?: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'>;
  /** The job's folder, ending in `/`. */
  jobFolder: string;
}

export interface UploadInput {
  target: CheckpointTarget;
  snapshot: Snapshot;
  sequence: number;
  /** The last complete checkpoint in the same job folder: its unchanged files are not uploaded again. */
  previous?: Manifest;
  attempt: number;
  instanceId: string;
  trigger: SyncTrigger;
  settings: TransferSettings;
  /** Bytes sent so far, as they go. */
  onProgress?: (uploadedBytes: number) => void;
}

export interface UploadResult {
  manifest: Manifest;
  manifestKey: string;
  /** Files whose object an earlier checkpoint had already uploaded. */
  reusedFiles: number;
  /** Files rewritten in place during their upload, copied and uploaded again. */
  retakenFiles: number;
}

const READ_CHUNK = 1024 * 1024;
const wholeMillis = (mtimeNs: bigint) => Number(mtimeNs / 1_000_000n);

/** Uploads one checkpoint: every changed file, in parallel and multipart, then the manifest. */
export async function uploadCheckpoint(input: UploadInput): Promise<UploadResult> {
  const { target, snapshot, settings } = input;
  const id = checkpointId(input.sequence);
  const manifestKey = `${target.jobFolder}${id}/${MANIFEST_NAME}`;
  // Every key is checked before a byte is sent: a checkpoint is refused whole, not half-written.
  for (const file of snapshot.files) checkKey(`${target.jobFolder}${id}/${FILES_FOLDER}${file.path}`, file.path);
  checkKey(manifestKey, MANIFEST_NAME);

  const { unchanged, changed } = compareWith(snapshot, input.previous);
  const entries = new Map<string, ManifestFile>(unchanged.map((f) => [f.Path, f]));
  const reusedFiles = entries.size;
  let uploadedBytes = 0;
  let retakenFiles = 0;
  const progress = (bytes: number) => {
    uploadedBytes += bytes;
    input.onProgress?.(uploadedBytes);
  };
  const uploadOne = async (file: SnapshotFile) => {
    const key = `${id}/${FILES_FOLDER}${file.path}`;
    const done = await uploadStable(target, `${target.jobFolder}${key}`, file, settings, progress);
    if (done.retaken) retakenFiles++;
    entries.set(file.path, {
      Path: file.path,
      Size: done.version.size,
      MtimeMs: wholeMillis(done.version.mtimeNs),
      Key: key,
      ChecksumAlgorithm: 'SHA256',
      Checksum: done.checksum.Checksum,
      ChecksumType: done.checksum.ChecksumType,
      PartSize: done.partSize,
    });
  };
  // Small files many at a time; large ones one at a time, each with its parts in parallel.
  // Smallest first: on a deadline, most files are in S3 soonest.
  const bySize = [...changed].sort((a, b) => a.size - b.size);
  const small = bySize.filter((f) => f.size <= settings.partSizeBytes);
  const large = bySize.filter((f) => f.size > settings.partSizeBytes);
  const lanes = await Promise.allSettled([inPool(small, settings.fileConcurrency, uploadOne), inPool(large, 1, uploadOne)]);
  for (const lane of lanes) if (lane.status === 'rejected') throw lane.reason;

  const files = [...entries.values()].sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
  const manifest: Manifest = {
    Version: MANIFEST_VERSION,
    CheckpointId: id,
    Sequence: input.sequence,
    CreatedAt: new Date().toISOString(),
    Attempt: input.attempt,
    InstanceId: input.instanceId,
    Trigger: input.trigger,
    Files: files,
    Directories: snapshot.directories,
    TotalBytes: files.reduce((sum, f) => sum + f.Size, 0),
    UploadedBytes: uploadedBytes,
  };
  const body = Buffer.from(JSON.stringify(manifest, null, 1));
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.bucket,
      Key: manifestKey,
      Body: body,
      ContentType: 'application/json',
      ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
      ...target.encryption,
    }),
  );
  return { manifest, manifestKey, reusedFiles, retakenFiles };
}

/**
 * Splits a snapshot into the files an earlier complete checkpoint already holds (same size
 * and modification time: their objects are named again, not uploaded) and the rest.
 */
export function compareWith(snapshot: Snapshot, previous: Manifest | undefined): { unchanged: ManifestFile[]; changed: SnapshotFile[] } {
  const before = new Map((previous?.Files ?? []).filter((f) => f.Checksum).map((f) => [f.Path, f]));
  const unchanged: ManifestFile[] = [];
  const changed: SnapshotFile[] = [];
  for (const file of snapshot.files) {
    const known = before.get(file.path);
    if (known && known.Size === file.size && known.MtimeMs === wholeMillis(file.mtimeNs)) unchanged.push(known);
    else changed.push(file);
  }
  return { unchanged, changed };
}

function checkKey(key: string, file: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > S3_MAX_KEY_BYTES) {
    throw new CheckpointKeyTooLongError(`LocalPath file '${file}' would be stored under a key of ${bytes} bytes (UTF-8); S3 allows at most ${S3_MAX_KEY_BYTES}: shorten its name or folder`);
  }
}

interface Uploaded {
  version: FileVersion;
  checksum: ReturnType<S3Sha256['digest']>;
  partSize: number;
  retaken: boolean;
}

/**
 * Uploads a snapshot file so that the object is the file as it was at one moment: the file's
 * version (size, modification time) must be the same before and after it was read. A file
 * rewritten in place meanwhile is copied while it stands still, and the copy uploaded.
 */
async function uploadStable(target: CheckpointTarget, key: string, file: SnapshotFile, settings: TransferSettings, progress: (bytes: number) => void): Promise<Uploaded> {
  const before = await versionOf(file.absolute);
  const first = await uploadObject(target, key, file.absolute, before.size, settings, progress);
  const after = await versionOf(file.absolute);
  if (sameVersion(before, after) && first.bytes === before.size) return { version: before, checksum: first.checksum, partSize: first.partSize, retaken: false };
  for (let tries = 0; tries < 3; tries++) {
    const copied = await privateCopy(file);
    if (!copied) continue;
    const again = await uploadObject(target, key, file.absolute, copied.size, settings, progress);
    return { version: copied, checksum: again.checksum, partSize: again.partSize, retaken: true };
  }
  throw new CheckpointFileUnstableError(`LocalPath file '${file.path}' was rewritten in place during each of 4 reads; write checkpoint files to a new name and rename them`);
}

/**
 * One object: a file of at most one part in a single PutObject, a larger one as a multipart
 * upload (lib-storage) streamed from the file with its parts in parallel. Either way S3 is
 * given the SHA-256 of what it receives to verify, and the manifest gets S3's form of it.
 */
async function uploadObject(target: CheckpointTarget, key: string, path: string, size: number, settings: TransferSettings, progress: (bytes: number) => void) {
  const partSize = partSizeFor(size, settings.partSizeBytes);
  if (size <= partSize) {
    // Read at most one byte more than expected: a file that grew is noticed, never read whole.
    const buffer = Buffer.alloc(size + 1);
    const handle = await open(path, 'r');
    let read = 0;
    try {
      for (let n = -1; n !== 0 && read < buffer.length; read += n) n = (await handle.read(buffer, read, buffer.length - read, read)).bytesRead;
    } finally {
      await handle.close();
    }
    const body = buffer.subarray(0, Math.min(read, size));
    const parts = watchParts(target.s3, key);
    try {
      const result = await target.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: body, ContentLength: body.length, ...target.encryption }));
      const checksum = { Checksum: (parts.single ?? createHash('sha256').update(body).digest()).toString('base64'), ChecksumType: 'FULL_OBJECT' as const };
      verify(key, checksum.Checksum, result.ChecksumSHA256);
      progress(body.length);
      return { checksum, partSize, bytes: read };
    } finally {
      PARTS.delete(key);
    }
  }
  const parts = watchParts(target.s3, key);
  const source = createReadStream(path, { highWaterMark: READ_CHUNK });
  const upload = new Upload({
    client: target.s3,
    params: { Bucket: target.bucket, Key: key, Body: source, ChecksumAlgorithm: 'SHA256', ...target.encryption },
    partSize,
    queueSize: settings.partConcurrency,
    leavePartsOnError: false,
  });
  let reported = 0;
  upload.on('httpUploadProgress', (p) => {
    const loaded = p.loaded ?? 0;
    if (loaded > reported) {
      progress(loaded - reported);
      reported = loaded;
    }
  });
  try {
    const result = await upload.done();
    if (parts.bytes > reported) progress(parts.bytes - reported);
    const checksum = parts.single
      ? { Checksum: parts.single.toString('base64'), ChecksumType: 'FULL_OBJECT' as const }
      : { Checksum: S3Sha256.composite(parts.digests), ChecksumType: 'COMPOSITE' as const };
    verify(key, checksum.Checksum, (result as { ChecksumSHA256?: string }).ChecksumSHA256);
    return { checksum, partSize, bytes: parts.bytes };
  } finally {
    PARTS.delete(key);
  }
}

/** The SHA-256 of each part of the uploads under way, by key: computed once, given to S3 and kept for the manifest. */
interface PartDigests {
  digests: Buffer[];
  single?: Buffer;
  bytes: number;
}
const PARTS = new Map<string, PartDigests>();
const WATCHED = new WeakSet<S3Client>();

/**
 * Each part's SHA-256 is computed as the request goes out and set as its ChecksumSHA256, so
 * S3 verifies it and the SDK does not hash the part a second time; the manifest's composite
 * checksum is made of the same digests.
 */
function watchParts(s3: S3Client, key: string): PartDigests {
  if (!WATCHED.has(s3)) {
    WATCHED.add(s3);
    const digests = new WeakMap<object, Buffer>();
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string; Body?: unknown; PartNumber?: number; ChecksumSHA256?: string };
        const watched = input.Key ? PARTS.get(input.Key) : undefined;
        if (watched && input.Body instanceof Uint8Array && (context.commandName === 'UploadPartCommand' || context.commandName === 'PutObjectCommand')) {
          const digest = createHash('sha256').update(input.Body).digest();
          if (context.commandName === 'PutObjectCommand') watched.single = digest;
          else watched.digests[(input.PartNumber ?? 1) - 1] = digest;
          watched.bytes += input.Body.byteLength;
          input.ChecksumSHA256 = digest.toString('base64');
          digests.set(input, digest);
        }
        return next(args);
      },
      { step: 'initialize', name: 'checkpointPartDigests' },
    );
    // The same digest signs the request (SigV4's payload hash), so no part is hashed twice.
    s3.middlewareStack.add(
      (next) => async (args) => {
        const digest = digests.get(args.input as object);
        const request = args.request as { headers?: Record<string, string> };
        if (digest && request.headers) request.headers['x-amz-content-sha256'] = digest.toString('hex');
        return next(args);
      },
      { step: 'build', name: 'checkpointPayloadHash' },
    );
  }
  const parts: PartDigests = { digests: [], bytes: 0 };
  PARTS.set(key, parts);
  return parts;
}

/** S3 answers with the checksum it computed (a server that does not compute them, nothing). */
function verify(key: string, ours: string, theirs: string | undefined): void {
  if (theirs && theirs !== ours) throw new UploadChecksumMismatchError(`s3 computed SHA-256 ${theirs} for ${key}; the agent read ${ours}`);
}
