import type { SecondaryStatus } from './statuses.js';

/**
 * THE transition table: the one place that says what may follow what, and why.
 * Every status change the product makes is one row of this table; the store turns the
 * row's `from` into the condition of its conditional write, so a change that is not legal
 * from the status the record is really in cannot be written.
 */
export const TRANSITIONS = [
  // Capacity and instances.
  { trigger: 'instancesRunning', from: ['Starting'], to: 'Downloading' },
  { trigger: 'instanceReturned', from: ['Interrupted'], to: 'Downloading' },
  { trigger: 'relaunch', from: ['Interrupted', 'Restarting'], to: 'Starting' },
  { trigger: 'launchRejected', from: ['Starting'], to: 'Failed' },
  { trigger: 'interruptionWarning', from: ['Starting', 'Downloading', 'Training', 'Uploading'], to: 'Interrupted' },
  { trigger: 'lostWithoutWarning', from: ['Downloading', 'Training', 'Uploading'], to: 'Interrupted' },
  // The agent's reports.
  { trigger: 'downloadCompleted', from: ['Downloading'], to: 'Training' },
  { trigger: 'trainingFinished', from: ['Training'], to: 'Uploading' },
  // From Interrupted too: the upload can finish inside the two-minute warning window.
  { trigger: 'outputUploaded', from: ['Uploading', 'Interrupted'], to: 'Completed' },
  { trigger: 'trainingFailedWithRetry', from: ['Downloading', 'Training', 'Uploading'], to: 'Restarting' },
  { trigger: 'trainingFailed', from: ['Downloading', 'Training', 'Uploading'], to: 'Failed' },
  // Stopping: asked for, or forced by a stopping condition; then the instances are gone.
  {
    trigger: 'stopRequested',
    from: ['Starting', 'Downloading', 'Training', 'Uploading', 'Interrupted', 'Restarting'],
    to: 'Stopping',
  },
  {
    trigger: 'maxRuntimeReached',
    from: ['Starting', 'Downloading', 'Training', 'Uploading', 'Interrupted', 'Restarting'],
    to: 'Stopping',
  },
  {
    trigger: 'maxWaitReached',
    from: ['Starting', 'Downloading', 'Training', 'Uploading', 'Interrupted', 'Restarting'],
    to: 'Stopping',
  },
  { trigger: 'stoppedByRequest', from: ['Stopping'], to: 'Stopped' },
  { trigger: 'stoppedAtMaxRuntime', from: ['Stopping'], to: 'MaxRuntimeExceeded' },
  { trigger: 'stoppedAtMaxWait', from: ['Stopping'], to: 'MaxWaitTimeExceeded' },
] as const satisfies readonly { trigger: string; from: readonly SecondaryStatus[]; to: SecondaryStatus }[];

export type Trigger = (typeof TRANSITIONS)[number]['trigger'];
export type TransitionRule = { trigger: Trigger; from: readonly SecondaryStatus[]; to: SecondaryStatus };

const BY_TRIGGER = new Map<Trigger, TransitionRule>(TRANSITIONS.map((row) => [row.trigger, row]));

export function ruleFor(trigger: Trigger): TransitionRule {
  const rule = BY_TRIGGER.get(trigger);
  if (!rule) throw new Error(`No transition rule for trigger ${trigger}`);
  return rule;
}

/** Whether the table has any row from `from` to `to`. */
export function isLegal(from: SecondaryStatus, to: SecondaryStatus): boolean {
  return TRANSITIONS.some((row) => row.to === to && (row.from as readonly SecondaryStatus[]).includes(from));
}

/** The status a newly created job starts in; creation is the only way into it without a row. */
export const INITIAL_STATUS: SecondaryStatus = 'Starting';
