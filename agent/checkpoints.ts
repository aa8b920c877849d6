import { cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { checkpointFolder, MANIFEST_NAME } from '../shared/protocol.js';
import { parseS3Uri } from '../shared/s3uri.js';
import { SpotTrainingError } from '../shared/errors.js';

/**
 * Checkpoints on S3, one immutable folder each in the job's folder under CheckpointConfig.S3Uri:
 *   <S3Uri>/<job>/ckpt-000000042/<the files of LocalPath>   then   <S3Uri>/<job>/ckpt-000000042/manifest.json
 * The manifest goes last and lists every file with its size: a folder without one is a
 * checkpoint cut off mid-upload, which nothing ever restores.
 */
export interface Manifest {
  Version: 1;
  Sequence: number;
  CreatedAt: string;
  Attempt: number;
  InstanceId: string;
  Files: { Path: string; Size: number }[];
}

export const checkpointId = (sequence: number) => `ckpt-${String(sequence).padStart(9, '0')}`;

async function listFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) found.push(path);
    }
  };
  await walk(root);
  return found.sort();
}

/** What the folder holds now (names, sizes, times): a checkpoint is taken only when it changed. */
export async function fingerprint(localPath: string): Promise<string> {
  const files = await listFiles(localPath);
  const parts = await Promise.all(files.map(async (f) => `${relative(localPath, f)}:${(await stat(f)).size}:${(await stat(f)).mtimeMs}`));
  return parts.join('|');
}

export async function uploadCheckpoint(
  s3: S3Client,
  s3Uri: string,
  localPath: string,
  sequence: number,
  meta: { jobName: string; attempt: number; instanceId: string },
): Promise<{ id: string; files: number; bytes: number }> {
  const { bucket, prefix } = parseS3Uri(s3Uri);
  const id = checkpointId(sequence);
  const folder = checkpointFolder(prefix, meta.jobName, id);
  // A snapshot first: the training process may rewrite files while they upload, and a
  // checkpoint must hold each file as it was at one moment, with the size the manifest says.
  const snapshot = `${localPath.replace(/\/$/, '')}.snapshot`;
  await rm(snapshot, { recursive: true, force: true });
  await cp(localPath, snapshot, { recursive: true });
  const files: Manifest['Files'] = [];
  try {
    for (const file of await listFiles(snapshot)) {
      const path = relative(snapshot, file).split(sep).join('/');
      const body = await readFile(file);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}${path}`, Body: body }));
      files.push({ Path: path, Size: body.length });
    }
  } finally {
    await rm(snapshot, { recursive: true, force: true });
  }
  const manifest: Manifest = { Version: 1, Sequence: sequence, CreatedAt: new Date().toISOString(), Attempt: meta.attempt, InstanceId: meta.instanceId, Files: files };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}${MANIFEST_NAME}`, Body: JSON.stringify(manifest, null, 2), ContentType: 'application/json' }));
  return { id, files: files.length, bytes: files.reduce((sum, f) => sum + f.Size, 0) };
}

export class RestoreError extends SpotTrainingError {}

/**
 * Restores exactly the files a manifest lists into LocalPath. Everything is downloaded into a
 * staging folder first and checked against the manifest's sizes; only then does it replace
 * LocalPath, so a failed restore leaves nothing half-written.
 */
export async function restoreCheckpoint(s3: S3Client, manifestUri: string, localPath: string): Promise<Manifest> {
  const location = parseS3Uri(manifestUri);
  const manifestKey = location.prefix.replace(/\/$/, '');
  const folder = manifestKey.slice(0, manifestKey.length - MANIFEST_NAME.length);
  const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: manifestKey }));
  const manifest = JSON.parse((await object.Body?.transformToString()) ?? '') as Manifest;
  if (!Array.isArray(manifest.Files)) throw new RestoreError(`${manifestUri} has no file list`);
  const staging = `${localPath.replace(/\/$/, '')}.restoring`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  for (const file of manifest.Files) {
    if (typeof file.Path !== 'string' || file.Path.startsWith('/') || file.Path.split('/').some((s) => s === '..' || s === '')) {
      throw new RestoreError(`${manifestUri} lists an unsafe path '${String(file.Path)}'`);
    }
    const body = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: `${folder}${file.Path}` }));
    const bytes = await body.Body?.transformToByteArray();
    if (!bytes || bytes.length !== file.Size) {
      throw new RestoreError(`${file.Path} of ${manifestUri} has ${bytes?.length ?? 0} bytes, the manifest says ${file.Size}`);
    }
    const target = join(staging, file.Path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
  await rm(localPath, { recursive: true, force: true });
  await mkdir(dirname(localPath), { recursive: true });
  await rename(staging, localPath);
  return manifest;
}
