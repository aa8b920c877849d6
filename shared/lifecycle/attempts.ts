import { type Attempt, type EpochMillis, type JobRecord, type Market, newAttempt } from './job.js';
import { Draft } from './draft.js';
import { launchEffect, reclaimEffect, terminateEffect } from './effects.js';

/** Attempts: which one an event belongs to, the next one's launch, and whether a stopped instance comes back. */

/** Whether an instance event belongs to the job's current attempt. */
export function belongsToCurrent(job: JobRecord, instanceId: string, instanceAttempt: number): boolean {
  return job.CurrentInstanceIds.includes(instanceId) || instanceAttempt === job.CurrentAttempt;
}

/** The instance type and market of launch request `request` of an attempt. */
export function launchTarget(job: JobRecord, request: number, at: EpochMillis): { InstanceType: string; Market: Market } {
  const types = [job.Spec.ResourceConfig.InstanceType, ...job.Spec.FallbackInstanceTypes];
  const InstanceType = types[(request - 1) % types.length] ?? job.Spec.ResourceConfig.InstanceType;
  if (!job.Spec.EnableManagedSpotTraining) return { InstanceType, Market: 'on-demand' };
  const fallbackAfter = job.Spec.OnDemandFallbackAfterSeconds;
  const onDemand = fallbackAfter !== undefined && at >= job.CreationTime + fallbackAfter * 1000;
  return { InstanceType: onDemand ? job.Spec.ResourceConfig.InstanceType : InstanceType, Market: onDemand ? 'on-demand' : 'spot' };
}

export function startNewAttempt(draft: Draft): void {
  const job = draft.job;
  // The attempt left behind: an instance of it that was stopped, not terminated, must not run
  // again on its own (a persistent request, a hand, or an event that was stale).
  const left = draft.attempt;
  const stopped = left.StoppedInstanceIds ?? [];
  if (stopped.length) draft.effects.push(terminateEffect(left, stopped, 'stopped instance of an attempt given up on', false));
  draft.effects.push(reclaimEffect(job, left, `attempt ${left.Number} is over`));
  const target = launchTarget(job, 1, draft.at);
  const attempt = newAttempt(job.CurrentAttempt + 1, target.InstanceType, target.Market, draft.at);
  job.Attempts.push(attempt);
  job.CurrentAttempt = attempt.Number;
  job.CurrentInstanceIds = [];
  delete job.NextLaunchTime;
  draft.effects.push(launchEffect(job, attempt));
}

/**
 * Whether a stopped instance of the attempt starts again by itself: only a persistent spot
 * request does that; an on-demand or one-time instance that was stopped (by hand, or a
 * warning that says stop) never returns, and neither does one of several.
 */
export function returnsByItself(job: JobRecord, attempt: Attempt): boolean {
  return (
    (attempt.InstanceAction === 'stop' || attempt.InstanceAction === 'hibernate') &&
    job.Spec.ResourceConfig.InstanceCount === 1 &&
    attempt.Market === 'spot' &&
    job.Spec.SpotInterruptionBehavior !== 'terminate'
  );
}

/** The job is interrupted, its attempt over, and it waits for the attempt's stopped instance to start again. */
export function waitsForReturn(job: JobRecord, attempt: Attempt): boolean {
  return job.SecondaryStatus === 'Interrupted' && attempt.EndTime !== undefined && (attempt.StoppedInstanceIds ?? []).length > 0 && returnsByItself(job, attempt);
}
