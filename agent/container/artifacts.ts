import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SpotTrainingError } from '../../shared/errors.js';
import type { TrainingJobSpec } from '../../shared/lifecycle/job.js';
import { parseS3Uri, type S3Location } from '../../shared/s3uri.js';
import { inPool } from '../checkpoint/pool.js';
import type { TransferSettings } from '../checkpoint/settings.js';

/**
 * What a training container leaves behind, delivered where SageMaker puts it:
 *   /opt/ml/model         → <S3OutputPath>/<job>/output/model.tar.gz (CompressionType NONE: the files under …/output/model/)
 *   /opt/ml/output/data   → <S3OutputPath>/<job>/output/output.tar.gz
 *   /opt/ml/output/failure → the job's FailureReason
 * Archives are tar's output streamed into a multipart upload: never on disk, never whole in
 * memory. With OutputDataConfig.KmsKeyId every object is written with SSE-KMS under that key.
 */
export class ArtifactUploadError extends SpotTrainingError {}

export type OutputConfig = TrainingJobSpec['OutputDataConfig'];

export interface ArtifactTarget {
  s3: S3Client;
  output: OutputConfig;
  jobName: string;
  transfer: TransferSettings;
}

/** SageMaker keeps the first 1024 characters of a failure file as FailureReason. */
const FAILURE_REASON_CHARS = 1024;

export function outputFolder(output: OutputConfig, jobName: string): S3Location {
  try {
    const { bucket, prefix } = parseS3Uri(output.S3OutputPath);
    return { bucket, prefix: `${prefix}${jobName}/output/` };
  } catch (error) {
    throw new ArtifactUploadError(`OutputDataConfig.S3OutputPath ${output.S3OutputPath} is not an S3 folder: it must ${(error as Error).message}`);
  }
}

/** The server-side encryption of every object written for the job. */
export function encryption(output: OutputConfig): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
  return output.KmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: output.KmsKeyId } : {};
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** A folder as a gzipped tarball streamed to one object. */
async function uploadTarball(target: ArtifactTarget, dir: string, key: string): Promise<void> {
  const { bucket } = outputFolder(target.output, target.jobName);
  const tar = spawn('tar', ['-cz', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-1024)));
  const exited = new Promise<number>((resolve) => {
    tar.on('exit', (c) => resolve(c ?? 1));
    tar.on('error', () => resolve(127));
  });
  const upload = new Upload({
    client: target.s3,
    params: { Bucket: bucket, Key: key, Body: tar.stdout, ChecksumAlgorithm: 'SHA256', ...encryption(target.output) },
    partSize: target.transfer.partSizeBytes,
    queueSize: target.transfer.partConcurrency,
  });
  const [code] = await Promise.all([exited, upload.done()]);
  if (code !== 0) throw new ArtifactUploadError(`tar of ${dir} failed with code ${code}: ${stderr.trim()}`);
}

/** The model folder as SageMaker delivers it; returns its S3 URI (ModelArtifacts.S3ModelArtifacts). */
export async function uploadModel(target: ArtifactTarget, modelDir: string): Promise<string> {
  const { bucket, prefix } = outputFolder(target.output, target.jobName);
  if (target.output.CompressionType !== 'NONE') {
    await uploadTarball(target, modelDir, `${prefix}model.tar.gz`);
    return `s3://${bucket}/${prefix}model.tar.gz`;
  }
  const files = await filesUnder(modelDir);
  await inPool(files, target.transfer.fileConcurrency, async (path) => {
    const size = (await stat(path)).size;
    const upload = new Upload({
      client: target.s3,
      params: { Bucket: bucket, Key: `${prefix}model/${relative(modelDir, path)}`, Body: createReadStream(path), ContentLength: size, ChecksumAlgorithm: 'SHA256', ...encryption(target.output) },
      partSize: target.transfer.partSizeBytes,
      queueSize: target.transfer.partConcurrency,
    });
    await upload.done();
  });
  return `s3://${bucket}/${prefix}model/`;
}

/** /opt/ml/output/data as output.tar.gz, when the script wrote anything there. */
export async function uploadOutputData(target: ArtifactTarget, dataDir: string): Promise<string | undefined> {
  if (!(await filesUnder(dataDir)).length) return undefined;
  const { bucket, prefix } = outputFolder(target.output, target.jobName);
  await uploadTarball(target, dataDir, `${prefix}output.tar.gz`);
  return `s3://${bucket}/${prefix}output.tar.gz`;
}

/** What the script wrote to /opt/ml/output/failure, if anything: the job's FailureReason. */
export async function failureReason(failureFile: string): Promise<string | undefined> {
  const text = await readFile(failureFile, 'utf8').catch(() => undefined);
  const trimmed = text?.trim();
  return trimmed ? trimmed.slice(0, FAILURE_REASON_CHARS) : undefined;
}
