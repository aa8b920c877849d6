import type { EpochMillis } from './job.js';

/** What the agent's checkpoints leave on a job's record: each checkpoint, each sync's outcome, the final one's, failures. */

export type CheckpointTrigger = 'periodic' | 'requested' | 'final';

/** How one checkpoint sync went, as the agent reported it. */
export interface CheckpointOutcome {
  Status: 'started' | 'complete' | 'failed' | 'empty' | 'stale';
  Trigger: CheckpointTrigger;
  Sequence: number;
  CheckpointId?: string;
  ManifestUri?: string;
  StartTime: EpochMillis;
  EndTime?: EpochMillis;
  SizeInBytes?: number;
  UploadedBytes?: number;
  FileCount?: number;
  DeadlineTime?: EpochMillis;
  EstimatedSeconds?: number;
  Reason?: string;
  EmptySince?: EpochMillis;
  UnchangedSince?: EpochMillis;
}

export interface FinalCheckpoint {
  /** Started: under way (or cut off: no later word came); InTime / Late: complete before / after its deadline. */
  Status: 'Started' | 'InTime' | 'Late' | 'Failed';
  StartTime: EpochMillis;
  EndTime?: EpochMillis;
  DeadlineTime?: EpochMillis;
  EstimatedSeconds?: number;
  CheckpointId?: string;
  Reason?: string;
}

export interface CheckpointFailure {
  Time: EpochMillis;
  Attempt: number;
  Sequence: number;
  Trigger: CheckpointTrigger;
  Reason: string;
}

export interface Checkpoint {
  /** The checkpoint's folder name under CheckpointConfig.S3Uri, e.g. `step=1200`. */
  Id: string;
  /** Orders checkpoints: the number in the folder name; the latest never moves backwards. */
  Sequence: number;
  ManifestUri: string;
  Time: EpochMillis;
  /** What the agent reported of it (absent for checkpoints it did not write, e.g. another tool's). */
  SizeInBytes?: number;
  UploadedBytes?: number;
  FileCount?: number;
  UploadMillis?: number;
  Trigger?: CheckpointTrigger;
}
