import type { OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { parseTrainingLogStream, trainingLogStreamPrefix } from '../shared/trainingLogs.js';
import type { TrainingJobsClient } from './apiClient.js';
import type { Context } from './context.js';
import type { Io } from './io.js';
import { isFinished, retrying, type JobView } from './job.js';

/**
 * `spotctl logs <job> [--follow]`: the training output of every instance and attempt, read
 * where SageMaker puts it, on AWS and on the local cloud alike: CloudWatch Logs group
 * /aws/sagemaker/TrainingJobs (--log-group), a stream per instance and start,
 * `<job>/algo-<n>-<epoch seconds>`. The streams are found as the SageMaker Python SDK finds
 * them (DescribeLogStreams with the prefix `<job>/`), each is read from its head with
 * GetLogEvents and its forward token, and their events are interleaved by time.
 */
export interface LogsOptions {
  follow: boolean;
  attempt?: number;
  intervalMs: number;
}

export interface LogLine {
  /** The stream's name without the job: `algo-1-1764583200`. */
  stream: string;
  /** The event's time (ISO 8601), a space, and one line of its message. */
  line: string;
}

export interface LogSource {
  /** New lines since the last call, interleaved by time across the streams; at most MAX_POLL_LINES. */
  poll(): Promise<LogLine[]>;
  /** The last poll stopped short of the end: poll again without waiting. */
  readonly behind: boolean;
  close(): void;
}

/** Lines a poll returns at most, so that memory stays bounded however long the log. */
export const MAX_POLL_LINES = 10_000;

interface StreamState {
  name: string;
  label: string;
  /** Epoch seconds the stream was started, from its name. */
  startedAt?: number;
  token?: string;
  /** Read but not yet returned, oldest first. */
  buffered: OutputLogEvent[];
  /** This poll found nothing more in the stream. */
  atEnd: boolean;
}

/**
 * The job's training output. `streams` picks the streams to read by their start (epoch
 * seconds; all by default), asked anew at each poll.
 */
export async function openLogSource(ctx: Context, job: string, options: { streams?: (startedAt: number | undefined) => boolean } = {}): Promise<LogSource> {
  const logs = await ctx.cloudWatchLogs();
  const { DescribeLogStreamsCommand, GetLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const group = ctx.logGroup();
  const prefix = trainingLogStreamPrefix(job);
  const known = new Map<string, StreamState>();
  let behind = false;

  const discover = async () => {
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await logs.send(new DescribeLogStreamsCommand({ logGroupName: group, logStreamNamePrefix: prefix, ...(nextToken ? { nextToken } : {}) }));
      } catch (error) {
        // No group until the first training output in the account (or the region), as on SageMaker.
        if ((error as Error).name === 'ResourceNotFoundException') return;
        throw error;
      }
      for (const s of page.logStreams ?? []) {
        const name = s.logStreamName ?? '';
        if (!name || known.has(name)) continue;
        const parsed = parseTrainingLogStream(name);
        known.set(name, { name, label: name.slice(prefix.length), ...(parsed.ok ? { startedAt: parsed.value.startedAt } : {}), buffered: [], atEnd: false });
      }
      nextToken = page.nextToken;
    } while (nextToken);
  };

  /** The stream's next page; an unchanged forward token says it is at its end for now. */
  const refill = async (stream: StreamState) => {
    const page = await logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream.name, startFromHead: true, ...(stream.token ? { nextToken: stream.token } : {}) }));
    // CloudWatch may answer a page with no events and a new token before the end: only the token says.
    stream.atEnd = page.nextForwardToken === undefined || page.nextForwardToken === stream.token;
    stream.token = page.nextForwardToken ?? stream.token;
    stream.buffered.push(...(page.events ?? []));
  };

  return {
    get behind() {
      return behind;
    },
    async poll() {
      const out: LogLine[] = [];
      try {
        await discover();
        const streams = [...known.values()].filter((s) => options.streams?.(s.startedAt) ?? true).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const s of streams) s.atEnd = false;
        behind = false;
        for (;;) {
          // An event is returned only once every stream that may have an earlier one has been read.
          const empty = streams.filter((s) => !s.buffered.length && !s.atEnd);
          for (const s of empty) await refill(s);
          if (empty.length) continue;
          const ready = streams.filter((s) => s.buffered.length);
          if (!ready.length) break;
          if (out.length >= MAX_POLL_LINES) {
            behind = true;
            break;
          }
          let next = ready[0] as StreamState;
          for (const s of ready) if ((s.buffered[0]?.timestamp ?? 0) < (next.buffered[0]?.timestamp ?? 0)) next = s;
          const event = next.buffered.shift() as OutputLogEvent;
          const time = new Date(event.timestamp ?? 0).toISOString();
          for (const line of (event.message ?? '').replace(/\n$/, '').split('\n')) out.push({ stream: next.label, line: `${time} ${line}` });
        }
      } catch (error) {
        // What was read stays read: the lines taken so far are returned, the rest comes next time.
        if (!out.length) throw error;
        behind = true;
      }
      return out;
    },
    close: () => logs.destroy(),
  };
}

/** Attempt `n`'s streams: those started from its request until the next attempt's. */
export function attemptStreams(job: JobView, n: number): (startedAt: number | undefined) => boolean {
  return (startedAt) => {
    const attempts = job.Attempts ?? [];
    const from = attempts.find((a) => a.AttemptNumber === n)?.RequestedTime;
    const until = attempts.find((a) => a.AttemptNumber === n + 1)?.RequestedTime;
    if (from === undefined || startedAt === undefined) return false;
    return startedAt >= Math.floor(from) && (until === undefined || startedAt < until);
  };
}

export async function showLogs(ctx: Context, api: TrainingJobsClient, name: string, options: LogsOptions, io: Io): Promise<number> {
  // The job must exist: "Requested resource not found" reads better than an empty output.
  let job = await api.call<JobView>('DescribeTrainingJob', { TrainingJobName: name });
  const attempt = options.attempt;
  const source = await openLogSource(ctx, name, attempt === undefined ? {} : { streams: (startedAt) => attemptStreams(job, attempt)(startedAt) });
  let printedAny = false;
  const emit = async () => {
    do {
      for (const { stream, line } of await retrying(() => source.poll(), io.sleep)) {
        io.out(`[${stream}] ${line}\n`);
        printedAny = true;
      }
    } while (source.behind);
  };
  try {
    await emit();
    if (options.follow) {
      while (!isFinished(job)) {
        await io.sleep(options.intervalMs);
        await emit();
        job = await retrying(() => api.call<JobView>('DescribeTrainingJob', { TrainingJobName: name }), io.sleep);
      }
      // The last lines of the final attempt are shipped as it ends.
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
