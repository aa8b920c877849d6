import type { InputDownload } from './job.js';

/**
 * SageMaker's two status fields. TrainingJobStatus is what a job is; SecondaryStatus is
 * where it is in its lifecycle. The primary status is always derived from the secondary one,
 * so the two can never disagree.
 */
export const TRAINING_JOB_STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'] as const;
export type TrainingJobStatus = (typeof TRAINING_JOB_STATUSES)[number];

export const SECONDARY_STATUSES = [
  'Starting',
  'Downloading',
  'Training',
  'Uploading',
  'Interrupted',
  'Restarting',
  'Stopping',
  'Stopped',
  'MaxRuntimeExceeded',
  'MaxWaitTimeExceeded',
  'Completed',
  'Failed',
] as const;
export type SecondaryStatus = (typeof SECONDARY_STATUSES)[number];

const PRIMARY_OF: Record<SecondaryStatus, TrainingJobStatus> = {
  Starting: 'InProgress',
  Downloading: 'InProgress',
  Training: 'InProgress',
  Uploading: 'InProgress',
  Interrupted: 'InProgress',
  Restarting: 'InProgress',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
  MaxRuntimeExceeded: 'Stopped',
  MaxWaitTimeExceeded: 'Stopped',
  Completed: 'Completed',
  Failed: 'Failed',
};

export function primaryStatusOf(secondary: SecondaryStatus): TrainingJobStatus {
  return PRIMARY_OF[secondary];
}

export const TERMINAL_TRAINING_JOB_STATUSES: readonly TrainingJobStatus[] = ['Completed', 'Failed', 'Stopped'];

export function isTerminal(secondary: SecondaryStatus): boolean {
  return TERMINAL_TRAINING_JOB_STATUSES.includes(PRIMARY_OF[secondary]);
}

/**
 * Status messages. SageMaker's own wording where SageMaker has documented it, so that
 * tooling that greps for it keeps working; ours elsewhere.
 */
export const MESSAGES = {
  created: 'Starting the training job.',
  launching: 'Launching requested ML instances.',
  insufficientCapacity: 'Insufficient capacity error from EC2 while launching instances, retrying!',
  preparing: 'Preparing the instances for training.',
  downloading: 'Restoring the latest checkpoint and downloading the training image.',
  downloadingFromScratch: 'Downloading the training image; no checkpoint to restore.',
  downloadingInput: (p: InputDownload) =>
    `Downloading input data: ${formatBytes(p.TotalBytes - p.Bytes)} of ${formatBytes(p.TotalBytes)} left, ${p.TotalFiles - p.Files} of ${p.TotalFiles} files.`,
  training: 'Training image download completed. Training in progress.',
  uploading: 'Uploading generated training model',
  completed: 'Training job completed',
  stopping: 'Stopping the training job',
  stopped: 'The training job was stopped.',
  maxRuntimeExceeded: 'The job reached its MaxRuntimeInSeconds stopping condition.',
  maxWaitExceeded: 'The job reached its MaxWaitTimeInSeconds stopping condition.',
  restarting: (retry: number, of: number) => `Training failed; restarting the job (retry ${retry} of ${of}).`,
  interrupted: (instanceId: string, action: string) =>
    `Spot interruption warning for instance ${instanceId} (instance-action ${action}); saving a final checkpoint.`,
  lostWithoutWarning: (instanceId: string, state: string) =>
    `Instance ${instanceId} went ${state} without an interruption warning.`,
  returning: (instanceIds: readonly string[]) =>
    `The interrupted instance ${instanceIds.join(', ')} is running again; restoring the latest checkpoint.`,
  failed: (exitCode: number | undefined) =>
    exitCode === undefined ? 'Training failed.' : `Training failed with exit code ${exitCode}.`,
} as const;

/** A size as people read it: binary units, about three significant digits (`1.50 GiB`, `512 B`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  return `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}
