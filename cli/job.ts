/** DescribeTrainingJob's response as spotctl reads it (shared/api/views.ts describeView); times are epoch seconds. */
export interface TransitionView {
  Status: string;
  StartTime: number;
  EndTime?: number;
  StatusMessage?: string;
}

export interface AttemptView {
  AttemptNumber: number;
  InstanceType?: string;
  Market?: string;
  InstanceIds: string[];
  ResumedFromAttempt?: number;
  RequestedTime?: number;
  RunningTime?: number;
  EndTime?: number;
  EndReason?: string;
  InstanceAction?: string;
  ExitCode?: number;
  LastLaunchError?: string;
  TrainingTimeInSeconds?: number;
  SpotPrice?: number;
  OnDemandPrice?: number;
}

export interface JobView {
  TrainingJobName: string;
  TrainingJobArn?: string;
  TrainingJobStatus: string;
  SecondaryStatus: string;
  FailureReason?: string;
  ResourceConfig?: { InstanceType: string; InstanceCount: number; VolumeSizeInGB?: number };
  StoppingCondition?: { MaxRuntimeInSeconds?: number; MaxWaitTimeInSeconds?: number };
  EnableManagedSpotTraining?: boolean;
  CheckpointConfig?: { S3Uri: string; LocalPath?: string };
  CreationTime: number;
  TrainingStartTime?: number;
  TrainingEndTime?: number;
  LastModifiedTime?: number;
  SecondaryStatusTransitions: TransitionView[];
  TrainingTimeInSeconds?: number;
  BillableTimeInSeconds?: number;
  Attempts?: AttemptView[];
  Interruptions?: { Time: number; InstanceId: string; InstanceAction: string; AttemptNumber: number }[];
  RebalanceRecommendations?: { Time: number; InstanceId: string; AttemptNumber: number }[];
  LatestCheckpoint?: { CheckpointId: string; ManifestUri?: string; Time?: number; SizeInBytes?: number; UploadDurationInSeconds?: number };
  LastCheckpointFailure?: { Time: number; AttemptNumber: number; Trigger: string; Reason: string; ConsecutiveFailures: number };
  /** Healthy, Failing, EmptyFolder, Overdue (shared/lifecycle/checkpointHealth.ts). */
  CheckpointHealth?: { Status: string; Message: string };
  Savings?: { SavingsPercent: number; SpotCostUsd: number; OnDemandCostUsd: number };
  /** The last value of each MetricDefinition (Timestamp in epoch seconds), as SageMaker's DescribeTrainingJob gives it. */
  FinalMetricDataList?: { MetricName: string; Value: number; Timestamp: number }[];
}

export const TERMINAL = ['Completed', 'Failed', 'Stopped'];
export const isFinished = (job: JobView) => TERMINAL.includes(job.TrainingJobStatus);

/** How `watch` exits: the README's table. */
export const EXIT = {
  ok: 0,
  failed: 10,
  stopped: 11,
  maxRuntimeExceeded: 12,
  maxWaitTimeExceeded: 13,
  watchTimeout: 14,
  sigint: 130,
  usage: 252,
  service: 254,
  other: 255,
} as const;

export function endingExitCode(job: JobView): number {
  if (job.TrainingJobStatus === 'Completed') return EXIT.ok;
  if (job.TrainingJobStatus === 'Failed') return EXIT.failed;
  if (job.SecondaryStatus === 'MaxRuntimeExceeded') return EXIT.maxRuntimeExceeded;
  if (job.SecondaryStatus === 'MaxWaitTimeExceeded') return EXIT.maxWaitTimeExceeded;
  return EXIT.stopped;
}

/** Seconds from creation to the end of the job, or to now while it runs. */
export function elapsedSeconds(job: JobView, nowSeconds: number): number {
  const end = isFinished(job) ? (job.TrainingEndTime ?? job.LastModifiedTime ?? nowSeconds) : nowSeconds;
  return Math.max(0, end - job.CreationTime);
}

const TRANSIENT = /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT)$/;

/** A connection reset or refused: worth another try in a polling loop (watch, logs --follow). */
export function isTransient(error: unknown): boolean {
  const e = error as { code?: string; message?: string; cause?: { code?: string } };
  return (e?.message === 'fetch failed' && TRANSIENT.test(e.cause?.code ?? '')) || TRANSIENT.test(e?.code ?? '') || TRANSIENT.test(e?.cause?.code ?? '');
}

/** Runs a read a few times over transient connection errors (about 5 s in all). */
export async function retrying<T>(read: () => Promise<T>, sleep: (ms: number) => Promise<void>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await read();
    } catch (error) {
      if (i >= attempts || !isTransient(error)) throw error;
      await sleep(250 * i);
    }
  }
}
