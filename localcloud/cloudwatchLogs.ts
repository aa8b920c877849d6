import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { AwsServiceError, FieldReader, listenAwsJson, type ListeningServer } from './awsJsonServer.js';
import { compileFilterPattern } from './logFilterPattern.js';

/**
 * CloudWatch Logs for the local cloud: the JSON 1.1 API (`X-Amz-Target: Logs_20140328.*`) that
 * the AWS SDKs, the AWS CLI (`aws logs`) and the SageMaker Python SDK's `logs_for_job` speak.
 * Log groups, streams and events with CloudWatch's rules and errors; GetLogEvents tokens that
 * move forward and backward as CloudWatch's do (a forward token past the last event comes back
 * unchanged, which is how followers know they are at the end); FilterLogEvents across streams,
 * interleaved by time, with plain-term filter patterns.
 *
 * Memory is bounded whatever is logged: each stream keeps its latest `maxEventsPerStream` events
 * and `maxBytesPerStream` bytes, and past `maxStreams` (or `maxTotalBytes`) the streams that
 * were written longest ago are dropped, as a retention policy would. With `file`, the state is
 * loaded at start and written back at close.
 */
export interface CloudWatchLogsOptions {
  region: string;
  account: string;
  maxEventsPerStream?: number;
  maxBytesPerStream?: number;
  maxStreams?: number;
  maxTotalBytes?: number;
  /** Where the state is kept across restarts (JSON lines); none keeps it in memory only. */
  file?: string;
  now?: () => number;
  log?: (entry: Record<string, unknown>) => void;
}

interface StoredEvent {
  timestamp: number;
  /** Orders events of equal timestamp, across all streams: the order they were put. */
  seq: number;
  message: string;
  ingestionTime: number;
}

interface Stream {
  name: string;
  creationTime: number;
  /** Sorted by (timestamp, seq); the oldest are dropped past the caps. */
  events: StoredEvent[];
  bytes: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
}

interface Group {
  name: string;
  creationTime: number;
  streams: Map<string, Stream>;
}

/** CloudWatch counts each event as its UTF-8 message plus 26 bytes. */
const EVENT_OVERHEAD = 26;
const MAX_BATCH_BYTES = 1_048_576;
const MAX_EVENT_BYTES = 262_144;
const MAX_BATCH_EVENTS = 10_000;
const MAX_RESPONSE_BYTES = 1_048_576;
const DAY = 86_400_000;
const GROUP_NAME = /^[.\-_/#A-Za-z0-9]+$/;
const STREAM_NAME = /^[^:*]*$/;

const invalid = (message: string) => new AwsServiceError('InvalidParameterException', message);
const notFound = (what: 'log group' | 'log stream') => new AwsServiceError('ResourceNotFoundException', `The specified ${what} does not exist.`);

type Key = { timestamp: number; seq: number };
const before = (a: Key, b: Key) => a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq);
const pad = (n: number, width: number) => String(Math.max(0, Math.trunc(n))).padStart(width, '0');
/** `f/` or `b/` and 56 digits, as CloudWatch's tokens look: the timestamp and the sequence of an event boundary. */
const token = (direction: 'f' | 'b', key: Key) => `${direction}/${pad(key.timestamp, 20)}${pad(key.seq, 36)}`;

function parseToken(value: string): { direction: 'f' | 'b'; key: Key } {
  const match = /^([fb])\/(\d{20})(\d{36})$/.exec(value);
  if (!match) throw invalid('The specified nextToken is invalid.');
  return { direction: match[1] as 'f' | 'b', key: { timestamp: Number(match[2]), seq: Number(match[3]) } };
}

/** The index of the first event not before `key`. */
function lowerBound(events: StoredEvent[], key: Key): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(events[mid] as StoredEvent, key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const eventBytes = (message: string) => Buffer.byteLength(message, 'utf8') + EVENT_OVERHEAD;

export class CloudWatchLogsServer {
  private readonly groups = new Map<string, Group>();
  private seq = 0;
  private streamCount = 0;
  private totalBytes = 0;
  private readonly caps: { events: number; bytes: number; streams: number; total: number };
  private readonly now: () => number;

  constructor(private readonly options: CloudWatchLogsOptions) {
    this.caps = {
      events: options.maxEventsPerStream ?? 10_000,
      bytes: options.maxBytesPerStream ?? 8 * 1024 * 1024,
      streams: options.maxStreams ?? 5_000,
      total: options.maxTotalBytes ?? 256 * 1024 * 1024,
    };
    this.now = options.now ?? Date.now;
  }

  private arn(group: string, stream?: string): string {
    return `arn:aws:logs:${this.options.region}:${this.options.account}:log-group:${group}${stream === undefined ? ':*' : `:log-stream:${stream}`}`;
  }

  private group(input: Record<string, unknown>): Group {
    const fields = new FieldReader(input, invalid);
    const identifier = fields.string('logGroupIdentifier', { min: 1, max: 2048 });
    const name = fields.string('logGroupName', { required: identifier === undefined, min: 1, max: 512 }) ?? groupNameOf(identifier ?? '');
    if (identifier !== undefined && input.logGroupName !== undefined) throw invalid('LogGroup name and LogGroup ARN are mutually exclusive parameters.');
    const group = this.groups.get(name);
    if (!group) throw notFound('log group');
    return group;
  }

  private stream(group: Group, name: string): Stream {
    const stream = group.streams.get(name);
    if (!stream) throw notFound('log stream');
    return stream;
  }

  readonly operations = {
    CreateLogGroup: (input: Record<string, unknown>) => {
      const name = new FieldReader(input, invalid).string('logGroupName', { required: true, min: 1, max: 512, pattern: GROUP_NAME }) as string;
      if (this.groups.has(name)) throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log group already exists');
      this.groups.set(name, { name, creationTime: this.now(), streams: new Map() });
      return {};
    },
    DeleteLogGroup: (input: Record<string, unknown>) => {
      const group = this.group(input);
      for (const stream of group.streams.values()) this.forget(stream);
      this.groups.delete(group.name);
      return {};
    },
    DescribeLogGroups: (input: Record<string, unknown>) => {
      const fields = new FieldReader(input, invalid);
      const prefix = fields.string('logGroupNamePrefix', { min: 1, max: 512, pattern: GROUP_NAME });
      const pattern = fields.string('logGroupNamePattern', { min: 0, max: 512 });
      if (prefix !== undefined && pattern !== undefined) throw invalid('LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.');
      const limit = fields.number('limit', { min: 1, max: 50, integer: true }) ?? 50;
      const names = [...this.groups.keys()]
        .filter((n) => (prefix === undefined || n.startsWith(prefix)) && (pattern === undefined || n.toLowerCase().includes(pattern.toLowerCase())))
        .sort();
      const page = this.page(names, fields.string('nextToken'), limit);
      return {
        logGroups: page.items.map((n) => {
          const g = this.groups.get(n) as Group;
          const storedBytes = [...g.streams.values()].reduce((sum, s) => sum + s.bytes, 0);
          return { logGroupName: g.name, creationTime: g.creationTime, metricFilterCount: 0, arn: this.arn(g.name), logGroupArn: this.arn(g.name).slice(0, -2), storedBytes, logGroupClass: 'STANDARD' };
        }),
        ...(page.next ? { nextToken: page.next } : {}),
      };
    },
    CreateLogStream: (input: Record<string, unknown>) => {
      const fields = new FieldReader(input, invalid);
      const groupName = fields.string('logGroupName', { required: true, min: 1, max: 512 }) as string;
      const name = fields.string('logStreamName', { required: true, min: 1, max: 512, pattern: STREAM_NAME }) as string;
      const group = this.groups.get(groupName);
      if (!group) throw notFound('log group');
      if (group.streams.has(name)) throw new AwsServiceError('ResourceAlreadyExistsException', 'The specified log stream already exists');
      group.streams.set(name, { name, creationTime: this.now(), events: [], bytes: 0 });
      this.streamCount += 1;
      this.evictStreams();
      return {};
    },
    DeleteLogStream: (input: Record<string, unknown>) => {
      const group = this.group(input);
      const stream = this.stream(group, new FieldReader(input, invalid).string('logStreamName', { required: true, min: 1, max: 512 }) as string);
      this.forget(stream);
      group.streams.delete(stream.name);
      return {};
    },
    DescribeLogStreams: (input: Record<string, unknown>) => {
      const group = this.group(input);
      const fields = new FieldReader(input, invalid);
      const prefix = fields.string('logStreamNamePrefix', { min: 1, max: 512 });
      const orderBy = fields.string('orderBy') ?? 'LogStreamName';
      if (orderBy !== 'LogStreamName' && orderBy !== 'LastEventTime') {
        throw invalid(`1 validation error detected: Value '${orderBy}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]`);
      }
      if (orderBy === 'LastEventTime' && prefix !== undefined) throw invalid('Cannot order by LastEventTime with a logStreamNamePrefix.');
      const descending = fields.boolean('descending') ?? false;
      const limit = fields.number('limit', { min: 1, max: 50, integer: true }) ?? 50;
      const streams = [...group.streams.values()].filter((s) => prefix === undefined || s.name.startsWith(prefix));
      if (orderBy === 'LogStreamName') streams.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      else streams.sort((a, b) => (a.lastEventTimestamp ?? 0) - (b.lastEventTimestamp ?? 0) || (a.name < b.name ? -1 : 1));
      if (descending) streams.reverse();
      const page = this.page(streams, fields.string('nextToken'), limit);
      return {
        logStreams: page.items.map((s) => ({
          logStreamName: s.name,
          creationTime: s.creationTime,
          ...(s.firstEventTimestamp !== undefined ? { firstEventTimestamp: s.firstEventTimestamp, lastEventTimestamp: s.lastEventTimestamp, lastIngestionTime: s.lastIngestionTime } : {}),
          uploadSequenceToken: pad(s.events.length ? (s.events[s.events.length - 1] as StoredEvent).seq : 0, 56),
          arn: this.arn(group.name, s.name),
          storedBytes: 0,
        })),
        ...(page.next ? { nextToken: page.next } : {}),
      };
    },
    PutLogEvents: (input: Record<string, unknown>) => this.putLogEvents(input),
    GetLogEvents: (input: Record<string, unknown>) => this.getLogEvents(input),
    FilterLogEvents: (input: Record<string, unknown>) => this.filterLogEvents(input),
  };

  /** Offset pagination over a list computed per request: the token says where the next page starts. */
  private page<T>(items: T[], nextToken: string | undefined, limit: number): { items: T[]; next?: string } {
    let offset = 0;
    if (nextToken !== undefined) {
      const match = /^o\/(\d{1,9})$/.exec(nextToken);
      if (!match) throw invalid('The specified nextToken is invalid.');
      offset = Number(match[1]);
    }
    const slice = items.slice(offset, offset + limit);
    return offset + limit < items.length ? { items: slice, next: `o/${offset + limit}` } : { items: slice };
  }

  private putLogEvents(input: Record<string, unknown>) {
    const fields = new FieldReader(input, invalid);
    const groupName = fields.string('logGroupName', { required: true, min: 1, max: 512 }) as string;
    const streamName = fields.string('logStreamName', { required: true, min: 1, max: 512 }) as string;
    const raw = fields.list('logEvents', { min: 1, max: MAX_BATCH_EVENTS });
    if (!raw) throw invalid("1 validation error detected: Value null at 'logEvents' failed to satisfy constraint: Member must not be null");
    const events = raw.map((e, i) => {
      const event = (e ?? {}) as { timestamp?: unknown; message?: unknown };
      if (typeof event.timestamp !== 'number' || !Number.isInteger(event.timestamp)) throw invalid(`1 validation error detected: Value null at 'logEvents.${i + 1}.member.timestamp' failed to satisfy constraint: Member must not be null`);
      if (typeof event.message !== 'string' || event.message.length < 1) {
        throw invalid(`1 validation error detected: Value at 'logEvents.${i + 1}.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1`);
      }
      return { timestamp: event.timestamp, message: event.message, bytes: eventBytes(event.message) };
    });
    let batchBytes = 0;
    for (const [i, event] of events.entries()) {
      if (event.bytes > MAX_EVENT_BYTES) throw invalid(`Log event too large: ${event.bytes} bytes exceeds limit of ${MAX_EVENT_BYTES} (logEvents.${i + 1})`);
      batchBytes += event.bytes;
      if (i > 0 && event.timestamp < (events[i - 1] as { timestamp: number }).timestamp) {
        throw invalid('Log events in a single PutLogEvents request must be in chronological order.');
      }
    }
    if (batchBytes > MAX_BATCH_BYTES) throw invalid(`Upload too large: ${batchBytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
    if (events.length > 1 && (events[events.length - 1] as { timestamp: number }).timestamp - (events[0] as { timestamp: number }).timestamp > DAY) {
      throw invalid('The batch of log events in a single PutLogEvents request cannot span more than 24 hours.');
    }
    const group = this.groups.get(groupName);
    if (!group) throw notFound('log group');
    const stream = this.stream(group, streamName);
    // CloudWatch refuses events more than 2 hours ahead or 14 days behind, and says which.
    const now = this.now();
    let tooOld = -1;
    let tooNew = -1;
    events.forEach((e, i) => {
      if (e.timestamp < now - 14 * DAY) tooOld = i;
      if (e.timestamp > now + 2 * 3_600_000 && tooNew === -1) tooNew = i;
    });
    const accepted = events.filter((_, i) => i > tooOld && (tooNew === -1 || i < tooNew));
    for (const event of accepted) this.append(stream, { timestamp: event.timestamp, seq: ++this.seq, message: event.message, ingestionTime: now }, event.bytes);
    this.trim(stream);
    this.evictStreams();
    const rejected = { ...(tooOld >= 0 ? { tooOldLogEventEndIndex: tooOld } : {}), ...(tooNew >= 0 ? { tooNewLogEventStartIndex: tooNew } : {}) };
    return { nextSequenceToken: pad(this.seq, 56), ...(Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {}) };
  }

  private append(stream: Stream, event: StoredEvent, bytes: number): void {
    const last = stream.events[stream.events.length - 1];
    if (!last || !before(event, last)) stream.events.push(event);
    else stream.events.splice(lowerBound(stream.events, event), 0, event);
    stream.bytes += bytes;
    this.totalBytes += bytes;
    stream.firstEventTimestamp = Math.min(stream.firstEventTimestamp ?? event.timestamp, event.timestamp);
    stream.lastEventTimestamp = Math.max(stream.lastEventTimestamp ?? event.timestamp, event.timestamp);
    stream.lastIngestionTime = event.ingestionTime;
  }

  /** The stream's oldest events go first once it is over its caps. */
  private trim(stream: Stream): void {
    let drop = 0;
    let dropped = 0;
    while (stream.events.length - drop > this.caps.events || stream.bytes - dropped > this.caps.bytes) {
      dropped += eventBytes((stream.events[drop] as StoredEvent).message);
      drop += 1;
    }
    if (!drop) return;
    stream.events.splice(0, drop);
    stream.bytes -= dropped;
    this.totalBytes -= dropped;
  }

  private forget(stream: Stream): void {
    this.totalBytes -= stream.bytes;
    this.streamCount -= 1;
  }

  /** Past the stream or byte budget, the streams written longest ago are dropped whole. */
  private evictStreams(): void {
    if (this.streamCount <= this.caps.streams && this.totalBytes <= this.caps.total) return;
    const all = [...this.groups.values()].flatMap((g) => [...g.streams.values()].map((s) => ({ g, s })));
    all.sort((a, b) => (a.s.lastIngestionTime ?? a.s.creationTime) - (b.s.lastIngestionTime ?? b.s.creationTime));
    for (const { g, s } of all) {
      if (this.streamCount <= this.caps.streams && this.totalBytes <= this.caps.total) break;
      this.forget(s);
      g.streams.delete(s.name);
      this.options.log?.({ level: 'info', msg: 'local CloudWatch Logs: oldest stream dropped to stay within its memory budget', logGroupName: g.name, logStreamName: s.name });
    }
  }

  private getLogEvents(input: Record<string, unknown>) {
    const group = this.group(input);
    const fields = new FieldReader(input, invalid);
    const stream = this.stream(group, fields.string('logStreamName', { required: true, min: 1, max: 512 }) as string);
    const startTime = fields.number('startTime', { min: 0, integer: true });
    const endTime = fields.number('endTime', { min: 0, integer: true });
    const limit = fields.number('limit', { min: 1, max: 10_000, integer: true }) ?? 10_000;
    const startFromHead = fields.boolean('startFromHead') ?? false;
    const nextToken = fields.string('nextToken', { min: 1 });
    const events = stream.events;
    // The events in [startTime, endTime), as indexes [lo, hi).
    let lo = startTime === undefined ? 0 : lowerBound(events, { timestamp: startTime, seq: 0 });
    let hi = endTime === undefined ? events.length : lowerBound(events, { timestamp: endTime, seq: 0 });
    let forward = startFromHead;
    let boundary: Key | undefined;
    if (nextToken !== undefined) {
      const parsed = parseToken(nextToken);
      forward = parsed.direction === 'f';
      boundary = parsed.key;
      if (forward) lo = Math.max(lo, lowerBound(events, { timestamp: parsed.key.timestamp, seq: parsed.key.seq + 1 }));
      else hi = Math.min(hi, lowerBound(events, parsed.key));
    }
    const picked: StoredEvent[] = [];
    let bytes = 0;
    if (forward) {
      for (let i = lo; i < hi && picked.length < limit; i++) {
        const e = events[i] as StoredEvent;
        bytes += eventBytes(e.message);
        if (bytes > MAX_RESPONSE_BYTES && picked.length) break;
        picked.push(e);
      }
    } else {
      for (let i = hi - 1; i >= lo && picked.length < limit; i--) {
        const e = events[i] as StoredEvent;
        bytes += eventBytes(e.message);
        if (bytes > MAX_RESPONSE_BYTES && picked.length) break;
        picked.push(e);
      }
      picked.reverse();
    }
    const first = picked[0];
    const last = picked[picked.length - 1];
    // With nothing returned, a token comes back as it was given: the reader is at the end.
    const startKey: Key = boundary ?? (forward ? { timestamp: 0, seq: 0 } : (events[events.length - 1] ?? { timestamp: 0, seq: 0 }));
    const forwardKey = last ?? (forward ? startKey : { timestamp: startKey.timestamp, seq: Math.max(0, startKey.seq - 1) });
    const backwardKey = first ?? (forward ? { timestamp: startKey.timestamp, seq: startKey.seq + 1 } : startKey);
    return {
      events: picked.map((e) => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime })),
      nextForwardToken: token('f', forwardKey),
      nextBackwardToken: token('b', backwardKey),
    };
  }

  private filterLogEvents(input: Record<string, unknown>) {
    const group = this.group(input);
    const fields = new FieldReader(input, invalid);
    const names = fields.list('logStreamNames', { min: 1, max: 100 }) as string[] | undefined;
    const prefix = fields.string('logStreamNamePrefix', { min: 1, max: 512 });
    if (names && prefix !== undefined) throw invalid('logStreamNames and logStreamNamePrefix are mutually exclusive parameters.');
    const startTime = fields.number('startTime', { min: 0, integer: true }) ?? 0;
    const endTime = fields.number('endTime', { min: 0, integer: true });
    const limit = fields.number('limit', { min: 1, max: 10_000, integer: true }) ?? 10_000;
    const matches = compileFilterPattern(fields.string('filterPattern', { max: 1024 }) ?? '', invalid);
    const nextToken = fields.string('nextToken', { min: 1 });
    let after: Key = { timestamp: startTime, seq: -1 };
    if (nextToken !== undefined) {
      const match = /^e\/(\d{1,20})\/(\d{1,20})$/.exec(nextToken);
      if (!match) throw invalid('The specified nextToken is invalid.');
      after = { timestamp: Number(match[1]), seq: Number(match[2]) };
    }
    const streams = names
      ? names.map((n) => group.streams.get(n)).filter((s): s is Stream => s !== undefined)
      : [...group.streams.values()].filter((s) => prefix === undefined || s.name.startsWith(prefix));
    // Up to limit + 1 matches from each stream after the position; merged by time, the first `limit` are the page.
    const candidates: { stream: string; event: StoredEvent }[] = [];
    for (const stream of streams) {
      let found = 0;
      for (let i = lowerBound(stream.events, { timestamp: after.timestamp, seq: after.seq + 1 }); i < stream.events.length && found <= limit; i++) {
        const e = stream.events[i] as StoredEvent;
        if (endTime !== undefined && e.timestamp >= endTime) break;
        if (e.timestamp < startTime || !matches(e.message)) continue;
        candidates.push({ stream: stream.name, event: e });
        found += 1;
      }
    }
    candidates.sort((a, b) => (before(a.event, b.event) ? -1 : before(b.event, a.event) ? 1 : 0));
    const page: typeof candidates = [];
    let bytes = 0;
    for (const c of candidates) {
      if (page.length >= limit) break;
      bytes += eventBytes(c.event.message);
      if (bytes > MAX_RESPONSE_BYTES && page.length) break;
      page.push(c);
    }
    const last = page[page.length - 1];
    return {
      events: page.map(({ stream, event }) => ({
        logStreamName: stream,
        timestamp: event.timestamp,
        message: event.message,
        ingestionTime: event.ingestionTime,
        eventId: pad(event.seq, 56),
      })),
      searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: true })),
      ...(last && page.length < candidates.length ? { nextToken: `e/${last.event.timestamp}/${last.event.seq}` } : {}),
    };
  }

  /** Loads the state a previous run wrote (the caps still apply). */
  async load(): Promise<void> {
    const file = this.options.file;
    if (!file || !(await stat(file).catch(() => undefined))) return;
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let group: Group | undefined;
    let stream: Stream | undefined;
    for await (const line of lines) {
      if (!line) continue;
      const record = JSON.parse(line) as { g?: string; s?: string; c?: number; e?: [number, number, string, number] };
      if (record.g !== undefined) {
        group = { name: record.g, creationTime: record.c ?? this.now(), streams: new Map() };
        this.groups.set(group.name, group);
      } else if (record.s !== undefined && group) {
        stream = { name: record.s, creationTime: record.c ?? this.now(), events: [], bytes: 0 };
        group.streams.set(stream.name, stream);
        this.streamCount += 1;
      } else if (record.e && stream) {
        const [timestamp, seq, message, ingestionTime] = record.e;
        this.seq = Math.max(this.seq, seq);
        this.append(stream, { timestamp, seq, message, ingestionTime }, eventBytes(message));
        this.trim(stream);
      }
    }
    this.evictStreams();
  }

  /** Writes the state, a line per group, stream and event, to a new file that then replaces the old. */
  async save(): Promise<void> {
    const file = this.options.file;
    if (!file) return;
    await mkdir(dirname(file), { recursive: true });
    const partial = `${file}.partial`;
    const out = createWriteStream(partial, 'utf8');
    const write = async (record: unknown) => {
      if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
    };
    for (const g of this.groups.values()) {
      await write({ g: g.name, c: g.creationTime });
      for (const s of g.streams.values()) {
        await write({ s: s.name, c: s.creationTime });
        for (const e of s.events) await write({ e: [e.timestamp, e.seq, e.message, e.ingestionTime] });
      }
    }
    out.end();
    await once(out, 'finish');
    await rename(partial, file);
  }

  async listen(port: number, host = '127.0.0.1'): Promise<ListeningServer> {
    await this.load();
    const server = await listenAwsJson(
      { targetPrefix: 'Logs_20140328', jsonVersion: '1.1', operations: this.operations, maxBodyBytes: 2 * MAX_BATCH_BYTES, ...(this.options.log ? { log: this.options.log } : {}) },
      port,
      host,
    );
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await this.save();
      },
    };
  }
}

/** `arn:aws:logs:<region>:<account>:log-group:<name>[:*]`, or a plain name. */
function groupNameOf(identifier: string): string {
  const match = /^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$/.exec(identifier);
  return match ? (match[1] as string) : identifier;
}
