import type { JobView } from '../cli/job.js';
import type { ConsoleBackend } from './backend.js';

/**
 * The jobs list's rows: ListTrainingJobs' summaries carry only names, times and statuses, so each
 * row is the job's DescribeTrainingJob, cached by LastModifiedTime — a page whose jobs did not
 * change costs one ListTrainingJobs call. The cache is bounded (least recently used go first).
 */
const CACHE_SIZE = 2000;
const CONCURRENCY = 8;

export interface JobRow {
  TrainingJobName: string;
  TrainingJobStatus: string;
  SecondaryStatus: string;
  InstanceType?: string;
  InstanceCount?: number;
  Market: string;
  CreationTime: number;
  EndTime?: number;
  Attempts: number;
  Interruptions: number;
  SavingsPercent?: number;
  TrainingTimeInSeconds?: number;
  BillableTimeInSeconds?: number;
  FailureReason?: string;
}

export function jobRow(job: JobView): JobRow {
  const last = job.Attempts?.at(-1);
  const finished = ['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus);
  return {
    TrainingJobName: job.TrainingJobName,
    TrainingJobStatus: job.TrainingJobStatus,
    SecondaryStatus: job.SecondaryStatus,
    ...(last?.InstanceType ?? job.ResourceConfig?.InstanceType ? { InstanceType: last?.InstanceType ?? job.ResourceConfig?.InstanceType } : {}),
    ...(job.ResourceConfig?.InstanceCount ? { InstanceCount: job.ResourceConfig.InstanceCount } : {}),
    Market: last?.Market ?? (job.EnableManagedSpotTraining ? 'spot' : 'on-demand'),
    CreationTime: job.CreationTime,
    ...(finished ? { EndTime: job.TrainingEndTime ?? job.LastModifiedTime ?? job.CreationTime } : {}),
    Attempts: job.Attempts?.length ?? 0,
    Interruptions: job.Interruptions?.length ?? 0,
    ...(job.Savings ? { SavingsPercent: job.Savings.SavingsPercent } : {}),
    ...(job.TrainingTimeInSeconds !== undefined ? { TrainingTimeInSeconds: job.TrainingTimeInSeconds } : {}),
    ...(job.BillableTimeInSeconds !== undefined ? { BillableTimeInSeconds: job.BillableTimeInSeconds } : {}),
    ...(job.FailureReason ? { FailureReason: job.FailureReason } : {}),
  };
}

export class JobRows {
  private readonly cache = new Map<string, { modified?: number; row: JobRow }>();

  constructor(private readonly backend: ConsoleBackend) {}

  async rows(summaries: { TrainingJobName: string; LastModifiedTime?: number }[]): Promise<(JobRow | { TrainingJobName: string; problem: string })[]> {
    const out: (JobRow | { TrainingJobName: string; problem: string })[] = new Array(summaries.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < summaries.length; i = next++) {
        const summary = summaries[i] as { TrainingJobName: string; LastModifiedTime?: number };
        const cached = this.cache.get(summary.TrainingJobName);
        if (cached && cached.modified === summary.LastModifiedTime && summary.LastModifiedTime !== undefined) {
          this.cache.delete(summary.TrainingJobName);
          this.cache.set(summary.TrainingJobName, cached);
          out[i] = cached.row;
          continue;
        }
        try {
          const job = await this.backend.call<JobView>('DescribeTrainingJob', { TrainingJobName: summary.TrainingJobName });
          const row = jobRow(job);
          this.cache.delete(summary.TrainingJobName);
          this.cache.set(summary.TrainingJobName, { ...(job.LastModifiedTime !== undefined ? { modified: job.LastModifiedTime } : {}), row });
          if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
          out[i] = row;
        } catch (error) {
          // Deleted between the list and the describe, or a refusal: the row says so.
          out[i] = { TrainingJobName: summary.TrainingJobName, problem: `${(error as Error).name}: ${(error as Error).message}` };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, summaries.length) }, worker));
    return out;
  }
}
