import { DEFAULT_SETTINGS, endingWatchdog, exceededLimit, type ExceededLimit, LAUNCH_WATCHDOG_MS, launchWatchdog, RECLAIM_MAX_CHECKS, RECLAIM_RECHECK_MS } from './deadlines.js';
import { type AttemptEnd, type EpochMillis, type JobRecord, liveInstanceIds, type StopReason } from './job.js';
import { isTerminal, MESSAGES } from './statuses.js';
import { type Trigger } from './transitions.js';
import { startNewAttempt } from './attempts.js';
import { Draft, ignore } from './draft.js';
import { impliedEffects, launchEffect, reclaimAndWatch, terminateEffect } from './effects.js';
import { afterInterruptedAttemptGone } from './instanceEvents.js';
import { type Decision, type JobEvent } from './vocabulary.js';

/** Ends: stopping (asked for or forced by a time limit), the deadline sweep's tick, and the watch for a lost launch. */

export const STOP_TRIGGER: Record<StopReason, Trigger> = {
  user: 'stopRequested',
  'max-runtime': 'maxRuntimeReached',
  'max-wait': 'maxWaitReached',
};

export const STOPPED_TRIGGER: Record<StopReason, Trigger> = {
  user: 'stoppedByRequest',
  'max-runtime': 'stoppedAtMaxRuntime',
  'max-wait': 'stoppedAtMaxWait',
};

export const STOPPED_MESSAGE: Record<StopReason, string> = {
  user: MESSAGES.stopped,
  'max-runtime': MESSAGES.maxRuntimeExceeded,
  'max-wait': MESSAGES.maxWaitExceeded,
};

export const STOPPED_ATTEMPT_END: Record<StopReason, AttemptEnd> = { user: 'stopped', 'max-runtime': 'max-runtime', 'max-wait': 'max-wait' };

export function beginStop(draft: Draft, reason: StopReason): void {
  draft.move(STOP_TRIGGER[reason], MESSAGES.stopping);
  draft.job.StopReason = reason;
  draft.job.StoppingTime = draft.at;
  delete draft.job.NextLaunchTime;
  const attempt = draft.attempt;
  const live = attempt.EndTime === undefined ? liveInstanceIds(attempt) : [];
  if (live.length) {
    draft.effects.push({ type: 'requestCheckpoint', attempt: attempt.Number, instanceIds: live, reason: 'stop' });
    draft.effects.push(terminateEffect(attempt, live, `stopping: ${reason}`, true));
    return;
  }
  // A stopped instance waiting to come back must not come back for a job that is over.
  const parked = attempt.InstanceIds.filter((id) => attempt.GoneInstanceIds.includes(id));
  if (parked.length && attempt.InstanceAction && attempt.InstanceAction !== 'terminate') {
    draft.effects.push(terminateEffect(attempt, parked, `stopping: ${reason}`, false));
  }
  finishStop(draft);
}

export function finishStop(draft: Draft): void {
  const reason = draft.job.StopReason ?? 'user';
  draft.endAttempt(STOPPED_ATTEMPT_END[reason]);
  draft.move(STOPPED_TRIGGER[reason], STOPPED_MESSAGE[reason]);
  reclaimAndWatch(draft);
}

/** An interrupted or failed attempt is over: launch the next one, unless a time limit ran out. */
export function afterAttemptEnded(draft: Draft): void {
  const limit: ExceededLimit | undefined = exceededLimit(draft.job, draft.at);
  if (limit) {
    beginStop(draft, limit);
    return;
  }
  draft.move('relaunch', MESSAGES.launching);
  startNewAttempt(draft);
}

export function onTimer(job: JobRecord, now: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return lookAgain(job, now);
  const draft = new Draft(job, Math.max(now, job.Transitions[job.Transitions.length - 1]?.StartTime ?? now));
  if (job.SecondaryStatus === 'Stopping') {
    const stoppingSince = job.StoppingTime ?? job.LastModifiedTime;
    if (now < stoppingSince + DEFAULT_SETTINGS.stoppingTimeoutMs) return ignore('not-due', 'instances are still stopping');
    const attempt = draft.attempt;
    attempt.GoneInstanceIds = [...attempt.InstanceIds];
    finishStop(draft);
    return draft.decision();
  }
  const limit = exceededLimit(job, now);
  if (limit) {
    beginStop(draft, limit);
    return draft.decision();
  }
  const ending = endingWatchdog(job);
  if (ending !== undefined && ending <= now) {
    const attempt = draft.attempt;
    const live = liveInstanceIds(attempt);
    draft.effects.push(terminateEffect(attempt, live, 'the instances never reported their end', false));
    attempt.GoneInstanceIds.push(...live);
    afterInterruptedAttemptGone(draft, 'terminated');
    return draft.decision();
  }
  if (job.SecondaryStatus === 'Starting' && job.NextLaunchTime !== undefined && job.NextLaunchTime <= now) {
    delete draft.job.NextLaunchTime;
    draft.say(MESSAGES.launching);
    draft.effects.push(launchEffect(draft.job, draft.attempt));
    return draft.decision();
  }
  const watchdog = launchWatchdog(job);
  if (watchdog !== undefined && watchdog <= now) {
    // The same launch request again: its client token makes EC2 answer with what it did.
    draft.job.NextLaunchTime = now + LAUNCH_WATCHDOG_MS;
    draft.effects.push(launchEffect(draft.job, draft.attempt));
    return draft.decision();
  }
  return ignore('not-due', 'no deadline has passed');
}

export function onStopRequested(job: JobRecord, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  if (job.SecondaryStatus === 'Stopping') return ignore('duplicate', 'job is already stopping', impliedEffects(job));
  const draft = new Draft(job, at);
  beginStop(draft, 'user');
  return draft.decision();
}

/**
 * The watch for a lost launch's instances, when its look is due. Bookkeeping on a finished job:
 * no transition, and LastModifiedTime stays as the end left it (so in onReclaimed).
 */
export function lookAgain(job: JobRecord, now: EpochMillis): Decision {
  const pending = job.PendingReclaim;
  if (!pending || pending.DueTime > now) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  const draft = new Draft(job, job.LastModifiedTime);
  const checks = pending.Checks + 1;
  if (checks >= RECLAIM_MAX_CHECKS) delete draft.job.PendingReclaim;
  else draft.job.PendingReclaim = { ...pending, DueTime: now + RECLAIM_RECHECK_MS, Checks: checks };
  draft.effects.push({ type: 'reclaimLaunches', attempt: pending.Attempt, reason: `look ${checks} for instances of a launch that never reported back`, reportBack: true });
  return draft.decision();
}

/** A look by tag found nothing left running: the watch ends. Found something: it looks once more. */
export function onReclaimed(job: JobRecord, event: Extract<JobEvent, { type: 'reclaimed' }>): Decision {
  const pending = job.PendingReclaim;
  if (!pending || pending.Attempt !== event.attempt) return ignore('not-applicable', `no watch for instances of attempt ${event.attempt}`);
  if (event.found > 0) return ignore('not-applicable', `terminated ${event.found} instance(s) of attempt ${event.attempt}; looking again`);
  const draft = new Draft(job, job.LastModifiedTime);
  delete draft.job.PendingReclaim;
  return draft.decision();
}
