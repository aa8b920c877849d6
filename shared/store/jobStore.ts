import { SpotTrainingError } from '../errors.js';
import type { EpochMillis, JobRecord } from '../lifecycle/job.js';
import type { SecondaryStatus } from '../lifecycle/statuses.js';

/**
 * The job store, as the application sees it: one record per job, conditional writes only,
 * every read of the hot path consistent. The DynamoDB adapter is dynamoJobStore.ts.
 */
export interface JobStore {
  /** Stores a new job; throws JobExistsError when one of its name (whatever the case) exists. */
  create(job: JobRecord, dueAt: EpochMillis | undefined): Promise<void>;
  /** Names are one job whatever their case: `X-Case` finds the job created as `x-case`. */
  get(name: string): Promise<JobRecord | undefined>;
  /** Writes a change made on `before`; throws StaleRecordError when `before` is no longer what is stored. */
  write(before: JobRecord, change: JobWrite): Promise<void>;
  /** Deletes a finished job and returns it as it was; JobNotFoundError or JobNotTerminalError otherwise. */
  delete(name: string): Promise<JobRecord>;
  list(query: ListQuery): Promise<ListPage>;
  registerInstances(owner: InstanceOwner, instanceIds: string[], now: EpochMillis): Promise<void>;
  instanceOwner(instanceId: string): Promise<InstanceOwner | undefined>;
  /** Names of unfinished jobs whose next deadline is at or before `now`, from the sparse deadline index. */
  dueJobs(now: EpochMillis, limit?: number): Promise<string[]>;
}

/** One write of a decision: the record after it, and the conditions it is legal under. */
export interface JobWrite {
  /** The record as it is after the write, its Version already one past `before`'s. */
  job: JobRecord;
  /** The statuses the write is legal from. */
  guardStatuses: readonly SecondaryStatus[];
  /** The instance the event belongs to, when it came from one: it must still be the job's. */
  guardInstanceId?: string;
  /** The next deadline the record implies, for the deadline index; none once the job is finished. */
  dueAt?: EpochMillis;
}

export const JOB_LIST = 'jobs';

export class JobExistsError extends SpotTrainingError {}
export class JobNotTerminalError extends SpotTrainingError {}
export class JobNotFoundError extends SpotTrainingError {}

/** A conditional write lost: the record changed since it was read. Carries the record as it is now. */
export class StaleRecordError extends SpotTrainingError {
  constructor(readonly current: JobRecord) {
    super('The job record changed since it was read');
  }
}

export interface InstanceOwner {
  JobName: string;
  Attempt: number;
  InstanceType: string;
}

export type ListSort = 'CreationTime' | 'Name' | 'Status';

export interface ListQuery {
  sortBy: ListSort;
  ascending: boolean;
  limit: number;
  statusEquals?: string;
  nameContains?: string;
  creationTimeAfter?: EpochMillis;
  creationTimeBefore?: EpochMillis;
  /** The store's key to continue after, from a previous page. */
  startKey?: Record<string, unknown>;
}

export interface ListPage {
  jobs: JobRecord[];
  lastKey?: Record<string, unknown>;
}
