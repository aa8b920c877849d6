import { type CheckpointOutcome, type EpochMillis, type FinalCheckpoint, type JobRecord } from './job.js';
import { isTerminal } from './statuses.js';
import { Draft, ignore } from './draft.js';
import { notInCheckpointFolder } from './agentEvents.js';
import { type Decision, type JobEvent } from './vocabulary.js';

/**
 * The agent's report of each checkpoint sync, so that no checkpoint failure is silent: a
 * complete one records its size and upload time with the latest checkpoint (which it may
 * also be the first to announce: the report is written after the manifest), a failed one its
 * reason, a final one whether it beat its deadline; an empty LocalPath is remembered. No
 * status changes.
 */
export function onCheckpointOutcome(job: JobRecord, event: Extract<JobEvent, { type: 'checkpointOutcome' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  const { outcome } = event;
  if (!job.Attempts.some((a) => a.Number === event.attempt)) return ignore('not-applicable', `the job has no attempt ${event.attempt}`);
  const draft = new Draft(job, at);
  const attempt = draft.job.Attempts.find((a) => a.Number === event.attempt);
  if (!attempt) return ignore('not-applicable', `the job has no attempt ${event.attempt}`);
  const ended = outcome.EndTime ?? outcome.StartTime;
  const final = outcome.Trigger === 'final';
  switch (outcome.Status) {
    case 'complete': {
      if (!outcome.ManifestUri || !outcome.CheckpointId) return ignore('not-applicable', `complete checkpoint ${outcome.Sequence} names no manifest`);
      const outside = notInCheckpointFolder(job, outcome.ManifestUri);
      if (outside) return ignore('not-applicable', outside);
      const details = {
        ...(outcome.SizeInBytes !== undefined ? { SizeInBytes: outcome.SizeInBytes } : {}),
        ...(outcome.UploadedBytes !== undefined ? { UploadedBytes: outcome.UploadedBytes } : {}),
        ...(outcome.FileCount !== undefined ? { FileCount: outcome.FileCount } : {}),
        UploadMillis: Math.max(0, ended - outcome.StartTime),
        Trigger: outcome.Trigger,
      };
      const latest = draft.job.LatestCheckpoint;
      if (!latest || outcome.Sequence > latest.Sequence) {
        draft.job.LatestCheckpoint = { Id: outcome.CheckpointId, Sequence: outcome.Sequence, ManifestUri: outcome.ManifestUri, Time: ended, ...details };
      } else if (latest.Sequence === outcome.Sequence && latest.ManifestUri === outcome.ManifestUri) {
        draft.job.LatestCheckpoint = { ...latest, ...details };
      }
      if (!draft.job.LastCheckpointFailure || draft.job.LastCheckpointFailure.Time <= ended) draft.job.CheckpointFailuresInARow = 0;
      delete draft.job.CheckpointFolderEmptySince;
      if (final) setFinal(attempt, { Status: outcome.DeadlineTime !== undefined && ended > outcome.DeadlineTime ? 'Late' : 'InTime', ...finalTimes(outcome), CheckpointId: outcome.CheckpointId });
      break;
    }
    case 'failed': {
      const reason = outcome.Reason ?? 'the agent gave no reason';
      const previous = draft.job.LastCheckpointFailure;
      if (!previous || previous.Time <= ended) {
        draft.job.LastCheckpointFailure = { Time: ended, Attempt: event.attempt, Sequence: outcome.Sequence, Trigger: outcome.Trigger, Reason: reason };
        const latest = draft.job.LatestCheckpoint;
        if (!latest || latest.Time <= ended) draft.job.CheckpointFailuresInARow = (draft.job.CheckpointFailuresInARow ?? 0) + 1;
      }
      if (final) setFinal(attempt, { Status: 'Failed', ...finalTimes(outcome), Reason: reason });
      break;
    }
    case 'started':
      if (!final) return ignore('not-applicable', 'only a final checkpoint reports its start');
      // A start reported after the end (reports can arrive in any order) changes nothing.
      if (attempt.FinalCheckpoint && attempt.FinalCheckpoint.Status !== 'Started') return ignore('stale', `the final checkpoint already ended ${attempt.FinalCheckpoint.Status}`);
      setFinal(attempt, { Status: 'Started', ...finalTimes(outcome) });
      break;
    case 'stale':
      // Counted for the alarm; the record's own clock says the checkpoint is overdue (checkpointHealth).
      return ignore('not-applicable', `LocalPath unchanged since ${new Date(outcome.UnchangedSince ?? ended).toISOString()}`);
    case 'empty':
      if (draft.job.LatestCheckpoint && draft.job.LatestCheckpoint.Time > (outcome.EmptySince ?? ended)) return ignore('stale', 'a checkpoint was taken since');
      draft.job.CheckpointFolderEmptySince = outcome.EmptySince ?? ended;
      break;
  }
  draft.remember(event.key);
  return draft.decision();
}

function finalTimes(outcome: CheckpointOutcome): Pick<FinalCheckpoint, 'StartTime' | 'EndTime' | 'DeadlineTime' | 'EstimatedSeconds'> {
  return {
    StartTime: outcome.StartTime,
    ...(outcome.EndTime !== undefined ? { EndTime: outcome.EndTime } : {}),
    ...(outcome.DeadlineTime !== undefined ? { DeadlineTime: outcome.DeadlineTime } : {}),
    ...(outcome.EstimatedSeconds !== undefined ? { EstimatedSeconds: outcome.EstimatedSeconds } : {}),
  };
}

function setFinal(attempt: { FinalCheckpoint?: FinalCheckpoint }, final: FinalCheckpoint): void {
  attempt.FinalCheckpoint = { ...(attempt.FinalCheckpoint?.EstimatedSeconds !== undefined ? { EstimatedSeconds: attempt.FinalCheckpoint.EstimatedSeconds } : {}), ...final };
}
