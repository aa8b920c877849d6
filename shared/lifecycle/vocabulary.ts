import { type Checkpoint, type CheckpointOutcome, type EpochMillis, type InputDownload, type InstanceAction, type JobRecord, type Market, type MetricDatum, type TransitionRecord } from './job.js';
import { type InstancePrices } from './money.js';
import { type SecondaryStatus } from './statuses.js';
import { type Trigger } from './transitions.js';
import { SpotTrainingError } from '../errors.js';

/** The lifecycle's vocabulary: what can happen to a job, what is done about it, and what a decision says. */

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** What the agent on an instance reports, in the order it happens (`failed` at any point). */
export const AGENT_PHASES = ['downloaded', 'uploading', 'completed', 'failed'] as const;
export type AgentPhase = (typeof AGENT_PHASES)[number];

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
  /** `metrics`: the last value of each MetricDefinition the attempt's output printed, when the report carries them. */
  | { type: 'agentReport'; attempt: number; phase: AgentPhase; exitCode?: number; reason?: string; metrics?: MetricDatum[] }
  /** The final metric values of an attempt that ended by a stop or an interruption; no status changes. */
  | { type: 'metricsReported'; attempt: number; metrics: MetricDatum[] }
  /** How far the attempt's File-mode input download has come, while the job is Downloading; no status changes. */
  | { type: 'downloadProgress'; attempt: number; progress: InputDownload }
  | { type: 'checkpoint'; checkpoint: Checkpoint }
  /** The agent's report of one checkpoint sync: complete, failed, a final one started, or LocalPath empty. */
  | { type: 'checkpointOutcome'; attempt: number; outcome: CheckpointOutcome }
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
      /** The record after the decision, its Version one past the record it was made on. */
      job: JobRecord;
      /** The statuses the write is legal from: the store's condition. */
      guardStatuses: readonly SecondaryStatus[];
      /** The instance the event belongs to, when it came from one: the store's second condition. */
      guardInstanceId?: string;
      triggers: Trigger[];
      transitions: TransitionRecord[];
      effects: Effect[];
      /** The next deadline the record implies (nextDeadline): when the deadline sweep must look at it. */
      dueAt?: EpochMillis;
    }
  | { kind: 'ignore'; reason: IgnoreReason; detail: string; effects: Effect[] };

export class IllegalTransitionError extends SpotTrainingError {}
