import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { MANIFEST_NAME } from '../../shared/protocol.js';
import { parseManifest } from './manifest.js';

/**
 * Keeps the newest `keep` complete checkpoints of a job's folder and deletes the rest: the
 * older manifests first (from then on those checkpoints are no longer complete, so nothing
 * restores them), then every object that no remaining manifest names. A kept checkpoint may
 * name objects in an older folder (files it did not upload again): those stay. Folders newer
 * than `newestSequence` are left alone, whoever is writing them.
 */
export interface RetentionResult {
  kept: string[];
  deletedCheckpoints: string[];
  deletedObjects: number;
}

const sequenceOf = (folder: string) => Number(/(\d{1,15})(?!.*\d)/.exec(folder)?.[1] ?? -1);

export async function applyRetention(s3: S3Client, bucket: string, jobFolder: string, keep: number, newestSequence: number): Promise<RetentionResult> {
  // Every key of the folder, grouped by checkpoint: a listing of keys only, whatever their number.
  const folders = new Map<string, string[]>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: jobFolder, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of page.Contents ?? []) {
      const rest = (object.Key ?? '').slice(jobFolder.length);
      const cut = rest.indexOf('/');
      if (cut <= 0) continue;
      const folder = rest.slice(0, cut);
      if (!folders.has(folder)) folders.set(folder, []);
      folders.get(folder)?.push(rest);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);

  const ours = [...folders.keys()].filter((f) => sequenceOf(f) >= 0 && sequenceOf(f) <= newestSequence).sort((a, b) => sequenceOf(b) - sequenceOf(a));
  const complete = ours.filter((f) => folders.get(f)?.includes(`${f}/${MANIFEST_NAME}`));
  const kept = complete.slice(0, Math.max(1, keep));
  if (kept.length === 0) return { kept, deletedCheckpoints: [], deletedObjects: 0 };
  const referenced = new Set<string>();
  for (const folder of kept) {
    referenced.add(`${folder}/${MANIFEST_NAME}`);
    const key = `${jobFolder}${folder}/${MANIFEST_NAME}`;
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const manifest = parseManifest((await object.Body?.transformToString()) ?? '', `s3://${bucket}/${key}`);
    for (const file of manifest.Files) referenced.add(file.Key);
  }
  // Only folders older than the oldest kept one are cleared: anything between is a kept one, or
  // a newer checkpoint cut off (no manifest) that the next sync's retention clears.
  const oldestKept = sequenceOf(kept.at(-1) ?? '');
  const dropped = ours.filter((f) => sequenceOf(f) < oldestKept);
  const manifests = dropped.filter((f) => folders.get(f)?.includes(`${f}/${MANIFEST_NAME}`)).map((f) => `${f}/${MANIFEST_NAME}`);
  const manifestSet = new Set(manifests);
  const objects = dropped.flatMap((f) => folders.get(f) ?? []).filter((key) => !referenced.has(key) && !manifestSet.has(key));
  await deleteKeys(s3, bucket, jobFolder, manifests);
  await deleteKeys(s3, bucket, jobFolder, objects);
  return { kept, deletedCheckpoints: dropped.filter((f) => manifestSet.has(`${f}/${MANIFEST_NAME}`)), deletedObjects: objects.length };
}

async function deleteKeys(s3: S3Client, bucket: string, jobFolder: string, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((k) => ({ Key: `${jobFolder}${k}` })), Quiet: true } }));
    const failed = result.Errors ?? [];
    if (failed.length) throw new Error(`retention could not delete ${failed.length} objects, e.g. ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message}`);
  }
}
