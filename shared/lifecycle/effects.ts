import { RECLAIM_RECHECK_MS } from './deadlines.js';
import { type Attempt, currentAttempt, type JobRecord, launchClientToken, liveInstanceIds } from './job.js';
import { Draft } from './draft.js';
import { type Effect } from './vocabulary.js';

/** What is done about a decision: launches, restores, checkpoint requests, terminations, looks by tag. */

/** Effects the job's state calls for; re-issued on a redelivery, which makes effects converge. */
export function impliedEffects(job: JobRecord): Effect[] {
  const attempt = currentAttempt(job);
  const live = liveInstanceIds(attempt);
  switch (job.SecondaryStatus) {
    case 'Starting':
      return attempt.InstanceIds.length === 0 && job.NextLaunchTime === undefined ? [launchEffect(job, attempt)] : [];
    case 'Downloading':
      return [restoreEffect(job, attempt)];
    case 'Interrupted':
      return attempt.EndTime === undefined && live.length
        ? [{ type: 'requestCheckpoint', attempt: attempt.Number, instanceIds: live, reason: 'interruption' }]
        : [];
    case 'Stopping':
    case 'Restarting':
      return live.length ? [terminateEffect(attempt, live, job.SecondaryStatus, true)] : [];
    case 'Stopped':
      return reclaimEffects(attempt);
    default:
      return [];
  }
}

/** An attempt that asked EC2 for instances and ended without any on record: reclaim them by tag. */
export function reclaimEffects(attempt: Attempt): Effect[] {
  if (attempt.EndTime === undefined || attempt.LaunchRequests === 0 || attempt.InstanceIds.length > 0) return [];
  return [{ type: 'reclaimLaunches', attempt: attempt.Number, reason: 'attempt ended before its launch reported back', reportBack: false }];
}

/**
 * Reclaims now, and keeps the job in the deadline index to look again later: a launch still in
 * flight, an instance DescribeInstances does not list yet, or a reclaim that failed after this
 * write would otherwise leave instances running for a job that is over.
 */
export function reclaimAndWatch(draft: Draft): void {
  // The look itself is the effect every end of a job takes (see Draft.move).
  if (!reclaimEffects(draft.attempt).length) return;
  draft.job.PendingReclaim = { Attempt: draft.attempt.Number, DueTime: draft.at + RECLAIM_RECHECK_MS, Checks: 0 };
}

/**
 * Whatever EC2 still runs (or keeps stopped) for an attempt the job leaves behind, found by the
 * job and attempt tags and terminated: whatever the end, nothing of the attempt stays billed.
 * An attempt resumed on a returning instance looks under the attempt that launched it.
 */
export function reclaimEffect(job: JobRecord, attempt: Attempt, reason: string): Effect {
  let launched = attempt;
  while (launched.ResumedFromAttempt !== undefined) {
    const earlier = job.Attempts.find((a) => a.Number === launched.ResumedFromAttempt);
    if (!earlier) break;
    launched = earlier;
  }
  return { type: 'reclaimLaunches', attempt: launched.Number, reason, reportBack: false };
}

export function launchEffect(job: JobRecord, attempt: Attempt): Effect {
  return {
    type: 'launch',
    attempt: attempt.Number,
    launchRequest: attempt.LaunchRequests,
    instanceType: attempt.InstanceType,
    market: attempt.Market,
    count: job.Spec.ResourceConfig.InstanceCount,
    clientToken: launchClientToken(job.TrainingJobName, attempt),
    interruptionBehavior: job.Spec.SpotInterruptionBehavior,
  };
}

export function restoreEffect(job: JobRecord, attempt: Attempt): Effect {
  return {
    type: 'writeRestore',
    attempt: attempt.Number,
    instanceIds: attempt.InstanceIds,
    ...(job.LatestCheckpoint ? { checkpoint: job.LatestCheckpoint } : {}),
  };
}

export function terminateEffect(attempt: Attempt, instanceIds: string[], reason: string, graceful: boolean): Effect {
  return { type: 'terminateInstances', attempt: attempt.Number, instanceIds, reason, graceful };
}

/** What a deleted job still needs done: the sweep no longer sees it, so a pending look is taken now. */
export function effectsOnDelete(job: JobRecord): Effect[] {
  const pending = job.PendingReclaim;
  if (!pending) return [];
  return [{ type: 'reclaimLaunches', attempt: pending.Attempt, reason: 'job deleted while its lost launch was being watched', reportBack: false }];
}
