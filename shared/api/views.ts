import { tagsOf, type EpochMillis, type JobRecord } from '../lifecycle/job.js';
import { attemptRunMillis, costReport } from '../lifecycle/money.js';
import { isTerminal } from '../lifecycle/statuses.js';
import { checkpointHealth } from '../lifecycle/checkpointHealth.js';
import { submittedMembers } from './describeMembers.js';

/** SageMaker's JSON protocol carries timestamps as epoch seconds. */
const seconds = (t: EpochMillis | undefined) => (t === undefined ? undefined : t / 1000);

function compact<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** Each transition ends when the next starts; the last one ends with the job. */
export function secondaryStatusTransitions(job: JobRecord) {
  const terminal = isTerminal(job.SecondaryStatus);
  return job.Transitions.map((t, i) => {
    const next = job.Transitions[i + 1];
    const end = next ? next.StartTime : terminal ? t.StartTime : undefined;
    return compact({ Status: t.Status, StartTime: seconds(t.StartTime), EndTime: seconds(end), StatusMessage: t.StatusMessage });
  });
}

/** Where the agent delivers /opt/ml/model: model.tar.gz, or a folder of files with CompressionType NONE. */
export function modelArtifactsUri(job: JobRecord): string {
  const base = job.Spec.OutputDataConfig.S3OutputPath;
  const folder = `${base.endsWith('/') ? base : `${base}/`}${job.TrainingJobName}/output/`;
  return job.Spec.OutputDataConfig.CompressionType === 'NONE' ? `${folder}model/` : `${folder}model.tar.gz`;
}

/** As SageMaker: a completed job's model, and a stopped one's, which is uploaded after its 120 seconds, once it had trained. */
const hasModel = (job: JobRecord) => job.TrainingJobStatus === 'Completed' || (job.TrainingJobStatus === 'Stopped' && job.TrainingStartTime !== undefined);

/** DescribeTrainingJob: SageMaker's fields, then what SageMaker does not tell (attempts, interruptions, checkpoint, savings). */
export function describeView(job: JobRecord, now: EpochMillis) {
  const spec = job.Spec;
  const cost = costReport(job, now);
  return compact({
    TrainingJobName: job.TrainingJobName,
    TrainingJobArn: job.TrainingJobArn,
    ModelArtifacts: hasModel(job) ? { S3ModelArtifacts: modelArtifactsUri(job) } : undefined,
    TrainingJobStatus: job.TrainingJobStatus,
    SecondaryStatus: job.SecondaryStatus,
    FailureReason: job.FailureReason,
    HyperParameters: spec.HyperParameters,
    RoleArn: spec.RoleArn,
    ...submittedMembers(job),
    CreationTime: seconds(job.CreationTime),
    TrainingStartTime: seconds(job.TrainingStartTime),
    TrainingEndTime: seconds(job.TrainingEndTime),
    LastModifiedTime: seconds(job.LastModifiedTime),
    SecondaryStatusTransitions: secondaryStatusTransitions(job),
    EnableManagedSpotTraining: spec.EnableManagedSpotTraining,
    CheckpointConfig: spec.CheckpointConfig,
    TrainingTimeInSeconds: cost.TrainingTimeInSeconds,
    BillableTimeInSeconds: cost.BillableTimeInSeconds,
    Environment: spec.Environment,
    RetryStrategy: spec.RetryStrategy,
    // Beyond SageMaker.
    SpotOptions: spec.EnableManagedSpotTraining
      ? compact({
          InterruptionBehavior: spec.SpotInterruptionBehavior,
          FallbackInstanceTypes: spec.FallbackInstanceTypes,
          OnDemandFallbackAfterSeconds: spec.OnDemandFallbackAfterSeconds,
        })
      : undefined,
    Attempts: job.Attempts.map((a) =>
      compact({
        AttemptNumber: a.Number,
        InstanceType: a.InstanceType,
        Market: a.Market,
        InstanceIds: a.InstanceIds,
        LaunchRequests: a.LaunchRequests,
        ResumedFromAttempt: a.ResumedFromAttempt,
        RequestedTime: seconds(a.RequestedTime),
        RunningTime: seconds(a.RunningTime),
        EndTime: seconds(a.EndTime),
        EndReason: a.EndReason,
        InstanceAction: a.InstanceAction,
        ExitCode: a.ExitCode,
        LastLaunchError: a.LastLaunchError,
        TrainingTimeInSeconds: Math.round(attemptRunMillis(a, now) / 1000),
        SpotPrice: a.Prices?.Spot,
        OnDemandPrice: a.Prices?.OnDemand,
        FinalCheckpoint: a.FinalCheckpoint
          ? compact({
              Status: a.FinalCheckpoint.Status,
              StartTime: seconds(a.FinalCheckpoint.StartTime),
              EndTime: seconds(a.FinalCheckpoint.EndTime),
              DeadlineTime: seconds(a.FinalCheckpoint.DeadlineTime),
              DurationInSeconds: a.FinalCheckpoint.EndTime === undefined ? undefined : (a.FinalCheckpoint.EndTime - a.FinalCheckpoint.StartTime) / 1000,
              EstimatedSeconds: a.FinalCheckpoint.EstimatedSeconds,
              CheckpointId: a.FinalCheckpoint.CheckpointId,
              Reason: a.FinalCheckpoint.Reason,
            })
          : undefined,
      }),
    ),
    Interruptions: job.Interruptions.map((i) => ({ Time: seconds(i.Time), InstanceId: i.InstanceId, InstanceAction: i.Action, AttemptNumber: i.Attempt })),
    RebalanceRecommendations: job.RebalanceRecommendations.map((r) => ({ Time: seconds(r.Time), InstanceId: r.InstanceId, AttemptNumber: r.Attempt })),
    LatestCheckpoint: job.LatestCheckpoint
      ? compact({
          CheckpointId: job.LatestCheckpoint.Id,
          ManifestUri: job.LatestCheckpoint.ManifestUri,
          Time: seconds(job.LatestCheckpoint.Time),
          AgeInSeconds: Math.max(0, Math.round((now - job.LatestCheckpoint.Time) / 1000)),
          SizeInBytes: job.LatestCheckpoint.SizeInBytes,
          UploadedBytes: job.LatestCheckpoint.UploadedBytes,
          FileCount: job.LatestCheckpoint.FileCount,
          UploadDurationInSeconds: job.LatestCheckpoint.UploadMillis === undefined ? undefined : job.LatestCheckpoint.UploadMillis / 1000,
          Trigger: job.LatestCheckpoint.Trigger,
        })
      : undefined,
    LastCheckpointFailure: job.LastCheckpointFailure
      ? {
          Time: seconds(job.LastCheckpointFailure.Time),
          AttemptNumber: job.LastCheckpointFailure.Attempt,
          Trigger: job.LastCheckpointFailure.Trigger,
          Reason: job.LastCheckpointFailure.Reason,
          ConsecutiveFailures: job.CheckpointFailuresInARow ?? 0,
        }
      : undefined,
    CheckpointHealth: job.Spec.CheckpointConfig ? checkpointHealth(job, now) : undefined,
    Savings: { SavingsPercent: cost.SavingsPercent, SpotCostUsd: cost.SpotCostUsd, OnDemandCostUsd: cost.OnDemandCostUsd },
    Tags: tagsOf(job),
  });
}

export function summaryView(job: JobRecord) {
  return compact({
    TrainingJobName: job.TrainingJobName,
    TrainingJobArn: job.TrainingJobArn,
    CreationTime: seconds(job.CreationTime),
    TrainingEndTime: seconds(job.TrainingEndTime),
    LastModifiedTime: seconds(job.LastModifiedTime),
    TrainingJobStatus: job.TrainingJobStatus,
    SecondaryStatus: job.SecondaryStatus,
  });
}
