import { currentAttempt, type EpochMillis, type JobRecord } from './job.js';

/**
 * Whether a job's checkpoints are arriving, read from its record at a moment: failing (the
 * last sync failed), an empty LocalPath the agent reported, overdue (training, and no
 * complete checkpoint for longer than the job allows), or fine. DescribeTrainingJob and
 * `spotctl watch` show it. The overdue time is a job's Environment
 * SPOT_TRAINING_CHECKPOINT_OVERDUE_SECONDS, else 900 s (three of the agent's default 300 s syncs).
 */
export const CHECKPOINT_OVERDUE_VARIABLE = 'SPOT_TRAINING_CHECKPOINT_OVERDUE_SECONDS';
export const DEFAULT_CHECKPOINT_OVERDUE_SECONDS = 900;

export type CheckpointHealthStatus = 'Healthy' | 'Failing' | 'EmptyFolder' | 'Overdue' | 'NotCheckpointing';

export interface CheckpointHealth {
  Status: CheckpointHealthStatus;
  Message: string;
}

export function overdueSeconds(job: Pick<JobRecord, 'Spec'>): number {
  const value = Number(job.Spec.Environment[CHECKPOINT_OVERDUE_VARIABLE]);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_CHECKPOINT_OVERDUE_SECONDS;
}

export function checkpointHealth(job: JobRecord, now: EpochMillis): CheckpointHealth {
  if (!job.Spec.CheckpointConfig) return { Status: 'NotCheckpointing', Message: 'the job has no CheckpointConfig' };
  const failures = job.CheckpointFailuresInARow ?? 0;
  const failure = job.LastCheckpointFailure;
  if (failures > 0 && failure) {
    return { Status: 'Failing', Message: `${failures} checkpoint sync${failures === 1 ? '' : 's'} failed since the last complete one: ${failure.Reason}` };
  }
  const age = (since: EpochMillis) => Math.round((now - since) / 1000);
  if (job.CheckpointFolderEmptySince !== undefined) {
    return { Status: 'EmptyFolder', Message: `${job.Spec.CheckpointConfig.LocalPath} has held no file for ${age(job.CheckpointFolderEmptySince)} s` };
  }
  const attempt = currentAttempt(job);
  if (job.SecondaryStatus === 'Training' && attempt.RunningTime !== undefined) {
    const trainingSince = [...job.Transitions].reverse().find((t) => t.Status === 'Training')?.StartTime ?? attempt.RunningTime;
    const since = Math.max(job.LatestCheckpoint?.Time ?? 0, trainingSince);
    const limit = overdueSeconds(job);
    if (now - since > limit * 1000) {
      return {
        Status: 'Overdue',
        Message: job.LatestCheckpoint
          ? `no complete checkpoint for ${age(since)} s (allowed ${limit} s); the latest is ${job.LatestCheckpoint.Id}`
          : `no complete checkpoint in ${age(since)} s of training (allowed ${limit} s)`,
      };
    }
  }
  return { Status: 'Healthy', Message: job.LatestCheckpoint ? `latest checkpoint ${job.LatestCheckpoint.Id}, ${age(job.LatestCheckpoint.Time)} s old` : 'no checkpoint yet' };
}
