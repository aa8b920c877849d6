import { DEFAULT_SETTINGS, endingWatchdog, exceededLimit, LAUNCH_WATCHDOG_MS, launchWatchdog, RECLAIM_MAX_CHECKS, RECLAIM_RECHECK_MS, type ExceededLimit } from './deadlines.js';
import {
  checkpointHome,
  currentAttempt,
  launchClientToken,
  liveInstanceIds,
  newAttempt,
  type Attempt,
  type AttemptEnd,
  type Checkpoint,
  type EpochMillis,
  type InstanceAction,
  type JobRecord,
  type Market,
  type StopReason,
  type TransitionRecord,
} from './job.js';
import type { InstancePrices } from './money.js';
import { isTerminal, MESSAGES, primaryStatusOf, type SecondaryStatus } from './statuses.js';
import { ruleFor, type Trigger } from './transitions.js';

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
export type AgentPhase = 'downloaded' | 'uploading' | 'completed' | 'failed';

/** What can happen to a job, in the product's own terms; adapters translate AWS's shapes into these. */
export type JobEvent = {
  /** When it happened (the event's own time); decisions never move time backwards. */
  time: EpochMillis;
  /** Identifies one delivery's content, to recognise a redelivered event that changes no status. */
  key?: string;
} & (
  | { type: 'launchSucceeded'; attempt: number; launchRequest: number; instanceIds: string[]; instanceType: string; market: Market }
  | { type: 'launchFailed'; attempt: number; launchRequest: number; errorCode: string; message: string; capacity: boolean; retryable: boolean; retryAt: EpochMillis }
  | {
      type: 'instanceState';
      instanceId: string;
      instanceAttempt: number;
      state: InstanceState;
      prices?: InstancePrices;
      /** Sent with the synthetic source, not by EC2: what it claims may not be true. */
      synthetic?: boolean;
    }
  | { type: 'interruptionWarning'; instanceId: string; instanceAttempt: number; action: InstanceAction }
  | { type: 'rebalanceRecommendation'; instanceId: string; instanceAttempt: number }
  | { type: 'agentReport'; attempt: number; phase: AgentPhase; exitCode?: number; reason?: string }
  | { type: 'checkpoint'; checkpoint: Checkpoint }
  | { type: 'stopRequested' }
  | { type: 'timer' }
  /** What a look for an attempt's instances by tag found (and terminated). */
  | { type: 'reclaimed'; attempt: number; found: number }
);

export type Effect =
  | {
      type: 'launch';
      attempt: number;
      launchRequest: number;
      instanceType: string;
      market: Market;
      count: number;
      clientToken: string;
      interruptionBehavior: InstanceAction;
    }
  | { type: 'requestCheckpoint'; attempt: number; instanceIds: string[]; reason: 'interruption' | 'rebalance' | 'stop' }
  | { type: 'writeRestore'; attempt: number; instanceIds: string[]; checkpoint?: Checkpoint }
  | { type: 'terminateInstances'; attempt: number; instanceIds: string[]; reason: string; graceful: boolean }
  /**
   * Terminate whatever EC2 launched for an attempt that ended before it learned its instance
   * ids (a launch response lost to a crash): found by the job and attempt tags. `reportBack`:
   * what was found comes back as a `reclaimed` event, which ends the job's watch when nothing was.
   */
  | { type: 'reclaimLaunches'; attempt: number; reason: string; reportBack: boolean };

export type IgnoreReason = 'duplicate' | 'stale' | 'terminal' | 'not-applicable' | 'not-due';

export type Decision =
  | {
      kind: 'apply';
      job: JobRecord;
      /** The statuses the write is legal from: the store's condition. */
      guardStatuses: readonly SecondaryStatus[];
      /** The instance the event belongs to, when it came from one: the store's second condition. */
      guardInstanceId?: string;
      triggers: Trigger[];
      transitions: TransitionRecord[];
      effects: Effect[];
    }
  | { kind: 'ignore'; reason: IgnoreReason; detail: string; effects: Effect[] };

export class IllegalTransitionError extends Error {}

const RECENT_EVENT_KEYS = 20;

/** A copy of the job being changed by one decision; every status change goes through `move`. */
class Draft {
  readonly job: JobRecord;
  readonly triggers: Trigger[] = [];
  readonly transitions: TransitionRecord[] = [];
  readonly effects: Effect[] = [];
  private guard: readonly SecondaryStatus[];

  constructor(
    before: JobRecord,
    readonly at: EpochMillis,
  ) {
    this.job = structuredClone(before);
    this.guard = [before.SecondaryStatus];
  }

  get status(): SecondaryStatus {
    return this.job.SecondaryStatus;
  }

  get attempt(): Attempt {
    return currentAttempt(this.job);
  }

  move(trigger: Trigger, message: string): void {
    const rule = ruleFor(trigger);
    if (!rule.from.includes(this.status)) {
      throw new IllegalTransitionError(`${trigger} cannot move job ${this.job.TrainingJobName} from ${this.status} to ${rule.to}`);
    }
    if (this.triggers.length === 0) this.guard = rule.from;
    const transition = { Status: rule.to, StartTime: this.at, StatusMessage: message };
    this.job.Transitions.push(transition);
    this.transitions.push(transition);
    this.triggers.push(trigger);
    this.job.SecondaryStatus = rule.to;
    this.job.TrainingJobStatus = primaryStatusOf(rule.to);
    if (isTerminal(rule.to)) {
      this.job.TrainingEndTime = this.at;
      this.effects.push(reclaimEffect(this.job, this.attempt, `job is ${rule.to}`));
    }
  }

  /** Updates what the current status says, without a transition (SageMaker does the same). */
  say(message: string): void {
    const last = this.job.Transitions[this.job.Transitions.length - 1];
    if (last) last.StatusMessage = message;
  }

  endAttempt(reason: AttemptEnd, exitCode?: number): void {
    const attempt = this.attempt;
    if (attempt.EndTime !== undefined) return;
    attempt.EndTime = this.at;
    attempt.EndReason = reason;
    if (exitCode !== undefined) attempt.ExitCode = exitCode;
  }

  remember(key: string | undefined): void {
    if (!key) return;
    this.job.RecentEventKeys = [...this.job.RecentEventKeys, key].slice(-RECENT_EVENT_KEYS);
  }

  decision(guardInstanceId?: string): Decision {
    this.job.LastModifiedTime = Math.max(this.job.LastModifiedTime, this.at);
    return {
      kind: 'apply',
      job: this.job,
      guardStatuses: this.guard,
      ...(guardInstanceId ? { guardInstanceId } : {}),
      triggers: this.triggers,
      transitions: this.transitions,
      effects: this.effects,
    };
  }
}

function ignore(reason: IgnoreReason, detail: string, effects: Effect[] = []): Decision {
  return { kind: 'ignore', reason, detail, effects };
}

/**
 * The lifecycle: given a job as stored and something that happened, what the job becomes
 * and what must be done about it. Pure: no I/O, `now` passed in.
 */
export function decide(job: JobRecord, event: JobEvent, now: EpochMillis): Decision {
  const lastTransition = job.Transitions[job.Transitions.length - 1];
  const at = Math.max(lastTransition?.StartTime ?? job.CreationTime, Math.min(event.time, now));
  if (event.key && job.RecentEventKeys.includes(event.key)) {
    return ignore('duplicate', `event ${event.key} was already applied`, impliedEffects(job));
  }
  switch (event.type) {
    case 'launchSucceeded':
      return onLaunchSucceeded(job, event, at);
    case 'launchFailed':
      return onLaunchFailed(job, event, at);
    case 'instanceState':
      return onInstanceState(job, event, at);
    case 'interruptionWarning':
      return onInterruptionWarning(job, event, at);
    case 'rebalanceRecommendation':
      return onRebalance(job, event, at);
    case 'agentReport':
      return onAgentReport(job, event, at);
    case 'checkpoint':
      return onCheckpoint(job, event, at);
    case 'stopRequested':
      return onStopRequested(job, at);
    case 'timer':
      return onTimer(job, now);
    case 'reclaimed':
      return onReclaimed(job, event);
  }
}

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
function reclaimEffects(attempt: Attempt): Effect[] {
  if (attempt.EndTime === undefined || attempt.LaunchRequests === 0 || attempt.InstanceIds.length > 0) return [];
  return [{ type: 'reclaimLaunches', attempt: attempt.Number, reason: 'attempt ended before its launch reported back', reportBack: false }];
}

/**
 * Reclaims now, and keeps the job in the deadline index to look again later: a launch still in
 * flight, an instance DescribeInstances does not list yet, or a reclaim that failed after this
 * write would otherwise leave instances running for a job that is over.
 */
function reclaimAndWatch(draft: Draft): void {
  // The look itself is the effect every end of a job takes (see Draft.move).
  if (!reclaimEffects(draft.attempt).length) return;
  draft.job.PendingReclaim = { Attempt: draft.attempt.Number, DueTime: draft.at + RECLAIM_RECHECK_MS, Checks: 0 };
}

/**
 * Whatever EC2 still runs (or keeps stopped) for an attempt the job leaves behind, found by the
 * job and attempt tags and terminated: whatever the end, nothing of the attempt stays billed.
 * An attempt resumed on a returning instance looks under the attempt that launched it.
 */
function reclaimEffect(job: JobRecord, attempt: Attempt, reason: string): Effect {
  let launched = attempt;
  while (launched.ResumedFromAttempt !== undefined) {
    const earlier = job.Attempts.find((a) => a.Number === launched.ResumedFromAttempt);
    if (!earlier) break;
    launched = earlier;
  }
  return { type: 'reclaimLaunches', attempt: launched.Number, reason, reportBack: false };
}

function launchEffect(job: JobRecord, attempt: Attempt): Effect {
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

function restoreEffect(job: JobRecord, attempt: Attempt): Effect {
  return {
    type: 'writeRestore',
    attempt: attempt.Number,
    instanceIds: attempt.InstanceIds,
    ...(job.LatestCheckpoint ? { checkpoint: job.LatestCheckpoint } : {}),
  };
}

function terminateEffect(attempt: Attempt, instanceIds: string[], reason: string, graceful: boolean): Effect {
  return { type: 'terminateInstances', attempt: attempt.Number, instanceIds, reason, graceful };
}

/** Whether an instance event belongs to the job's current attempt. */
function belongsToCurrent(job: JobRecord, instanceId: string, instanceAttempt: number): boolean {
  return job.CurrentInstanceIds.includes(instanceId) || instanceAttempt === job.CurrentAttempt;
}

/** The instance type and market of launch request `request` of an attempt. */
function launchTarget(job: JobRecord, request: number, at: EpochMillis): { InstanceType: string; Market: Market } {
  const types = [job.Spec.ResourceConfig.InstanceType, ...job.Spec.FallbackInstanceTypes];
  const InstanceType = types[(request - 1) % types.length] ?? job.Spec.ResourceConfig.InstanceType;
  if (!job.Spec.EnableManagedSpotTraining) return { InstanceType, Market: 'on-demand' };
  const fallbackAfter = job.Spec.OnDemandFallbackAfterSeconds;
  const onDemand = fallbackAfter !== undefined && at >= job.CreationTime + fallbackAfter * 1000;
  return { InstanceType: onDemand ? job.Spec.ResourceConfig.InstanceType : InstanceType, Market: onDemand ? 'on-demand' : 'spot' };
}

function startNewAttempt(draft: Draft): void {
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

const STOP_TRIGGER: Record<StopReason, Trigger> = {
  user: 'stopRequested',
  'max-runtime': 'maxRuntimeReached',
  'max-wait': 'maxWaitReached',
};
const STOPPED_TRIGGER: Record<StopReason, Trigger> = {
  user: 'stoppedByRequest',
  'max-runtime': 'stoppedAtMaxRuntime',
  'max-wait': 'stoppedAtMaxWait',
};
const STOPPED_MESSAGE: Record<StopReason, string> = {
  user: MESSAGES.stopped,
  'max-runtime': MESSAGES.maxRuntimeExceeded,
  'max-wait': MESSAGES.maxWaitExceeded,
};
const STOPPED_ATTEMPT_END: Record<StopReason, AttemptEnd> = { user: 'stopped', 'max-runtime': 'max-runtime', 'max-wait': 'max-wait' };

function beginStop(draft: Draft, reason: StopReason): void {
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

function finishStop(draft: Draft): void {
  const reason = draft.job.StopReason ?? 'user';
  draft.endAttempt(STOPPED_ATTEMPT_END[reason]);
  draft.move(STOPPED_TRIGGER[reason], STOPPED_MESSAGE[reason]);
  reclaimAndWatch(draft);
}

/** An interrupted or failed attempt is over: launch the next one, unless a time limit ran out. */
function afterAttemptEnded(draft: Draft): void {
  const limit: ExceededLimit | undefined = exceededLimit(draft.job, draft.at);
  if (limit) {
    beginStop(draft, limit);
    return;
  }
  draft.move('relaunch', MESSAGES.launching);
  startNewAttempt(draft);
}

function onLaunchSucceeded(job: JobRecord, event: Extract<JobEvent, { type: 'launchSucceeded' }>, at: EpochMillis): Decision {
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

function onLaunchFailed(job: JobRecord, event: Extract<JobEvent, { type: 'launchFailed' }>, at: EpochMillis): Decision {
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

function onTimer(job: JobRecord, now: EpochMillis): Decision {
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

function onStopRequested(job: JobRecord, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  if (job.SecondaryStatus === 'Stopping') return ignore('duplicate', 'job is already stopping', impliedEffects(job));
  const draft = new Draft(job, at);
  beginStop(draft, 'user');
  return draft.decision();
}

function onInterruptionWarning(job: JobRecord, event: Extract<JobEvent, { type: 'interruptionWarning' }>, at: EpochMillis): Decision {
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
function interrupt(draft: Draft, instanceId: string, action: InstanceAction, trigger: 'interruptionWarning' | 'lostWithoutWarning', message: string): void {
  draft.move(trigger, message);
  const attempt = draft.attempt;
  attempt.InstanceAction = action;
  draft.job.Interruptions.push({ Time: draft.at, InstanceId: instanceId, Action: action, Attempt: attempt.Number });
  const others = liveInstanceIds(attempt).filter((id) => id !== instanceId);
  if (others.length) draft.effects.push(terminateEffect(attempt, others, `instance ${instanceId} of the attempt was interrupted`, true));
}

function onRebalance(job: JobRecord, event: Extract<JobEvent, { type: 'rebalanceRecommendation' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  if (!belongsToCurrent(job, event.instanceId, event.instanceAttempt) || currentAttempt(job).EndTime !== undefined) {
    return ignore('stale', `instance ${event.instanceId} is not running the current attempt ${job.CurrentAttempt}`);
  }
  if (!['Starting', 'Downloading', 'Training', 'Uploading'].includes(job.SecondaryStatus)) {
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

function onInstanceState(job: JobRecord, event: Extract<JobEvent, { type: 'instanceState' }>, at: EpochMillis): Decision {
  const { instanceId, state } = event;
  const stray: Effect = { type: 'terminateInstances', attempt: event.instanceAttempt, instanceIds: [instanceId], reason: 'instance of an attempt that is over', graceful: false };
  if (state === 'pending' || state === 'stopping') return ignore('not-applicable', `state ${state} changes nothing`);
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`, state === 'running' ? [stray] : []);
  if (!belongsToCurrent(job, instanceId, event.instanceAttempt)) {
    return ignore('stale', `instance ${instanceId} belongs to attempt ${event.instanceAttempt}, not the current ${job.CurrentAttempt}`, state === 'running' ? [stray] : []);
  }
  return state === 'running' ? onInstanceRunning(job, event, at) : onInstanceGone(job, event, at);
}

function onInstanceRunning(job: JobRecord, event: Extract<JobEvent, { type: 'instanceState' }>, at: EpochMillis): Decision {
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

function onInstanceGone(job: JobRecord, event: Extract<JobEvent, { type: 'instanceState' }>, at: EpochMillis): Decision {
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

function afterInterruptedAttemptGone(draft: Draft, lastState: InstanceState): void {
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

/**
 * Whether a stopped instance of the attempt starts again by itself: only a persistent spot
 * request does that; an on-demand or one-time instance that was stopped (by hand, or a
 * warning that says stop) never returns, and neither does one of several.
 */
function returnsByItself(job: JobRecord, attempt: Attempt): boolean {
  return (
    (attempt.InstanceAction === 'stop' || attempt.InstanceAction === 'hibernate') &&
    job.Spec.ResourceConfig.InstanceCount === 1 &&
    attempt.Market === 'spot' &&
    job.Spec.SpotInterruptionBehavior !== 'terminate'
  );
}

/** The job is interrupted, its attempt over, and it waits for the attempt's stopped instance to start again. */
function waitsForReturn(job: JobRecord, attempt: Attempt): boolean {
  return job.SecondaryStatus === 'Interrupted' && attempt.EndTime !== undefined && (attempt.StoppedInstanceIds ?? []).length > 0 && returnsByItself(job, attempt);
}

/** The stopped instance a job waits for was terminated: it will never come back, so new capacity is launched. */
function onStoppedInstanceTerminated(job: JobRecord, event: Extract<JobEvent, { type: 'instanceState' }>, at: EpochMillis): Decision {
  const draft = new Draft(job, at);
  const attempt = draft.attempt;
  attempt.StoppedInstanceIds = (attempt.StoppedInstanceIds ?? []).filter((id) => id !== event.instanceId);
  if (event.synthetic) draft.effects.push(terminateEffect(attempt, [event.instanceId], `a synthetic event said it is ${event.state}`, false));
  afterAttemptEnded(draft);
  return draft.decision(event.instanceId);
}

const PHASE_PATH: Partial<Record<SecondaryStatus, { phase: AgentPhase; trigger: Trigger; to: SecondaryStatus }[]>> = {
  Downloading: [{ phase: 'downloaded', trigger: 'downloadCompleted', to: 'Training' }],
  Training: [{ phase: 'uploading', trigger: 'trainingFinished', to: 'Uploading' }],
  Uploading: [{ phase: 'completed', trigger: 'outputUploaded', to: 'Completed' }],
};
const PHASE_ORDER: AgentPhase[] = ['downloaded', 'uploading', 'completed'];
const PHASE_MESSAGE: Record<Exclude<AgentPhase, 'failed'>, string> = {
  downloaded: MESSAGES.training,
  uploading: MESSAGES.uploading,
  completed: MESSAGES.completed,
};

function onAgentReport(job: JobRecord, event: Extract<JobEvent, { type: 'agentReport' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  if (event.attempt !== job.CurrentAttempt) return ignore('stale', `report of attempt ${event.attempt}; current is ${job.CurrentAttempt}`);
  const draft = new Draft(job, at);
  const attempt = draft.attempt;
  if (event.phase === 'failed') {
    if (!['Downloading', 'Training', 'Uploading'].includes(job.SecondaryStatus)) {
      return ignore('not-applicable', `a failure report while ${job.SecondaryStatus} is explained by it`);
    }
    const maxRetries = job.Spec.RetryStrategy?.MaximumRetryAttempts ?? 0;
    const live = liveInstanceIds(attempt);
    if (job.RetriesUsed < maxRetries) {
      draft.job.RetriesUsed += 1;
      // The attempt ends here; its instances still have to go before the next launch.
      draft.endAttempt('failed', event.exitCode);
      draft.move('trainingFailedWithRetry', MESSAGES.restarting(draft.job.RetriesUsed, maxRetries));
    } else {
      draft.endAttempt('failed', event.exitCode);
      draft.job.FailureReason = `AlgorithmError: ${event.reason ?? MESSAGES.failed(event.exitCode)}${event.exitCode === undefined ? '' : ` (exit code ${event.exitCode})`}`;
      draft.move('trainingFailed', MESSAGES.failed(event.exitCode));
    }
    if (live.length) draft.effects.push(terminateEffect(attempt, live, 'training failed', false));
    return draft.decision();
  }
  if (job.SecondaryStatus === 'Interrupted') {
    if (event.phase !== 'completed' || attempt.EndTime !== undefined) {
      return ignore('not-applicable', `report ${event.phase} while the attempt is interrupted`);
    }
    draft.endAttempt('completed');
    draft.move('outputUploaded', MESSAGES.completed);
  } else {
    const target = PHASE_ORDER.indexOf(event.phase);
    let step = PHASE_PATH[draft.status]?.[0];
    if (!step || PHASE_ORDER.indexOf(step.phase) > target) {
      return ignore('duplicate', `report ${event.phase} is already reflected in ${job.SecondaryStatus}`);
    }
    // Reports can arrive out of order: a later phase implies the ones before it.
    while (step && PHASE_ORDER.indexOf(step.phase) <= target) {
      draft.move(step.trigger, PHASE_MESSAGE[step.phase as Exclude<AgentPhase, 'failed'>]);
      step = PHASE_PATH[draft.status]?.[0];
    }
  }
  if (draft.status === 'Completed') {
    draft.endAttempt('completed');
    const live = liveInstanceIds(attempt);
    if (live.length) draft.effects.push(terminateEffect(attempt, live, 'training completed', false));
  }
  return draft.decision();
}

/**
 * The watch for a lost launch's instances, when its look is due. Bookkeeping on a finished job:
 * no transition, and LastModifiedTime stays as the end left it (so in onReclaimed).
 */
function lookAgain(job: JobRecord, now: EpochMillis): Decision {
  const pending = job.PendingReclaim;
  if (!pending || pending.DueTime > now) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  const draft = new Draft(job, job.LastModifiedTime);
  const checks = pending.Checks + 1;
  if (checks >= RECLAIM_MAX_CHECKS) delete draft.job.PendingReclaim;
  else draft.job.PendingReclaim = { ...pending, DueTime: now + RECLAIM_RECHECK_MS, Checks: checks };
  draft.effects.push({ type: 'reclaimLaunches', attempt: pending.Attempt, reason: `look ${checks} for instances of a launch that never reported back`, reportBack: true });
  return draft.decision();
}

/** What a deleted job still needs done: the sweep no longer sees it, so a pending look is taken now. */
export function effectsOnDelete(job: JobRecord): Effect[] {
  const pending = job.PendingReclaim;
  if (!pending) return [];
  return [{ type: 'reclaimLaunches', attempt: pending.Attempt, reason: 'job deleted while its lost launch was being watched', reportBack: false }];
}

/** A look by tag found nothing left running: the watch ends. Found something: it looks once more. */
function onReclaimed(job: JobRecord, event: Extract<JobEvent, { type: 'reclaimed' }>): Decision {
  const pending = job.PendingReclaim;
  if (!pending || pending.Attempt !== event.attempt) return ignore('not-applicable', `no watch for instances of attempt ${event.attempt}`);
  if (event.found > 0) return ignore('not-applicable', `terminated ${event.found} instance(s) of attempt ${event.attempt}; looking again`);
  const draft = new Draft(job, job.LastModifiedTime);
  delete draft.job.PendingReclaim;
  return draft.decision();
}

function onCheckpoint(job: JobRecord, event: Extract<JobEvent, { type: 'checkpoint' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  const home = checkpointHome(job);
  const rest = home && event.checkpoint.ManifestUri.startsWith(home) ? event.checkpoint.ManifestUri.slice(home.length) : undefined;
  if (rest === undefined || rest.split('/').length !== 2) {
    return ignore('not-applicable', `${event.checkpoint.ManifestUri} is not in the job's checkpoint folder ${home ?? '(none)'}`);
  }
  const latest = job.LatestCheckpoint;
  if (latest && event.checkpoint.Sequence <= latest.Sequence) {
    const reason = event.checkpoint.Sequence === latest.Sequence ? 'duplicate' : 'stale';
    return ignore(reason, `checkpoint ${event.checkpoint.Id} is not newer than ${latest.Id}`);
  }
  const draft = new Draft(job, at);
  draft.job.LatestCheckpoint = { ...event.checkpoint, Time: at };
  return draft.decision();
}
