import { ruleFor } from './transitions.js';
import { exceededLimit } from './deadlines.js';
import { type Attempt, currentAttempt, type EpochMillis, type InstanceAction, type JobRecord, liveInstanceIds, newAttempt } from './job.js';
import { isTerminal, MESSAGES } from './statuses.js';
import { belongsToCurrent, launchTarget, returnsByItself, startNewAttempt, waitsForReturn } from './attempts.js';
import { Draft, ignore } from './draft.js';
import { impliedEffects, restoreEffect, terminateEffect } from './effects.js';
import { afterAttemptEnded, beginStop, finishStop } from './stopping.js';
import { type Decision, type Effect, type InstanceState, type JobEvent } from './vocabulary.js';

/** What EC2 says: launches, state changes, interruption warnings and rebalance recommendations. */

export function onLaunchSucceeded(job: JobRecord, event: Extract<JobEvent, { type: 'launchSucceeded' }>, at: EpochMillis): Decision {
  const orphanCleanup: Effect = { type: 'terminateInstances', attempt: event.attempt, instanceIds: event.instanceIds, reason: 'launched for an attempt that is over', graceful: false };
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`, [orphanCleanup]);
  if (event.attempt !== job.CurrentAttempt) return ignore('stale', `launch of attempt ${event.attempt}; current is ${job.CurrentAttempt}`, [orphanCleanup]);
  const draft = new Draft(job, at);
  const attempt = draft.attempt;
  const added = event.instanceIds.filter((id) => !attempt.InstanceIds.includes(id));
  if (added.length === 0) return ignore('duplicate', `instances ${event.instanceIds.join(', ')} already recorded`);
  attempt.InstanceIds.push(...added);
  attempt.InstanceType = event.instanceType;
  attempt.Market = event.market;
  draft.job.CurrentInstanceIds = [...attempt.InstanceIds];
  delete draft.job.NextLaunchTime;
  if (draft.status === 'Stopping') {
    draft.effects.push(terminateEffect(attempt, added, 'job is stopping', false));
  } else if (draft.status === 'Starting') {
    draft.say(MESSAGES.preparing);
  }
  return draft.decision();
}

export function onLaunchFailed(job: JobRecord, event: Extract<JobEvent, { type: 'launchFailed' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  const attempt = currentAttempt(job);
  if (job.SecondaryStatus !== 'Starting' || event.attempt !== job.CurrentAttempt || event.launchRequest !== attempt.LaunchRequests) {
    return ignore('stale', `launch request ${event.attempt}/${event.launchRequest} is not the pending one`);
  }
  const draft = new Draft(job, at);
  const failed = draft.attempt;
  failed.LastLaunchError = `${event.errorCode}: ${event.message}`;
  if (!event.retryable) {
    draft.endAttempt('lost');
    draft.job.FailureReason = `CapacityError: ${event.errorCode}: ${event.message}`;
    draft.move('launchRejected', `Launching instances failed: ${event.errorCode}.`);
    return draft.decision();
  }
  failed.LaunchRequests += 1;
  const next = launchTarget(draft.job, failed.LaunchRequests, event.retryAt);
  failed.InstanceType = next.InstanceType;
  failed.Market = next.Market;
  draft.job.NextLaunchTime = event.retryAt;
  draft.say(event.capacity ? MESSAGES.insufficientCapacity : `Launching instances failed (${event.errorCode}), retrying.`);
  return draft.decision();
}

export function onInterruptionWarning(job: JobRecord, event: Extract<JobEvent, { type: 'interruptionWarning' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  if (!belongsToCurrent(job, event.instanceId, event.instanceAttempt) || currentAttempt(job).EndTime !== undefined) {
    return ignore('stale', `instance ${event.instanceId} is not running the current attempt ${job.CurrentAttempt}`);
  }
  if (job.SecondaryStatus === 'Interrupted') return ignore('duplicate', 'attempt is already interrupted', impliedEffects(job));
  if (job.SecondaryStatus === 'Stopping' || job.SecondaryStatus === 'Restarting') {
    return ignore('not-applicable', `job is ${job.SecondaryStatus}; its instances are being terminated anyway`);
  }
  // EC2 interrupts spot instances only: a (synthetic) warning for an on-demand attempt would
  // leave the job Interrupted while its instance keeps running, with no deadline to end it.
  if (currentAttempt(job).Market === 'on-demand') return ignore('not-applicable', `attempt ${job.CurrentAttempt} runs on on-demand instances, which are not interrupted`);
  const draft = new Draft(job, at);
  // The instances were requested with one interruption behaviour; a warning that says another
  // (only a synthetic one can) is taken to mean that one: the instance does what it was asked.
  const action = job.Spec.SpotInterruptionBehavior;
  interrupt(draft, event.instanceId, action, 'interruptionWarning', MESSAGES.interrupted(event.instanceId, action));
  const attempt = draft.attempt;
  const live = liveInstanceIds(attempt);
  draft.effects.push({ type: 'requestCheckpoint', attempt: attempt.Number, instanceIds: live, reason: 'interruption' });
  return draft.decision(event.instanceId);
}

/** Interrupts the whole attempt: one instance lost means the attempt cannot go on. */
export function interrupt(draft: Draft, instanceId: string, action: InstanceAction, trigger: 'interruptionWarning' | 'lostWithoutWarning', message: string): void {
  draft.move(trigger, message);
  const attempt = draft.attempt;
  attempt.InstanceAction = action;
  draft.job.Interruptions.push({ Time: draft.at, InstanceId: instanceId, Action: action, Attempt: attempt.Number });
  const others = liveInstanceIds(attempt).filter((id) => id !== instanceId);
  if (others.length) draft.effects.push(terminateEffect(attempt, others, `instance ${instanceId} of the attempt was interrupted`, true));
}

export function onRebalance(job: JobRecord, event: Extract<JobEvent, { type: 'rebalanceRecommendation' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  if (!belongsToCurrent(job, event.instanceId, event.instanceAttempt) || currentAttempt(job).EndTime !== undefined) {
    return ignore('stale', `instance ${event.instanceId} is not running the current attempt ${job.CurrentAttempt}`);
  }
  // A recommendation counts while an instance runs for the attempt: where a warning would interrupt it.
  if (!ruleFor('interruptionWarning').from.includes(job.SecondaryStatus)) {
    return ignore('not-applicable', `job is ${job.SecondaryStatus}`);
  }
  const draft = new Draft(job, at);
  draft.job.RebalanceRecommendations.push({ Time: at, InstanceId: event.instanceId, Attempt: job.CurrentAttempt });
  draft.remember(event.key ?? `rebalance/${event.instanceId}/${event.time}`);
  if (job.SecondaryStatus !== 'Starting') {
    draft.effects.push({ type: 'requestCheckpoint', attempt: job.CurrentAttempt, instanceIds: liveInstanceIds(draft.attempt), reason: 'rebalance' });
  }
  return draft.decision(event.instanceId);
}

export function onInstanceState(job: JobRecord, event: Extract<JobEvent, { type: 'instanceState' }>, at: EpochMillis): Decision {
  const { instanceId, state } = event;
  const stray: Effect = { type: 'terminateInstances', attempt: event.instanceAttempt, instanceIds: [instanceId], reason: 'instance of an attempt that is over', graceful: false };
  if (state === 'pending' || state === 'stopping') return ignore('not-applicable', `state ${state} changes nothing`);
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`, state === 'running' ? [stray] : []);
  if (!belongsToCurrent(job, instanceId, event.instanceAttempt)) {
    return ignore('stale', `instance ${instanceId} belongs to attempt ${event.instanceAttempt}, not the current ${job.CurrentAttempt}`, state === 'running' ? [stray] : []);
  }
  return state === 'running' ? onInstanceRunning(job, event, at) : onInstanceGone(job, event, at);
}

export function onInstanceRunning(job: JobRecord, event: Extract<JobEvent, { type: 'instanceState' }>, at: EpochMillis): Decision {
  const { instanceId } = event;
  const attempt = currentAttempt(job);
  const count = job.Spec.ResourceConfig.InstanceCount;
  if (job.SecondaryStatus === 'Starting') {
    if (attempt.RunningInstanceIds.includes(instanceId)) return ignore('duplicate', `instance ${instanceId} already running`);
    const draft = new Draft(job, at);
    const running = draft.attempt;
    if (!running.InstanceIds.includes(instanceId)) running.InstanceIds.push(instanceId);
    running.RunningInstanceIds.push(instanceId);
    draft.job.CurrentInstanceIds = [...running.InstanceIds];
    if (running.RunningInstanceIds.length >= count) {
      running.RunningTime = at;
      if (event.prices) running.Prices = event.prices;
      draft.job.TrainingStartTime ??= at;
      draft.move('instancesRunning', draft.job.LatestCheckpoint ? MESSAGES.downloading : MESSAGES.downloadingFromScratch);
      draft.effects.push(restoreEffect(draft.job, running));
    } else {
      draft.say(MESSAGES.preparing);
    }
    return draft.decision(instanceId);
  }
  if (job.SecondaryStatus === 'Interrupted') {
    if (!waitsForReturn(job, attempt) || count !== 1) return ignore('not-applicable', `instance ${instanceId} is running, but attempt ${attempt.Number} is not waiting for it to return`);
    // An instance comes back only after it was seen stopped: a `running` from before that is
    // a redelivery of the first one, and resuming on it would count the same seconds twice.
    if (!(attempt.StoppedInstanceIds ?? []).includes(instanceId) || attempt.StoppedTime === undefined || event.time <= attempt.StoppedTime) {
      return ignore('stale', `instance ${instanceId} was running before it stopped; attempt ${attempt.Number} waits for it to start again`);
    }
    const draft = new Draft(job, at);
    const resumed: Attempt = {
      ...newAttempt(attempt.Number + 1, attempt.InstanceType, attempt.Market, at),
      LaunchRequests: 0,
      InstanceIds: [instanceId],
      RunningInstanceIds: [instanceId],
      ResumedFromAttempt: attempt.Number,
      // Attempts' running times never overlap: no second is counted twice.
      RunningTime: Math.max(at, attempt.EndTime ?? at),
      ...(event.prices ? { Prices: event.prices } : {}),
    };
    draft.job.Attempts.push(resumed);
    draft.job.CurrentAttempt = resumed.Number;
    draft.job.CurrentInstanceIds = [instanceId];
    draft.move('instanceReturned', MESSAGES.returning([instanceId]));
    draft.effects.push(restoreEffect(draft.job, resumed));
    return draft.decision(instanceId);
  }
  if (job.SecondaryStatus === 'Stopping') {
    return ignore('not-applicable', 'job is stopping', [terminateEffect(attempt, [instanceId], 'job is stopping', false)]);
  }
  return ignore('duplicate', `instance ${instanceId} is already running for attempt ${attempt.Number}`);
}

export function onInstanceGone(job: JobRecord, event: Extract<JobEvent, { type: 'instanceState' }>, at: EpochMillis): Decision {
  const { instanceId, state } = event;
  const attempt = currentAttempt(job);
  if (attempt.GoneInstanceIds.includes(instanceId)) {
    if (state !== 'stopped' && waitsForReturn(job, attempt) && (attempt.StoppedInstanceIds ?? []).includes(instanceId)) {
      return onStoppedInstanceTerminated(job, event, at);
    }
    return ignore('duplicate', `instance ${instanceId} is already gone`);
  }
  if (attempt.ResumedFromAttempt !== undefined && attempt.RunningTime !== undefined && event.time < attempt.RunningTime) {
    return ignore('stale', `instance ${instanceId} went ${state} before it came back for attempt ${attempt.Number}`);
  }
  const draft = new Draft(job, at);
  const current = draft.attempt;
  if (!current.InstanceIds.includes(instanceId)) current.InstanceIds.push(instanceId);
  current.GoneInstanceIds.push(instanceId);
  if (state === 'stopped') {
    current.StoppedInstanceIds = [...(current.StoppedInstanceIds ?? []), instanceId];
    current.StoppedTime = Math.max(current.StoppedTime ?? 0, Math.min(event.time, at));
  }
  // Anyone allowed to send events can send this one: the instance is made to be what the event
  // says, so that the record and EC2 agree and nothing the job believes gone keeps running.
  if (event.synthetic) draft.effects.push(terminateEffect(current, [instanceId], `a synthetic event said it is ${state}`, false));
  draft.job.CurrentInstanceIds = [...current.InstanceIds];
  const allGone = liveInstanceIds(current).length === 0;
  const action: InstanceAction = state === 'stopped' ? 'stop' : 'terminate';

  switch (job.SecondaryStatus) {
    case 'Stopping':
      if (allGone) finishStop(draft);
      break;
    case 'Starting':
      // The attempt never ran: its instances were lost while booting. Try again.
      if (allGone) {
        draft.endAttempt('lost');
        const limit = exceededLimit(draft.job, at);
        if (limit) beginStop(draft, limit);
        else {
          startNewAttempt(draft);
          draft.say(MESSAGES.launching);
        }
      } else {
        draft.effects.push(terminateEffect(current, liveInstanceIds(current), `instance ${instanceId} was lost while starting`, false));
      }
      break;
    case 'Downloading':
    case 'Training':
    case 'Uploading':
      interrupt(draft, instanceId, action, 'lostWithoutWarning', MESSAGES.lostWithoutWarning(instanceId, state));
      if (allGone) afterInterruptedAttemptGone(draft, state);
      break;
    case 'Interrupted':
    case 'Restarting':
      if (allGone) afterInterruptedAttemptGone(draft, state);
      break;
  }
  return draft.decision(instanceId);
}

export function afterInterruptedAttemptGone(draft: Draft, lastState: InstanceState): void {
  const attempt = draft.attempt;
  if (draft.status === 'Restarting') {
    draft.endAttempt('failed');
    afterAttemptEnded(draft);
    return;
  }
  // A stopped or hibernated instance of a persistent request returns by itself; the
  // MaxWaitTimeInSeconds deadline ends the wait if it never does, and its termination ends it at once.
  if (lastState === 'stopped' && returnsByItself(draft.job, attempt)) {
    draft.endAttempt('interrupted');
    return;
  }
  draft.endAttempt('interrupted');
  afterAttemptEnded(draft);
}

/** The stopped instance a job waits for was terminated: it will never come back, so new capacity is launched. */
export function onStoppedInstanceTerminated(job: JobRecord, event: Extract<JobEvent, { type: 'instanceState' }>, at: EpochMillis): Decision {
  const draft = new Draft(job, at);
  const attempt = draft.attempt;
  attempt.StoppedInstanceIds = (attempt.StoppedInstanceIds ?? []).filter((id) => id !== event.instanceId);
  if (event.synthetic) draft.effects.push(terminateEffect(attempt, [event.instanceId], `a synthetic event said it is ${event.state}`, false));
  afterAttemptEnded(draft);
  return draft.decision(event.instanceId);
}
