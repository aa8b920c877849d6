import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  type CloudWatchLogsClient,
  type InputLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import { trainingLogStream } from '../shared/trainingLogs.js';

/**
 * The training output of one instance in one attempt, shipped to CloudWatch Logs as SageMaker
 * ships it: group /aws/sagemaker/TrainingJobs, stream `<job>/algo-<host>-<epoch seconds>`
 * (shared/trainingLogs.ts), the epoch being when this log was started.
 *
 * Lines are queued with their time and sent by `flush()` in PutLogEvents batches within
 * CloudWatch's limits: at most 10,000 events and 1,048,576 bytes (each event's UTF-8 message
 * plus 26 bytes), spanning at most 24 hours, in time order; a line longer than an event may be
 * is split. A full batch is sent without waiting for the next flush. Memory stays bounded while
 * CloudWatch Logs cannot be reached: past `maxBufferedBytes` the oldest lines are dropped, and
 * the stream later says how many.
 */
export interface TrainingLogOptions {
  client: CloudWatchLogsClient;
  /** Normally TRAINING_LOG_GROUP; created if it does not exist yet, as SageMaker's first job in an account does. */
  group: string;
  jobName: string;
  /** The instance's 1-based place among the attempt's instances (algo-<host>). */
  host: number;
  /** Epoch milliseconds; Date.now by default. */
  now?: () => number;
  /** Each line as it comes, also (the instance's own console: journald on EC2). */
  print?: (line: string) => void;
  /** What may wait for CloudWatch Logs at most; default 16 MiB. */
  maxBufferedBytes?: number;
}

/** CloudWatch counts each event as its UTF-8 message plus 26 bytes. */
export const EVENT_OVERHEAD_BYTES = 26;
export const MAX_BATCH_BYTES = 1_048_576;
export const MAX_BATCH_EVENTS = 10_000;
/** The largest event CloudWatch takes, overhead included. */
export const MAX_EVENT_BYTES = 262_144;
const MAX_BATCH_SPAN_MS = 24 * 3_600_000;
const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const TAIL_LINES = 20;
const TAIL_CHARS = 1024;

interface Pending {
  timestamp: number;
  message: string;
  /** The message's UTF-8 bytes plus the overhead: what the event costs in a batch. */
  bytes: number;
  /** Set on the notice of dropped lines: what it reports, counted again should it not get through. */
  notice?: Dropped;
}

interface Dropped {
  lines: number;
  bytes: number;
  reason: string;
}

/** `text` in pieces of at most `maxBytes` UTF-8 bytes, never splitting a character. */
function splitUtf8(text: string, maxBytes: number): string[] {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return [text];
  const pieces: string[] = [];
  for (let start = 0; start < buffer.length; ) {
    let end = Math.min(buffer.length, start + maxBytes);
    // Back off continuation bytes (10xxxxxx) so that the piece ends on a character boundary.
    while (end < buffer.length && end > start && ((buffer[end] as number) & 0xc0) === 0x80) end--;
    pieces.push(buffer.subarray(start, end).toString('utf8'));
    start = end;
  }
  return pieces;
}

const errorName = (error: unknown) => (error as { name?: string } | null)?.name;
const describe = (error: unknown) => `${errorName(error) ?? 'Error'}: ${error instanceof Error ? error.message : String(error)}`;

export class TrainingLog {
  /** The stream this log writes, `<job>/algo-<host>-<epoch seconds>`. */
  readonly stream: string;
  private readonly now: () => number;
  private readonly maxBufferedBytes: number;
  /** Queued events are queue[head…]; the consumed front is cut off now and then, not shifted per event. */
  private queue: Pending[] = [];
  private head = 0;
  private queuedBytes = 0;
  private lastTimestamp = 0;
  private readonly tail: string[] = [];
  private dropped: Dropped = { lines: 0, bytes: 0, reason: '' };
  private streamReady = false;
  private flushing: Promise<void> = Promise.resolve();
  /** A flush started because a full batch was waiting, not yet ended. */
  private early = false;
  /** Why the last batch did not get through; cleared when one does. Full batches then wait for the next flush. */
  private failure?: string;

  constructor(private readonly options: TrainingLogOptions) {
    if (!Number.isInteger(options.host) || options.host < 1) throw new RangeError(`host must be a 1-based instance index, got ${options.host}`);
    this.now = options.now ?? Date.now;
    this.maxBufferedBytes = Math.max(MAX_BATCH_BYTES, options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
    this.stream = trainingLogStream(options.jobName, options.host, this.now());
  }

  /** Queues a line of output (no trailing newline) with the time it came. */
  line(message: string): void {
    this.tail.push(message);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.options.print?.(message);
    // CloudWatch refuses empty messages; a blank line carries nothing.
    if (message === '') return;
    // Events must be in time order; a clock that steps back does not reorder them.
    const timestamp = Math.max(this.now(), this.lastTimestamp);
    this.lastTimestamp = timestamp;
    for (const piece of splitUtf8(message, MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES)) {
      this.enqueue({ timestamp, message: piece, bytes: Buffer.byteLength(piece, 'utf8') + EVENT_OVERHEAD_BYTES });
    }
    this.dropOverflow(this.failure ? `CloudWatch Logs could not be reached (${this.failure})` : 'more output than CloudWatch Logs took in time');
    if ((this.pending >= MAX_BATCH_EVENTS || this.queuedBytes >= MAX_BATCH_BYTES) && !this.early && !this.failure) {
      this.early = true;
      void this.flush()
        .catch(() => undefined)
        .finally(() => (this.early = false));
    }
  }

  /** The last lines of output, for a FailureReason: at most 20 lines and 1024 characters. */
  lastLines(): string {
    return this.tail.join('\n').slice(-TAIL_CHARS);
  }

  /** Events waiting to be sent (and not dropped). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /**
   * Sends everything queued so far, a batch at a time; one flush runs at a time. On failure the
   * unsent lines stay queued for the next flush, and the error is thrown.
   */
  flush(): Promise<void> {
    const run = this.flushing.catch(() => undefined).then(() => this.drain());
    this.flushing = run;
    return run;
  }

  private enqueue(event: Pending): void {
    this.queue.push(event);
    this.queuedBytes += event.bytes;
  }

  /** Advances the front past `count` events and returns them. */
  private consume(count: number): Pending[] {
    const taken = this.queue.slice(this.head, this.head + count);
    this.head += taken.length;
    for (const event of taken) this.queuedBytes -= event.bytes;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return taken;
  }

  private dropOverflow(reason: string): void {
    let count = 0;
    let bytes = this.queuedBytes;
    while (bytes > this.maxBufferedBytes && this.head + count < this.queue.length) {
      bytes -= (this.queue[this.head + count] as Pending).bytes;
      count += 1;
    }
    if (!count) return;
    for (const oldest of this.consume(count)) {
      this.dropped.lines += 1;
      this.dropped.bytes += oldest.bytes - EVENT_OVERHEAD_BYTES;
    }
    this.dropped.reason = reason;
  }

  /** The next batch, taken off the queue: a notice of dropped lines first, if lines were dropped. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    const first = this.queue[this.head];
    if (this.dropped.lines && first) {
      const notice = this.dropped;
      const message = `[agent] ${notice.lines} line${notice.lines === 1 ? '' : 's'} (${notice.bytes} bytes) of training output dropped: ${notice.reason}`;
      this.options.print?.(message);
      batch.push({ timestamp: first.timestamp, message, bytes: Buffer.byteLength(message, 'utf8') + EVENT_OVERHEAD_BYTES, notice });
      bytes += (batch[0] as Pending).bytes;
      this.dropped = { lines: 0, bytes: 0, reason: '' };
    }
    let count = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const event = this.queue[i] as Pending;
      if (batch.length + count >= MAX_BATCH_EVENTS || bytes + event.bytes > MAX_BATCH_BYTES) break;
      if (event.timestamp - (batch[0] ?? first ?? event).timestamp > MAX_BATCH_SPAN_MS) break;
      bytes += event.bytes;
      count += 1;
    }
    batch.push(...this.consume(count));
    return batch;
  }

  /** A batch that could not be sent goes back to the front; a notice in it is counted again instead. */
  private putBack(batch: Pending[], error: unknown): void {
    const events = batch.filter((event) => {
      if (!event.notice) return true;
      this.dropped = { lines: this.dropped.lines + event.notice.lines, bytes: this.dropped.bytes + event.notice.bytes, reason: this.dropped.reason || event.notice.reason };
      return false;
    });
    this.queue = [...events, ...this.queue.slice(this.head)];
    this.head = 0;
    this.queuedBytes += events.reduce((sum, e) => sum + e.bytes, 0);
    this.failure = describe(error);
    this.dropOverflow(`CloudWatch Logs could not be reached (${this.failure})`);
  }

  private async drain(): Promise<void> {
    while (this.pending > 0) {
      try {
        await this.ensureStream();
      } catch (error) {
        this.failure = describe(error);
        throw error;
      }
      const batch = this.takeBatch();
      try {
        const sent = await this.options.client.send(
          new PutLogEventsCommand({
            logGroupName: this.options.group,
            logStreamName: this.stream,
            logEvents: batch.map(({ timestamp, message }): InputLogEvent => ({ timestamp, message })),
          }),
        );
        this.failure = undefined;
        const rejected = sent.rejectedLogEventsInfo;
        const refused = batch.filter(
          (_, i) => i <= (rejected?.tooOldLogEventEndIndex ?? -1) || i <= (rejected?.expiredLogEventEndIndex ?? -1) || i >= (rejected?.tooNewLogEventStartIndex ?? batch.length),
        );
        for (const event of refused) {
          this.dropped.lines += 1;
          this.dropped.bytes += event.bytes - EVENT_OVERHEAD_BYTES;
          this.dropped.reason = 'CloudWatch Logs refused them as too old or too far ahead';
        }
      } catch (error) {
        // The stream (or the group) may have been deleted: it is made again on the next try.
        if (errorName(error) === 'ResourceNotFoundException') this.streamReady = false;
        this.putBack(batch, error);
        throw error;
      }
    }
  }

  private async ensureStream(): Promise<void> {
    if (this.streamReady) return;
    const { client, group } = this.options;
    const createStream = () => client.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: this.stream }));
    try {
      await createStream();
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') {
        await client.send(new CreateLogGroupCommand({ logGroupName: group })).catch((e: unknown) => {
          if (errorName(e) !== 'ResourceAlreadyExistsException') throw e;
        });
        await createStream().catch((e: unknown) => {
          if (errorName(e) !== 'ResourceAlreadyExistsException') throw e;
        });
      } else if (errorName(error) !== 'ResourceAlreadyExistsException') {
        throw error;
      }
    }
    this.streamReady = true;
  }
}
