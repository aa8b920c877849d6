import { logsPrefix, parseLogKey } from '../shared/protocol.js';
import type { TrainingJobsClient } from './apiClient.js';
import type { Context } from './context.js';
import type { Io } from './io.js';
import { isFinished, retrying, type JobView } from './job.js';

/**
 * `spotctl logs <job> [--follow]`: the training output of every attempt and instance. On AWS
 * from CloudWatch Logs (group /spot-training/<stage>/jobs, stream <job>/attempt-<n>/<instance-id>);
 * on the local cloud from its control bucket, where the simulated agent uploads each log at
 * logs/<job>/attempt-<n>/<instance-id>.log (shared/protocol.ts logKey).
 */
export interface LogsOptions {
  follow: boolean;
  attempt?: number;
  from: 's3' | 'cloudwatch';
  intervalMs: number;
}

export interface LogSource {
  /** New complete lines since the last call, each with its stream's label. */
  poll(): Promise<{ stream: string; line: string }[]>;
  close(): void;
}

async function s3Source(ctx: Context, job: string, attempt: number | undefined): Promise<LogSource> {
  const s3 = await ctx.s3();
  const { GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const bucket = await ctx.controlBucket(s3);
  const prefix = logsPrefix(job, attempt);
  const printed = new Map<string, number>();
  const streamOf = (key: string) => {
    const parsed = parseLogKey(key);
    return parsed.ok ? { ...parsed.value, label: `attempt-${parsed.value.attempt}/${parsed.value.instanceId}` } : undefined;
  };
  return {
    async poll() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of page.Contents ?? []) if (o.Key && streamOf(o.Key)) keys.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      keys.sort((a, b) => {
        const [ma, mb] = [streamOf(a), streamOf(b)];
        return (ma?.attempt ?? 0) - (mb?.attempt ?? 0) || a.localeCompare(b);
      });
      const out: { stream: string; line: string }[] = [];
      // Committed only when the whole poll succeeded, so that a retried poll loses no line.
      const advanced = new Map<string, number>();
      for (const key of keys) {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const text = (await object.Body?.transformToString()) ?? '';
        const from = printed.get(key) ?? 0;
        const complete = text.lastIndexOf('\n') + 1;
        if (complete <= from) continue;
        advanced.set(key, complete);
        const stream = streamOf(key)?.label ?? key;
        for (const line of text.slice(from, complete).split('\n').slice(0, -1)) out.push({ stream, line });
      }
      for (const [key, at] of advanced) printed.set(key, at);
      return out;
    },
    close: () => s3.destroy(),
  };
}

async function cloudWatchSource(ctx: Context, job: string, attempt: number | undefined): Promise<LogSource> {
  const logs = await ctx.cloudWatchLogs();
  const { FilterLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const group = ctx.logGroup();
  const seen = new Set<string>();
  let startTime: number | undefined;
  return {
    async poll() {
      const out: { stream: string; line: string; t: number }[] = [];
      let token: string | undefined;
      do {
        const page = await logs.send(
          new FilterLogEventsCommand({
            logGroupName: group,
            logStreamNamePrefix: `${job}/${attempt === undefined ? '' : `attempt-${attempt}/`}`,
            ...(startTime !== undefined ? { startTime } : {}),
            ...(token ? { nextToken: token } : {}),
          }),
        );
        for (const e of page.events ?? []) {
          const id = e.eventId ?? `${e.logStreamName}/${e.timestamp}/${e.message}`;
          if (seen.has(id)) continue;
          seen.add(id);
          const stream = (e.logStreamName ?? '').slice(job.length + 1);
          for (const line of (e.message ?? '').replace(/\n$/, '').split('\n')) out.push({ stream, line: `${new Date(e.timestamp ?? 0).toISOString()} ${line}`, t: e.timestamp ?? 0 });
        }
        token = page.nextToken;
      } while (token);
      // Events can arrive late by a little: look back a minute, the ids keep them unique.
      const latest = Math.max(startTime ?? 0, ...out.map((o) => o.t));
      if (latest) startTime = latest - 60_000;
      return out;
    },
    close: () => logs.destroy(),
  };
}

/**
 * The job's training output as `spotctl logs` reads it: `s3` (the local cloud's control bucket)
 * or `cloudwatch` (the log group); by default s3 for a local endpoint, cloudwatch otherwise.
 */
export function openLogSource(ctx: Context, job: string, options: { from?: 's3' | 'cloudwatch'; attempt?: number } = {}): Promise<LogSource> {
  const from = options.from ?? (ctx.local ? 's3' : 'cloudwatch');
  return from === 's3' ? s3Source(ctx, job, options.attempt) : cloudWatchSource(ctx, job, options.attempt);
}

export async function showLogs(ctx: Context, api: TrainingJobsClient, name: string, options: LogsOptions, io: Io): Promise<number> {
  // The job must exist: "Requested resource not found" reads better than an empty output.
  let job = await api.call<JobView>('DescribeTrainingJob', { TrainingJobName: name });
  const source = await openLogSource(ctx, name, { from: options.from, ...(options.attempt !== undefined ? { attempt: options.attempt } : {}) });
  let printedAny = false;
  const emit = async () => {
    for (const { stream, line } of await retrying(() => source.poll(), io.sleep)) {
      io.out(`[${stream}] ${line}\n`);
      printedAny = true;
    }
  };
  try {
    await emit();
    if (options.follow) {
      while (!isFinished(job)) {
        await io.sleep(options.intervalMs);
        await emit();
        job = await retrying(() => api.call<JobView>('DescribeTrainingJob', { TrainingJobName: name }), io.sleep);
      }
      // The last lines of the final attempt are uploaded as it ends.
      await io.sleep(Math.min(options.intervalMs, 1000));
      await emit();
      io.err(`spotctl logs: ${name} ended ${job.TrainingJobStatus} (${job.SecondaryStatus})\n`);
    }
    if (!printedAny) io.err(`spotctl logs: no training output for ${name} yet (${job.TrainingJobStatus}, ${job.SecondaryStatus})\n`);
    return 0;
  } finally {
    source.close();
  }
}
