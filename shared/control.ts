import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { JobRecord } from './lifecycle/job.js';
import {
  requestsPrefix,
  restoreKey,
  type AgentReportBody,
  type ControlRequest,
  type ControlRequestKind,
  type RestoreInstruction,
} from './protocol.js';

const MAX_REPORT_BYTES = 64 * 1024;

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
    };
    await this.put(restoreKey(job.TrainingJobName, attempt), instruction);
  }

  /** Asks the attempt's agents to checkpoint now, or to stop; one object per request, so none overwrites another. */
  async request(jobName: string, attempt: number, kind: ControlRequestKind, reason: string, at: Date): Promise<void> {
    const body: ControlRequest = { Kind: kind, Reason: reason, Time: at.toISOString() };
    await this.put(`${requestsPrefix(jobName, attempt)}${kind}-${at.getTime()}-${reason}.json`, body);
  }

  /** The body of an agent report; a body that is missing, too large or not JSON reads as empty. */
  async readReport(key: string): Promise<AgentReportBody> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if ((object.ContentLength ?? 0) > MAX_REPORT_BYTES) return {};
    const text = (await object.Body?.transformToString()) ?? '';
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      return {
        ...(Number.isSafeInteger(parsed.ExitCode) ? { ExitCode: parsed.ExitCode as number } : {}),
        ...(typeof parsed.Reason === 'string' ? { Reason: parsed.Reason.slice(0, 1024) } : {}),
        ...(typeof parsed.Time === 'string' && !Number.isNaN(Date.parse(parsed.Time)) ? { Time: parsed.Time } : {}),
      };
    } catch {
      return {};
    }
  }

  private async put(key: string, body: unknown): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(body, null, 2), ContentType: 'application/json' }));
  }
}
