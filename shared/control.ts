import type { z } from 'zod';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { TRAINING_JOB_NAME, type Checkpoint, type JobRecord } from './lifecycle/job.js';
import { parsedValue, parseProblem, type Parsed } from './errors.js';
import { parseS3Uri } from './s3uri.js';
import {
  checkpointOutcomeBody,
  downloadProgressBody,
  type DownloadProgressBody,
  checkpointFolder,
  type CheckpointOutcomeBody,
  MANIFEST_NAME,
  requestKey,
  restoreKey,
  type AgentReportBody,
  type ControlRequest,
  type ControlRequestKind,
  parseReportedMetrics,
  type RestoreInstruction,
} from './protocol.js';

const MAX_REPORT_BYTES = 64 * 1024;

function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** The control plane's side of the S3 protocol with the agent (see protocol.ts). */
export class ControlChannel {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async writeRestore(job: JobRecord, attempt: number, instanceIds: string[]): Promise<void> {
    const spec = job.Spec;
    const checkpoint = job.LatestCheckpoint;
    const instruction: RestoreInstruction = {
      TrainingJobName: job.TrainingJobName,
      Attempt: attempt,
      ...(checkpoint ? { Checkpoint: { Id: checkpoint.Id, Sequence: checkpoint.Sequence, ManifestUri: checkpoint.ManifestUri } } : {}),
      ...(spec.CheckpointConfig ? { CheckpointS3Uri: spec.CheckpointConfig.S3Uri, CheckpointLocalPath: spec.CheckpointConfig.LocalPath } : {}),
      OutputS3Uri: spec.OutputDataConfig.S3OutputPath,
      ...(spec.AlgorithmSpecification.TrainingImage ? { TrainingImage: spec.AlgorithmSpecification.TrainingImage } : {}),
      Command: [...(spec.AlgorithmSpecification.ContainerEntrypoint ?? []), ...(spec.AlgorithmSpecification.ContainerArguments ?? [])],
      Environment: spec.Environment,
      HyperParameters: spec.HyperParameters,
      InstanceIds: instanceIds,
      TrainingJobArn: job.TrainingJobArn,
      AlgorithmSpecification: compact({
        TrainingImage: spec.AlgorithmSpecification.TrainingImage,
        TrainingInputMode: spec.AlgorithmSpecification.TrainingInputMode,
        MetricDefinitions: spec.AlgorithmSpecification.MetricDefinitions,
        ContainerEntrypoint: spec.AlgorithmSpecification.ContainerEntrypoint,
        ContainerArguments: spec.AlgorithmSpecification.ContainerArguments,
      }),
      ResourceConfig: {
        InstanceType: spec.ResourceConfig.SubmittedInstanceType ?? spec.ResourceConfig.InstanceType,
        InstanceCount: spec.ResourceConfig.InstanceCount,
        VolumeSizeInGB: spec.ResourceConfig.VolumeSizeInGB,
      },
      ...(spec.InputDataConfig ? { InputDataConfig: spec.InputDataConfig } : {}),
      OutputDataConfig: spec.OutputDataConfig,
      ...(spec.EnableNetworkIsolation ? { EnableNetworkIsolation: true } : {}),
      ...(spec.TensorBoardOutputConfig ? { TensorBoardOutputConfig: spec.TensorBoardOutputConfig } : {}),
    };
    await this.put(restoreKey(job.TrainingJobName, attempt), instruction);
  }

  /** Asks the attempt's agents to checkpoint now, to stop, or that they are being interrupted (see protocol.ts). */
  async request(jobName: string, attempt: number, kind: ControlRequestKind, reason: string, at: Date): Promise<void> {
    const body: ControlRequest = { Kind: kind, Reason: reason, Time: at.toISOString() };
    await this.put(requestKey(jobName, attempt, kind, at), body);
  }

  /** The jobs that have a folder of checkpoints under a CheckpointConfig.S3Uri (at most `limit`). */
  async checkpointJobs(s3Uri: string, limit = 1000): Promise<string[]> {
    const { bucket, prefix } = parseS3Uri(s3Uri);
    const jobs: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }));
      for (const folder of page.CommonPrefixes ?? []) {
        const name = (folder.Prefix ?? '').slice(prefix.length, -1);
        if (TRAINING_JOB_NAME.test(name)) jobs.push(name);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && jobs.length < limit);
    return jobs.slice(0, limit);
  }

  /**
   * The latest complete checkpoint in a job's folder: the highest-numbered checkpoint whose
   * manifest is there (a folder without one was cut off mid-upload).
   */
  async latestCheckpoint(s3Uri: string, job: string): Promise<Checkpoint | undefined> {
    const { bucket, prefix } = parseS3Uri(s3Uri);
    const home = checkpointFolder(prefix, job, '').slice(0, -1);
    const candidates: { id: string; sequence: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: home, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }));
      for (const folder of page.CommonPrefixes ?? []) {
        const id = (folder.Prefix ?? '').slice(home.length, -1);
        const digits = /(\d{1,15})(?!.*\d)/.exec(id);
        if (digits) candidates.push({ id, sequence: Number(digits[1]) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    candidates.sort((a, b) => b.sequence - a.sequence);
    for (const { id, sequence } of candidates) {
      const key = `${checkpointFolder(prefix, job, id)}${MANIFEST_NAME}`;
      try {
        const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { Id: `${job}/${id}`, Sequence: sequence, ManifestUri: `s3://${bucket}/${key}`, Time: head.LastModified?.getTime() ?? 0 };
      } catch (error) {
        if ((error as { name?: string }).name === 'NotFound' || (error as { name?: string }).name === 'NoSuchKey') continue;
        throw error;
      }
    }
    return undefined;
  }

  /**
   * A report's body, each field validated on its own: a field that is not what it should be is
   * left out (and named in `problem`), so that the report still moves the job on.
   */
  async readReport(key: string): Promise<AgentReportBody & { problem?: string }> {
    const read = await this.readJson(key);
    if (!read.ok) return { problem: read.problem };
    const parsed = (read.value ?? {}) as Record<string, unknown>;
    const metrics = parsed.FinalMetricDataList === undefined ? undefined : parseReportedMetrics(parsed.FinalMetricDataList);
    return {
      ...(Number.isSafeInteger(parsed.ExitCode) ? { ExitCode: parsed.ExitCode as number } : {}),
      ...(typeof parsed.Reason === 'string' ? { Reason: parsed.Reason.slice(0, 1024) } : {}),
      ...(typeof parsed.Time === 'string' && !Number.isNaN(Date.parse(parsed.Time)) ? { Time: parsed.Time } : {}),
      ...(Array.isArray(metrics) ? { FinalMetricDataList: metrics } : {}),
      ...(typeof metrics === 'string' ? { problem: metrics } : {}),
    };
  }

  /** The body of a checkpoint outcome report, validated; a message naming the field when it is not one. */
  readCheckpointOutcome(key: string): Promise<CheckpointOutcomeBody | string> {
    return this.readValidated(key, checkpointOutcomeBody);
  }

  /** The body of a download progress report, validated; a message naming the field when it is not one. */
  readDownloadProgress(key: string): Promise<DownloadProgressBody | string> {
    return this.readValidated(key, downloadProgressBody);
  }

  private async readValidated<T>(key: string, schema: z.ZodType<T>): Promise<T | string> {
    const read = await this.readJson(key);
    if (!read.ok) return read.problem;
    const result = schema.safeParse(read.value);
    return result.success ? result.data : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  }

  /** A small JSON object of the control bucket, or what is wrong with it (too large, not JSON). */
  private async readJson(key: string): Promise<Parsed<unknown>> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if ((object.ContentLength ?? 0) > MAX_REPORT_BYTES) return parseProblem(`larger than ${MAX_REPORT_BYTES} bytes`);
    try {
      return parsedValue(JSON.parse((await object.Body?.transformToString()) ?? '') as unknown);
    } catch {
      return parseProblem('not JSON');
    }
  }

  private async put(key: string, body: unknown): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(body, null, 2), ContentType: 'application/json' }));
  }
}
