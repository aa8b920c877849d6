import { createHash } from 'node:crypto';
import { parseS3Uri } from '../s3uri.js';
import { MESSAGES, primaryStatusOf, type SecondaryStatus, type TrainingJobStatus } from './statuses.js';
import { INITIAL_STATUS } from './transitions.js';
import type { Checkpoint, CheckpointFailure, FinalCheckpoint } from './checkpointRecords.js';
import type { InputChannel, MetricDefinition, NoEffectMembers, TensorBoardOutputConfig, VpcConfig } from './jobSpec.js';

/** What the agent's checkpoints leave on the record; declared apart, part of the record's vocabulary. */
export type { Checkpoint, CheckpointFailure, CheckpointOutcome, CheckpointTrigger, FinalCheckpoint } from './checkpointRecords.js';

/** SageMaker's rule for TrainingJobName: 1–63 characters, letters, digits and inner hyphens. */
export const TRAINING_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** Times are epoch milliseconds inside the product; the API speaks SageMaker's epoch seconds. */
export type EpochMillis = number;

export type InstanceAction = 'terminate' | 'stop' | 'hibernate';
export type Market = 'spot' | 'on-demand';

/** A validated, normalised CreateTrainingJob request: what the user asked for, never changed after. */
export interface TrainingJobSpec {
  TrainingJobName: string;
  RoleArn?: string;
  AlgorithmSpecification: {
    TrainingImage?: string;
    TrainingInputMode: string;
    /** The training command the agent runs; spot-training's addition to SageMaker's shape. */
    ContainerEntrypoint?: string[];
    ContainerArguments?: string[];
    MetricDefinitions?: MetricDefinition[];
    EnableSageMakerMetricsTimeSeries?: boolean;
    TrainingImageConfig?: { TrainingRepositoryAccessMode: 'Platform' };
  };
  ResourceConfig: {
    /** The EC2 type (`g5.xlarge`); SubmittedInstanceType keeps the request's spelling (`ml.g5.xlarge`). */
    InstanceType: string;
    InstanceCount: number;
    VolumeSizeInGB: number;
    SubmittedInstanceType?: string;
    /** The KMS key the instances' volume is encrypted with. */
    VolumeKmsKeyId?: string;
    KeepAlivePeriodInSeconds?: number;
  };
  EnableManagedSpotTraining: boolean;
  StoppingCondition: { MaxRuntimeInSeconds: number; MaxWaitTimeInSeconds?: number; MaxPendingTimeInSeconds?: number };
  CheckpointConfig?: { S3Uri: string; LocalPath: string };
  /** KmsKeyId: outputs and checkpoints are written with it; CompressionType NONE: the model folder is uploaded as files. */
  OutputDataConfig: { S3OutputPath: string; KmsKeyId?: string; CompressionType?: 'GZIP' | 'NONE' };
  InputDataConfig?: InputChannel[];
  /** Where the job's instances launch, instead of the deployment's subnets and security groups. */
  VpcConfig?: VpcConfig;
  /** The training container runs with no network; the agent keeps its own S3 access. */
  EnableNetworkIsolation?: boolean;
  EnableInterContainerTrafficEncryption?: boolean;
  TensorBoardOutputConfig?: TensorBoardOutputConfig;
  /** Accepted with no effect here, returned by DescribeTrainingJob as submitted. */
  NoEffect?: NoEffectMembers;
  Environment: Record<string, string>;
  HyperParameters: Record<string, string>;
  RetryStrategy?: { MaximumRetryAttempts: number };
  Tags: Tag[];
  /** What a stopped or hibernated spot instance does: on a persistent request it comes back. */
  SpotInterruptionBehavior: InstanceAction;
  /** Instance types to try, in order, when the first has no spot capacity. */
  FallbackInstanceTypes: string[];
  /** Launch on-demand after this long without spot capacity; absent means never. */
  OnDemandFallbackAfterSeconds?: number;
}

export interface Tag {
  Key: string;
  Value: string;
}

/** The job's tags now: CreateTrainingJob's, as AddTags and DeleteTags changed them since. */
export const tagsOf = (job: Pick<JobRecord, 'Tags' | 'Spec'>): Tag[] => job.Tags ?? job.Spec.Tags;

export type AttemptEnd = 'interrupted' | 'completed' | 'failed' | 'stopped' | 'max-runtime' | 'max-wait' | 'lost';

/** One continuous run of the job on a set of instances, from launch request to its end. */
export interface Attempt {
  Number: number;
  /** Launch requests made for this attempt (capacity retries included); part of the client token. */
  LaunchRequests: number;
  RequestedTime: EpochMillis;
  InstanceType: string;
  Market: Market;
  InstanceIds: string[];
  RunningInstanceIds: string[];
  GoneInstanceIds: string[];
  /** The gone instances whose last word was "stopped": they still exist and can run again. */
  StoppedInstanceIds?: string[];
  /** When an instance of the attempt was last seen stopped: only a `running` after this is it coming back. */
  StoppedTime?: EpochMillis;
  /** Set when an instance of a stopped or hibernated attempt came back and this attempt resumed on it. */
  ResumedFromAttempt?: number;
  /** All of the attempt's instances are running: training time starts counting here. */
  RunningTime?: EpochMillis;
  EndTime?: EpochMillis;
  EndReason?: AttemptEnd;
  InstanceAction?: InstanceAction;
  ExitCode?: number;
  LastLaunchError?: string;
  /** Hourly prices captured when the attempt started running. */
  Prices?: { Spot: number; OnDemand: number };
  /** The final checkpoint the agent took when the attempt was told to end (interruption, stop). */
  FinalCheckpoint?: FinalCheckpoint;
  /** How much of its File-mode input the attempt's leader has downloaded, as it last reported. */
  InputDownload?: InputDownload;
}

export interface InputDownload {
  Files: number;
  TotalFiles: number;
  Bytes: number;
  TotalBytes: number;
}

export interface TransitionRecord {
  Status: SecondaryStatus;
  StartTime: EpochMillis;
  StatusMessage: string;
}

export interface Interruption {
  Time: EpochMillis;
  InstanceId: string;
  Action: InstanceAction;
  Attempt: number;
}

export type StopReason = 'user' | 'max-runtime' | 'max-wait';

/** One value of a MetricDefinition, as the training output printed it, and when. */
export interface MetricDatum {
  MetricName: string;
  Value: number;
  Timestamp: EpochMillis;
}

export interface JobRecord {
  TrainingJobName: string;
  TrainingJobArn: string;
  Spec: TrainingJobSpec;
  TrainingJobStatus: TrainingJobStatus;
  SecondaryStatus: SecondaryStatus;
  Transitions: TransitionRecord[];
  FailureReason?: string;
  CreationTime: EpochMillis;
  LastModifiedTime: EpochMillis;
  TrainingStartTime?: EpochMillis;
  TrainingEndTime?: EpochMillis;
  CurrentAttempt: number;
  Attempts: Attempt[];
  /** The current attempt's instances: the store's condition for instance events. */
  CurrentInstanceIds: string[];
  Interruptions: Interruption[];
  RebalanceRecommendations: { Time: EpochMillis; InstanceId: string; Attempt: number }[];
  LatestCheckpoint?: Checkpoint;
  /** The last value of each of the job's MetricDefinitions seen in its output; DescribeTrainingJob's FinalMetricDataList. */
  FinalMetricDataList?: MetricDatum[];
  /** Set by the first AddTags or DeleteTags; until then the tags are Spec.Tags. */
  Tags?: Tag[];
  /** The last checkpoint sync that failed, and how many failed since the last complete one. */
  LastCheckpointFailure?: CheckpointFailure;
  CheckpointFailuresInARow?: number;
  /** The agent found LocalPath empty since then, for longer than the job allows. */
  CheckpointFolderEmptySince?: EpochMillis;
  StopReason?: StopReason;
  StoppingTime?: EpochMillis;
  RetriesUsed: number;
  /** When a launch that failed for capacity is tried again. */
  NextLaunchTime?: EpochMillis;
  /**
   * An attempt that ended before its launch reported back (the response lost to a crash):
   * EC2 is asked again, by the attempt's tags, until it has nothing left running for it.
   * Keeps a finished job in the deadline index until then.
   */
  PendingReclaim?: PendingReclaim;
  /** Ids of recent events that changed the record without a status change, to spot redeliveries. */
  RecentEventKeys: string[];
  /** Bumped by every write; the store's optimistic lock. */
  Version: number;
}

export interface PendingReclaim {
  Attempt: number;
  /** When the deadline sweep looks again. */
  DueTime: EpochMillis;
  /** Looks taken after the first, at the end of the attempt. */
  Checks: number;
}

export interface NewJobInput {
  spec: TrainingJobSpec;
  arn: string;
  now: EpochMillis;
  /** A finished job's checkpoint in the same folder, to start from. */
  checkpoint?: Checkpoint;
}

export function newJob({ spec, arn, now, checkpoint }: NewJobInput): JobRecord {
  const firstAttempt = newAttempt(1, spec.ResourceConfig.InstanceType, spec.EnableManagedSpotTraining ? 'spot' : 'on-demand', now);
  return {
    TrainingJobName: spec.TrainingJobName,
    TrainingJobArn: arn,
    Spec: spec,
    TrainingJobStatus: primaryStatusOf(INITIAL_STATUS),
    SecondaryStatus: INITIAL_STATUS,
    Transitions: [{ Status: INITIAL_STATUS, StartTime: now, StatusMessage: MESSAGES.created }],
    CreationTime: now,
    LastModifiedTime: now,
    CurrentAttempt: 1,
    Attempts: [firstAttempt],
    CurrentInstanceIds: [],
    Interruptions: [],
    RebalanceRecommendations: [],
    ...(checkpoint ? { LatestCheckpoint: checkpoint } : {}),
    RetriesUsed: 0,
    RecentEventKeys: [],
    Version: 0,
  };
}

export function newAttempt(number: number, instanceType: string, market: Market, now: EpochMillis): Attempt {
  return {
    Number: number,
    LaunchRequests: 1,
    RequestedTime: now,
    InstanceType: instanceType,
    Market: market,
    InstanceIds: [],
    RunningInstanceIds: [],
    GoneInstanceIds: [],
  };
}

export function currentAttempt(job: JobRecord): Attempt {
  const attempt = job.Attempts.find((a) => a.Number === job.CurrentAttempt);
  if (!attempt) throw new Error(`Job ${job.TrainingJobName} has no attempt ${job.CurrentAttempt}`);
  return attempt;
}

/** Instances of the attempt that have not yet stopped or terminated. */
export function liveInstanceIds(attempt: Attempt): string[] {
  return attempt.InstanceIds.filter((id) => !attempt.GoneInstanceIds.includes(id));
}

/**
 * Where a job's own checkpoints live: a folder named for the job under CheckpointConfig.S3Uri,
 * so that jobs sharing one S3Uri never read or record each other's checkpoints.
 */
export function checkpointHome(job: Pick<JobRecord, 'TrainingJobName' | 'Spec'>): string | undefined {
  const s3Uri = job.Spec.CheckpointConfig?.S3Uri;
  if (!s3Uri) return undefined;
  const { bucket, prefix } = parseS3Uri(s3Uri);
  return `s3://${bucket}/${prefix}${job.TrainingJobName}/`;
}

/** Instance launches are idempotent per (job, attempt, launch request): EC2's ClientToken. */
export function launchClientToken(jobName: string, attempt: Attempt): string {
  const key = `${jobName}/attempt-${attempt.Number}/launch-${attempt.LaunchRequests}`;
  // EC2 allows 64 characters; a digest keeps long job names from colliding after truncation.
  return `${jobName.slice(0, 40)}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}
