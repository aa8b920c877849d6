import type { Effect, InstanceState } from '../lifecycle/decide.js';
import type { TrainingJobSpec } from '../lifecycle/job.js';

/** One launch of an attempt's instances: the lifecycle's launch effect, for one job, its volume and its network. */
export type LaunchRequest = Omit<Extract<Effect, { type: 'launch' }>, 'type'> & {
  jobName: string;
  volumeSizeInGB: number;
  /** ResourceConfig.VolumeKmsKeyId: the volume is encrypted with this key instead of EBS's default one. */
  volumeKmsKeyId?: string;
  /** VpcConfig: the job's subnets and security groups instead of the deployment's. */
  subnetIds?: string[];
  securityGroupIds?: string[];
};

/** What of a job's spec its launches carry. */
export function launchSettings(spec: TrainingJobSpec): Pick<LaunchRequest, 'volumeSizeInGB' | 'volumeKmsKeyId' | 'subnetIds' | 'securityGroupIds'> {
  return {
    volumeSizeInGB: spec.ResourceConfig.VolumeSizeInGB,
    ...(spec.ResourceConfig.VolumeKmsKeyId ? { volumeKmsKeyId: spec.ResourceConfig.VolumeKmsKeyId } : {}),
    ...(spec.VpcConfig ? { subnetIds: spec.VpcConfig.Subnets, securityGroupIds: spec.VpcConfig.SecurityGroupIds } : {}),
  };
}

export type LaunchResult =
  | {
      ok: true;
      instanceIds: string[];
      /**
       * Each instance's state in EC2's answer, where it gave one. A launch repeated with its client
       * token returns the instances first launched, as they are now: possibly already gone, their
       * state changes sent while the job did not know them yet.
       */
      states?: Record<string, InstanceState>;
    }
  | { ok: false; errorCode: string; message: string; capacity: boolean; retryable: boolean };

/** Where instances come from: EC2 on AWS, the simulator of the local cloud. The core owns this interface. */
export interface Capacity {
  launch(request: LaunchRequest): Promise<LaunchResult>;
  terminate(instanceIds: string[]): Promise<void>;
  /** Terminates the unterminated instances tagged with the job and attempt; returns their ids. */
  reclaim(jobName: string, attempt: number): Promise<string[]>;
}

/**
 * EC2's launch errors that mean "no capacity right now": the job stays in Starting and the
 * launch is retried with backoff until MaxWaitTimeInSeconds.
 */
export const CAPACITY_ERRORS = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientFreeAddressesInSubnet',
  'MaxSpotInstanceCountExceeded',
  'SpotMaxPriceTooLow',
  'capacity-not-available',
  'price-too-low',
  'capacity-oversubscribed',
  'Unsupported',
]);

/** Errors worth retrying that are not about capacity: throttling, quotas that free up, outages. */
export const TRANSIENT_ERRORS = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'ServiceUnavailable',
  'Unavailable',
  'InternalError',
  'InternalFailure',
]);

export function classifyLaunchError(errorCode: string, message: string): Extract<LaunchResult, { ok: false }> {
  const capacity = CAPACITY_ERRORS.has(errorCode);
  return { ok: false, errorCode, message, capacity, retryable: capacity || TRANSIENT_ERRORS.has(errorCode) };
}
