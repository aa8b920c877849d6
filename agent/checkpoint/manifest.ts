import { createHash } from 'node:crypto';
import { SpotTrainingError } from '../../shared/errors.js';

/**
 * The manifest of one checkpoint: the only object that makes a checkpoint complete, written
 * after every byte it lists is in S3. A checkpoint folder holds the product's files and
 * nothing else beside them:
 *
 *   <S3Uri>/<job>/ckpt-000000042/files/<the files of LocalPath, any names>
 *   <S3Uri>/<job>/ckpt-000000042/manifest.json
 *
 * so a user's own `manifest.json`, at the top of LocalPath or deeper, is data under `files/`
 * and never the checkpoint's manifest. A file unchanged since an earlier checkpoint is not
 * uploaded again: its entry names the object already in S3, in the earlier checkpoint's
 * folder (`Key` is relative to the job's folder).
 */
export const MANIFEST_VERSION = 2;
export const FILES_FOLDER = 'files/';
/** S3's limit on a key: 1,024 bytes of UTF-8. */
export const S3_MAX_KEY_BYTES = 1024;
/** S3's limit on the parts of one multipart upload. */
export const S3_MAX_PARTS = 10_000;

export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';
export type SyncTrigger = 'periodic' | 'requested' | 'final';

export interface ManifestFile {
  /** Relative to LocalPath, `/`-separated. */
  Path: string;
  Size: number;
  /** Modification time in whole milliseconds, given back to the file on restore. */
  MtimeMs: number;
  /** The object's key relative to the job's folder: `<checkpoint-id>/files/<Path>`, maybe of an earlier checkpoint. */
  Key: string;
  ChecksumAlgorithm: 'SHA256';
  /**
   * S3's own form of the SHA-256 additional checksum: the base64 digest of the object
   * (FULL_OBJECT, one PutObject), or of its parts' digests with `-<parts>` (COMPOSITE, a
   * multipart upload of `PartSize`-byte parts). Restore recomputes it from what it downloads.
   */
  Checksum: string;
  ChecksumType: ChecksumType;
  PartSize: number;
}

export interface Manifest {
  Version: typeof MANIFEST_VERSION;
  CheckpointId: string;
  Sequence: number;
  CreatedAt: string;
  Attempt: number;
  InstanceId: string;
  Trigger: SyncTrigger;
  Files: ManifestFile[];
  /** Folders of LocalPath that hold no file, so that the restored tree is the same. */
  Directories: string[];
  TotalBytes: number;
  /** Bytes this checkpoint uploaded; the rest were already in S3. */
  UploadedBytes: number;
}

export const checkpointId = (sequence: number) => `ckpt-${String(sequence).padStart(9, '0')}`;
export const CHECKPOINT_ID = /^ckpt-(\d{9,15})$/;

export class ManifestError extends SpotTrainingError {}

const SEGMENT_OK = (segment: string) => segment !== '' && segment !== '.' && segment !== '..';
export const safeRelativePath = (path: unknown): path is string =>
  typeof path === 'string' && path.length > 0 && !path.startsWith('/') && !path.includes('\\') && !path.includes('\0') && path.split('/').every(SEGMENT_OK);

/**
 * Reads a manifest, checking every field restore relies on. Manifests of the earlier format
 * (Version 1: files beside the manifest, sizes only) are read too: their files are checked
 * for size, having no checksum.
 */
export function parseManifest(text: string, uri: string): Manifest {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ManifestError(`${uri} is not JSON: ${(error as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.Files)) throw new ManifestError(`${uri} has no Files list`);
  const checkpointFolderName = uri.split('/').at(-2) ?? '';
  const legacy = raw.Version !== MANIFEST_VERSION;
  const files = (raw.Files as Record<string, unknown>[]).map((f, i): ManifestFile => {
    const at = `${uri} Files[${i}]`;
    if (!safeRelativePath(f?.Path)) throw new ManifestError(`${at}.Path '${String(f?.Path)}' is not a safe relative path`);
    if (!Number.isSafeInteger(f.Size) || (f.Size as number) < 0) throw new ManifestError(`${at}.Size '${String(f.Size)}' is not a byte count`);
    if (legacy) {
      return { Path: f.Path, Size: f.Size as number, MtimeMs: 0, Key: `${checkpointFolderName}/${f.Path}`, ChecksumAlgorithm: 'SHA256', Checksum: '', ChecksumType: 'FULL_OBJECT', PartSize: 0 };
    }
    if (!safeRelativePath(f.Key)) throw new ManifestError(`${at}.Key '${String(f.Key)}' is not a safe relative key`);
    if (f.ChecksumAlgorithm !== 'SHA256' || typeof f.Checksum !== 'string' || !f.Checksum) throw new ManifestError(`${at} has no SHA256 Checksum`);
    if (f.ChecksumType !== 'FULL_OBJECT' && f.ChecksumType !== 'COMPOSITE') throw new ManifestError(`${at}.ChecksumType '${String(f.ChecksumType)}' is neither FULL_OBJECT nor COMPOSITE`);
    if (!Number.isSafeInteger(f.PartSize) || (f.PartSize as number) <= 0) throw new ManifestError(`${at}.PartSize '${String(f.PartSize)}' is not a positive byte count`);
    return {
      Path: f.Path,
      Size: f.Size as number,
      MtimeMs: Number.isSafeInteger(f.MtimeMs) ? (f.MtimeMs as number) : 0,
      Key: f.Key,
      ChecksumAlgorithm: 'SHA256',
      Checksum: f.Checksum,
      ChecksumType: f.ChecksumType,
      PartSize: f.PartSize as number,
    };
  });
  const directories = Array.isArray(raw.Directories) ? raw.Directories : [];
  for (const dir of directories) if (!safeRelativePath(dir)) throw new ManifestError(`${uri} Directories lists an unsafe path '${String(dir)}'`);
  const sequence = Number.isSafeInteger(raw.Sequence) ? (raw.Sequence as number) : Number(/(\d+)$/.exec(checkpointFolderName)?.[1] ?? 0);
  return {
    Version: MANIFEST_VERSION,
    CheckpointId: typeof raw.CheckpointId === 'string' ? raw.CheckpointId : checkpointFolderName,
    Sequence: sequence,
    CreatedAt: typeof raw.CreatedAt === 'string' ? raw.CreatedAt : '',
    Attempt: Number.isSafeInteger(raw.Attempt) ? (raw.Attempt as number) : 0,
    InstanceId: typeof raw.InstanceId === 'string' ? raw.InstanceId : '',
    Trigger: raw.Trigger === 'final' || raw.Trigger === 'requested' ? raw.Trigger : 'periodic',
    Files: files,
    Directories: directories as string[],
    TotalBytes: files.reduce((sum, f) => sum + f.Size, 0),
    UploadedBytes: Number.isSafeInteger(raw.UploadedBytes) ? (raw.UploadedBytes as number) : files.reduce((sum, f) => sum + f.Size, 0),
  };
}

/**
 * The part size for a file: the configured one, or larger when the file would need more
 * than S3's 10,000 parts (a whole MiB, so that parts stay aligned with disk pages).
 */
export function partSizeFor(size: number, configured: number): number {
  const mib = 1024 * 1024;
  return Math.max(configured, Math.ceil(size / S3_MAX_PARTS / mib) * mib);
}

/**
 * S3's SHA-256 checksum of an object as it is uploaded: the digest of the whole object when
 * it fits in one part (one PutObject), else the digest of the parts' digests, `-<parts>`
 * (what CompleteMultipartUpload returns). Fed the bytes in order, in chunks of any size.
 */
export class S3Sha256 {
  private part = createHash('sha256');
  private inPart = 0;
  private readonly partDigests: Buffer[] = [];
  private total = 0;

  constructor(private readonly partSize: number) {}

  update(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.inPart === this.partSize) {
        this.partDigests.push(this.part.digest());
        this.part = createHash('sha256');
        this.inPart = 0;
      }
      const take = Math.min(chunk.length - offset, this.partSize - this.inPart);
      this.part.update(chunk.subarray(offset, offset + take));
      this.inPart += take;
      offset += take;
    }
    this.total += chunk.length;
  }

  get bytes(): number {
    return this.total;
  }

  digest(): { Checksum: string; ChecksumType: ChecksumType } {
    if (this.total <= this.partSize) return { Checksum: this.part.digest('base64'), ChecksumType: 'FULL_OBJECT' };
    const digests = [...this.partDigests, this.part.digest()];
    return { Checksum: `${createHash('sha256').update(Buffer.concat(digests)).digest('base64')}-${digests.length}`, ChecksumType: 'COMPOSITE' };
  }

  /** The composite checksum from the parts' digests, computed apart (restore hashes its parts in parallel). */
  static composite(partDigests: Buffer[]): string {
    return `${createHash('sha256').update(Buffer.concat(partDigests)).digest('base64')}-${partDigests.length}`;
  }
}
