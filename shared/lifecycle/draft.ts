import { type Attempt, type AttemptEnd, currentAttempt, type EpochMillis, type JobRecord, type TransitionRecord } from './job.js';
import { isTerminal, primaryStatusOf, type SecondaryStatus } from './statuses.js';
import { ruleFor, type Trigger } from './transitions.js';
import { nextDeadline } from './deadlines.js';
import { reclaimEffect } from './effects.js';
import { type Decision, type Effect, type IgnoreReason, IllegalTransitionError } from './vocabulary.js';

/** A job being changed by one decision: every status change goes through `Draft.move`, every ignore through `ignore`. */

export const RECENT_EVENT_KEYS = 20;

/** A copy of the job being changed by one decision; every status change goes through `move`. */
export class Draft {
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
    // The one place a record's version moves: every write is one decision, one version.
    this.job.Version = before.Version + 1;
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
    const due = nextDeadline(this.job);
    return {
      kind: 'apply',
      job: this.job,
      guardStatuses: this.guard,
      ...(guardInstanceId ? { guardInstanceId } : {}),
      triggers: this.triggers,
      transitions: this.transitions,
      effects: this.effects,
      ...(due === undefined ? {} : { dueAt: due }),
    };
  }
}

export function ignore(reason: IgnoreReason, detail: string, effects: Effect[] = []): Decision {
  return { kind: 'ignore', reason, detail, effects };
}
