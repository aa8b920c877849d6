import { currentAttempt, liveInstanceIds, type EpochMillis, type JobRecord } from './job.js';
import { attemptRunMillis, trainingMillis } from './money.js';
import { isTerminal } from './statuses.js';

export interface LifecycleSettings {
  /** A Stopping job whose instances never report gone is finished after this long. */
  stoppingTimeoutMs: number;
  /** Exponential backoff of launches that failed for capacity: first delay and ceiling. */
  launchBackoffBaseMs: number;
  launchBackoffMaxMs: number;
}

/** A launch whose result was never recorded (a crash in between) is asked for again after this long. */
export const LAUNCH_WATCHDOG_MS = 2 * 60_000;

/**
 * An attempt that ended before its launch reported back is looked for again, by tag, this long
 * after it ended and after each look: a launch still in flight, or not yet listed by
 * DescribeInstances (eventually consistent), or a reclaim that failed, is found then.
 */
export const RECLAIM_RECHECK_MS = LAUNCH_WATCHDOG_MS;
/** Looks after the first; the last one ends the watch whatever it finds. */
export const RECLAIM_MAX_CHECKS = 5;

export const DEFAULT_SETTINGS: LifecycleSettings = {
  stoppingTimeoutMs: 10 * 60_000,
  launchBackoffBaseMs: 15_000,
  launchBackoffMaxMs: 5 * 60_000,
};

/** MaxWaitTimeInSeconds is wall-clock from creation: waiting for capacity plus running. */
export function waitDeadline(job: JobRecord): EpochMillis | undefined {
  const maxWait = job.Spec.StoppingCondition.MaxWaitTimeInSeconds;
  if (!job.Spec.EnableManagedSpotTraining || maxWait === undefined) return undefined;
  return job.CreationTime + maxWait * 1000;
}

/** MaxRuntimeInSeconds counts the time instances ran, across all attempts. */
export function runtimeDeadline(job: JobRecord): EpochMillis | undefined {
  const attempt = currentAttempt(job);
  if (attempt.RunningTime === undefined || attempt.EndTime !== undefined) return undefined;
  const usedBefore = trainingMillis(job, attempt.RunningTime) - attemptRunMillis(attempt, attempt.RunningTime);
  return attempt.RunningTime + job.Spec.StoppingCondition.MaxRuntimeInSeconds * 1000 - usedBefore;
}

export function runtimeSpent(job: JobRecord, now: EpochMillis): boolean {
  return trainingMillis(job, now) >= job.Spec.StoppingCondition.MaxRuntimeInSeconds * 1000;
}

export type ExceededLimit = 'max-wait' | 'max-runtime';

/** The stopping condition that ran out first by `now`, if any. */
export function exceededLimit(job: JobRecord, now: EpochMillis): ExceededLimit | undefined {
  const wait = waitDeadline(job);
  const waitOut = wait !== undefined && now >= wait;
  const runtimeOut = runtimeSpent(job, now);
  if (waitOut && runtimeOut) {
    const runtime = runtimeDeadline(job);
    return runtime !== undefined && runtime < wait ? 'max-runtime' : 'max-wait';
  }
  if (waitOut) return 'max-wait';
  if (runtimeOut) return 'max-runtime';
  return undefined;
}

/**
 * The earliest moment the timer has something to do for this job: a stopping condition,
 * a launch retry, or a stop that is taking too long; once the job is terminal, only a look
 * for instances of a launch that never reported back. The store indexes it sparsely so the
 * deadline sweep never scans.
 */
export function nextDeadline(job: JobRecord, settings: LifecycleSettings = DEFAULT_SETTINGS): EpochMillis | undefined {
  if (isTerminal(job.SecondaryStatus)) return job.PendingReclaim?.DueTime;
  if (job.SecondaryStatus === 'Stopping') {
    return (job.StoppingTime ?? job.LastModifiedTime) + settings.stoppingTimeoutMs;
  }
  const candidates = [waitDeadline(job), runtimeDeadline(job), job.NextLaunchTime, launchWatchdog(job), endingWatchdog(job, settings)].filter(
    (t): t is number => t !== undefined,
  );
  return candidates.length ? Math.min(...candidates) : undefined;
}

/**
 * When an interrupted or failed attempt whose instances never reported their end (a lost
 * EC2 event) is given up on: its instances are terminated and the job goes on. Without it an
 * on-demand job, which has no MaxWaitTimeInSeconds, could wait forever.
 */
export function endingWatchdog(job: JobRecord, settings: LifecycleSettings = DEFAULT_SETTINGS): EpochMillis | undefined {
  if (job.SecondaryStatus !== 'Interrupted' && job.SecondaryStatus !== 'Restarting') return undefined;
  if (!liveInstanceIds(currentAttempt(job)).length) return undefined;
  const since = job.Transitions[job.Transitions.length - 1]?.StartTime ?? job.LastModifiedTime;
  return since + settings.stoppingTimeoutMs;
}

/** When to ask again for a launch that has not reported back. */
export function launchWatchdog(job: JobRecord): EpochMillis | undefined {
  const attempt = currentAttempt(job);
  if (job.SecondaryStatus !== 'Starting' || attempt.InstanceIds.length || job.NextLaunchTime !== undefined) return undefined;
  return attempt.RequestedTime + LAUNCH_WATCHDOG_MS;
}

/** Delay before launch request `requestNumber` + 1, full jitter: `random` is in [0, 1). */
export function launchRetryDelayMs(requestNumber: number, random: number, settings: LifecycleSettings = DEFAULT_SETTINGS): number {
  const ceiling = Math.min(settings.launchBackoffMaxMs, settings.launchBackoffBaseMs * 2 ** Math.max(0, requestNumber - 1));
  return Math.round(settings.launchBackoffBaseMs / 2 + random * (ceiling - settings.launchBackoffBaseMs / 2));
}
