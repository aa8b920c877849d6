import type { EpochMillis, JobRecord } from '../lifecycle/job.js';
import { isTerminal } from '../lifecycle/statuses.js';
import {
  JobExistsError,
  JobNotFoundError,
  JobNotTerminalError,
  StaleRecordError,
  type InstanceOwner,
  type JobStore,
  type JobWrite,
  type ListPage,
  type ListQuery,
} from './jobStore.js';

/**
 * The JobStore contract in memory: the same conditions as the DynamoDB adapter (version,
 * legal statuses, attempt, the event's instance), names one job whatever their case, records
 * copied in and out so that no caller shares one. For tests and tools that run the real event
 * flow without a database; it keeps everything it is given, so it is not for long runs.
 */
export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, { job: JobRecord; dueAt: EpochMillis | undefined }>();
  private readonly owners = new Map<string, InstanceOwner>();

  async create(job: JobRecord, dueAt: EpochMillis | undefined): Promise<void> {
    const key = job.TrainingJobName.toLowerCase();
    if (this.jobs.has(key)) throw new JobExistsError(`Training job ${job.TrainingJobName} already exists`);
    this.jobs.set(key, { job: structuredClone(job), dueAt });
  }

  async get(name: string): Promise<JobRecord | undefined> {
    const stored = this.jobs.get(name.toLowerCase());
    return stored && structuredClone(stored.job);
  }

  async write(before: JobRecord, change: JobWrite): Promise<void> {
    const key = before.TrainingJobName.toLowerCase();
    const stored = this.jobs.get(key);
    if (!stored) throw new JobNotFoundError(`Training job ${before.TrainingJobName} no longer exists`);
    const now = stored.job;
    const instanceGuard = change.guardInstanceId && before.CurrentInstanceIds.includes(change.guardInstanceId);
    const holds =
      now.Version === before.Version &&
      change.guardStatuses.includes(now.SecondaryStatus) &&
      now.CurrentAttempt === before.CurrentAttempt &&
      (!instanceGuard || now.CurrentInstanceIds.includes(change.guardInstanceId as string));
    if (!holds) throw new StaleRecordError(structuredClone(now));
    this.jobs.set(key, { job: structuredClone(change.job), dueAt: change.dueAt });
  }

  async delete(name: string): Promise<JobRecord> {
    const key = name.toLowerCase();
    const stored = this.jobs.get(key);
    if (!stored) throw new JobNotFoundError(`Training job ${name} does not exist`);
    if (!isTerminal(stored.job.SecondaryStatus)) throw new JobNotTerminalError(`Training job ${name} is ${stored.job.TrainingJobStatus}`);
    this.jobs.delete(key);
    return stored.job;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const sortKey = (job: JobRecord) =>
      query.sortBy === 'Name' ? job.TrainingJobName : query.sortBy === 'Status' ? `${job.TrainingJobStatus}#${job.TrainingJobName}` : `${String(job.CreationTime).padStart(13, '0')}#${job.TrainingJobName}`;
    const matching = [...this.jobs.values()]
      .map(({ job }) => job)
      .filter(
        (job) =>
          (query.statusEquals === undefined || job.TrainingJobStatus === query.statusEquals) &&
          (query.nameContains === undefined || job.TrainingJobName.includes(query.nameContains)) &&
          (query.creationTimeAfter === undefined || job.CreationTime > query.creationTimeAfter) &&
          (query.creationTimeBefore === undefined || job.CreationTime < query.creationTimeBefore),
      )
      .sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0) * (query.ascending ? 1 : -1));
    const after = query.startKey?.after;
    const from = typeof after === 'string' ? matching.findIndex((job) => (query.ascending ? sortKey(job) > after : sortKey(job) < after)) : 0;
    const page = from < 0 ? [] : matching.slice(from, from + query.limit);
    const last = page[page.length - 1];
    const more = from >= 0 && from + query.limit < matching.length;
    return { jobs: page.map((job) => structuredClone(job)), ...(more && last ? { lastKey: { after: sortKey(last) } } : {}) };
  }

  async registerInstances(owner: InstanceOwner, instanceIds: string[]): Promise<void> {
    for (const id of instanceIds) {
      const known = this.owners.get(id);
      if (known && (known.JobName !== owner.JobName || known.Attempt !== owner.Attempt)) throw new Error(`Instance ${id} is already registered to another job or attempt`);
      this.owners.set(id, { ...owner });
    }
  }

  async instanceOwner(instanceId: string): Promise<InstanceOwner | undefined> {
    const owner = this.owners.get(instanceId);
    return owner && { ...owner };
  }

  async dueJobs(now: EpochMillis, limit = 1000): Promise<string[]> {
    return [...this.jobs.values()]
      .filter(({ dueAt }) => dueAt !== undefined && dueAt <= now)
      .sort((a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0))
      .slice(0, limit)
      .map(({ job }) => job.TrainingJobName);
  }
}
