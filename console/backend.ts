import type { LogSource } from '../cli/logs.js';
import type { InterruptionRequest, InterruptionSent } from '../cli/interruption.js';
import type { JobView } from '../cli/job.js';

/**
 * What the console needs from the system it shows: the API's operations, the synthetic
 * interruption, the job's checkpoints and its training log. The console server talks to this
 * port only; contextBackend.ts builds it from spotctl's Context, which signs for a deployed API.
 */
export interface CheckpointMark {
  CheckpointId: string;
  /** Epoch seconds the manifest was written. */
  Time: number;
  /** Bytes of the checkpoint's files, the manifest included. */
  SizeBytes: number;
  Files: number;
}

export interface ConsoleBackend {
  /** The API endpoint, shown in the page header. */
  readonly endpoint: string;
  call<T = Record<string, unknown>>(operation: 'ListTrainingJobs' | 'DescribeTrainingJob' | 'StopTrainingJob', input: Record<string, unknown>): Promise<T>;
  interrupt(job: JobView, request: InterruptionRequest): Promise<InterruptionSent>;
  checkpoints(job: JobView): Promise<CheckpointMark[]>;
  openLog(jobName: string): Promise<LogSource>;
  close(): void;
}
