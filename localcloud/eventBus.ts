/**
 * The local cloud's EventBridge: the default event bus of one account and region, with rules
 * whose targets are in-process functions, and an HTTP server speaking PutEvents in AWS's JSON
 * 1.1 protocol, so that `aws events put-events --endpoint-url …` and the SDK's
 * PutEventsCommand work against it unchanged.
 *
 * Differences from AWS, on purpose:
 * - sources starting with `aws.` are accepted (the local cloud plays EC2 and S3); pass
 *   `refuseAwsSources` to refuse them as AWS does;
 * - a failing target is retried `maxDeliveryAttempts` times, `retryDelayMs` apart (AWS: up to
 *   185 times over 24 hours with backoff), then its event goes to `deadLetters()`;
 * - only the default bus has rules. An entry for another bus gets an EventId and is dropped,
 *   as AWS does for a bus that does not exist (it answers success, see aws/aws-cli#9186), but
 *   the drop is logged as a warning so that a misnamed bus is noticed;
 * - SigV4 signatures are neither required nor checked.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { matchesPattern, validatePattern } from './eventPattern.js';
import { SpotTrainingError } from '../shared/errors.js';

/** What rule targets receive: EventBridge's event envelope. */
export interface EventBridgeEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601 UTC with second precision, e.g. `2026-11-27T10:15:00Z`. */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** One PutEvents request entry, as the SDK and the wire have it. */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  /** A JSON object, as a string. */
  Detail?: string;
  Resources?: string[];
  /** A Date, an ISO 8601 string, or epoch seconds (how the JSON protocol sends timestamps). */
  Time?: Date | string | number;
  EventBusName?: string;
  TraceHeader?: string;
}

export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export interface PutEventsResult {
  FailedEntryCount: number;
  Entries: PutEventsResultEntry[];
}

export interface EventBusRule {
  name: string;
  pattern: Record<string, unknown>;
  target: (event: EventBridgeEnvelope) => Promise<unknown>;
}

export interface DeadLetter {
  rule: string;
  event: EventBridgeEnvelope;
  error: string;
}

export interface LocalEventBusOptions {
  region: string;
  account: string;
  /** Attempts per event and rule, the first included. Default 3. */
  maxDeliveryAttempts?: number;
  /** Wait between two attempts. Default 200 ms. */
  retryDelayMs?: number;
  /** Refuse `aws.*` sources with NotAuthorizedForSourceException, as AWS does. Default false. */
  refuseAwsSources?: boolean;
  /** Structured log of retries, dead letters and dropped events. Default: JSON lines on stderr. */
  log?: (entry: Record<string, unknown>) => void;
}

/** A failure of the whole request (not of one entry), with the AWS error type it is sent as. */
export class EventBridgeError extends SpotTrainingError {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = code;
  }
}

const MAX_ENTRIES = 10;
/** AWS's limit on the summed size of a request's entries, computed as AWS documents it. */
const MAX_ENTRIES_BYTES = 256 * 1024;
/** Larger HTTP bodies are refused before being parsed. */
const MAX_BODY_BYTES = 1024 * 1024;

// Types are checked as AWS's JSON protocol does: a field of the wrong type fails the whole
// request with a SerializationException. Null counts as absent; unknown fields are ignored.
const entrySchema = z.object({
  Source: z.string().nullish(),
  DetailType: z.string().nullish(),
  Detail: z.string().nullish(),
  Resources: z.array(z.string()).nullish(),
  Time: z.union([z.date(), z.string(), z.number()]).nullish(),
  EventBusName: z.string().nullish(),
  TraceHeader: z.string().nullish(),
});
type Entry = Omit<z.infer<typeof entrySchema>, 'Time'> & { Time?: Date };

export class LocalEventBus {
  private readonly region: string;
  private readonly account: string;
  private readonly maxDeliveryAttempts: number;
  private readonly retryDelayMs: number;
  private readonly refuseAwsSources: boolean;
  private readonly log: (entry: Record<string, unknown>) => void;
  private readonly rules: EventBusRule[] = [];
  private readonly deadLetterList: DeadLetter[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(options: LocalEventBusOptions) {
    const { maxDeliveryAttempts = 3, retryDelayMs = 200 } = options;
    if (!Number.isInteger(maxDeliveryAttempts) || maxDeliveryAttempts < 1) throw new Error(`maxDeliveryAttempts must be an integer ≥ 1, got ${maxDeliveryAttempts}`);
    if (!(retryDelayMs >= 0)) throw new Error(`retryDelayMs must be ≥ 0, got ${retryDelayMs}`);
    this.region = options.region;
    this.account = options.account;
    this.maxDeliveryAttempts = maxDeliveryAttempts;
    this.retryDelayMs = retryDelayMs;
    this.refuseAwsSources = options.refuseAwsSources ?? false;
    this.log = options.log ?? ((entry) => console.error(JSON.stringify(entry)));
  }

  addRule(rule: EventBusRule): void {
    const problem = validatePattern(rule.pattern);
    if (problem) throw new Error(`Rule ${rule.name}: event pattern is not valid: ${problem}`);
    if (this.rules.some((existing) => existing.name === rule.name)) throw new Error(`Rule ${rule.name} already exists`);
    this.rules.push(rule);
  }

  /** Events whose delivery to a rule failed on every attempt, oldest first. */
  deadLetters(): DeadLetter[] {
    return [...this.deadLetterList];
  }

  /**
   * PutEvents. Whole-request problems (entry count, total size, field types) throw an
   * EventBridgeError; an invalid entry fails alone, with AWS's ErrorCode, and the others go
   * through. Matching rules' targets run after this has answered.
   */
  async putEvents(entries: readonly PutEventsEntry[]): Promise<PutEventsResult> {
    // Everything below runs synchronously up to the deliveries being counted in flight, so
    // that an event put by a target, even without awaiting, keeps idle() from resolving.
    if (!Array.isArray(entries)) throw new EventBridgeError('SerializationException', 'Entries must be a list');
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      const constraint = entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`;
      throw new EventBridgeError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${constraint}`);
    }
    const parsed = entries.map((entry, i) => {
      const result = entrySchema.safeParse(entry);
      if (result.success) return { ...result.data, Time: result.data.Time == null ? undefined : toDate(result.data.Time, i) };
      const issue = result.error.issues[0];
      throw new EventBridgeError('SerializationException', `Entries[${i}]${issue?.path.map((p) => `.${String(p)}`).join('') ?? ''}: ${issue?.message ?? 'invalid entry'}`);
    });
    if (parsed.reduce((total, entry) => total + entrySize(entry), 0) > MAX_ENTRIES_BYTES) {
      throw new EventBridgeError('ValidationException', 'Total size of the entries in the request is over the limit.');
    }

    const results = parsed.map((entry) => this.accept(entry));
    return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
  }

  /** Resolves when no delivery is in flight: retries and events put by targets included. */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Serves PutEvents over HTTP on `host:port` (0: any free port, see `url`). */
  async listen(port: number, host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
    const server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port: actualPort } = server.address() as AddressInfo;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          server.close((err) => (err ? reject(err) : resolve()));
          // SDK clients keep connections alive; without this, close() waits for them to time out.
          server.closeAllConnections();
        }),
    };
  }

  private accept(entry: Entry): PutEventsResultEntry {
    const checked = checkEntry(entry, this.refuseAwsSources);
    if ('failure' in checked) return checked.failure;
    const id = randomUUID();
    const event: EventBridgeEnvelope = {
      version: '0',
      id,
      'detail-type': checked.detailType,
      source: checked.source,
      account: this.account,
      time: isoSeconds(entry.Time ?? new Date()),
      region: this.region,
      resources: entry.Resources ?? [],
      detail: checked.detail,
    };
    if (!this.isDefaultBus(entry.EventBusName)) {
      this.log({ level: 'warn', message: 'event for an unknown event bus dropped (AWS drops it too)', eventBusName: entry.EventBusName, eventId: id, source: event.source, detailType: event['detail-type'] });
      return { EventId: id };
    }
    for (const rule of this.rules) {
      if (matchesPattern(rule.pattern, event as unknown as Record<string, unknown>)) this.track(this.deliver(rule, event));
    }
    return { EventId: id };
  }

  private isDefaultBus(name: string | null | undefined): boolean {
    return name == null || name === 'default' || name === `arn:aws:events:${this.region}:${this.account}:event-bus/default`;
  }

  private track(delivery: Promise<void>): void {
    this.inFlight++;
    void delivery.finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /** Never rejects: a target's failures end in the dead-letter list. */
  private async deliver(rule: EventBusRule, event: EventBridgeEnvelope): Promise<void> {
    // Let PutEvents answer before any target runs, as on AWS.
    await new Promise((resolve) => setImmediate(resolve));
    for (let attempt = 1; ; attempt++) {
      try {
        // A copy per attempt: a target mutating its event must not change what others get.
        await rule.target(structuredClone(event));
        return;
      } catch (err) {
        const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        const context = { rule: rule.name, eventId: event.id, source: event.source, detailType: event['detail-type'], attempt, error };
        if (attempt >= this.maxDeliveryAttempts) {
          this.deadLetterList.push({ rule: rule.name, event, error });
          this.log({ level: 'error', message: `event delivery failed ${attempt} times; sent to the dead-letter list`, ...context });
          return;
        }
        this.log({ level: 'warn', message: 'event delivery failed; retrying', retryInMs: this.retryDelayMs, ...context });
        await sleep(this.retryDelayMs);
      }
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const send = (status: number, body: unknown) => {
      const payload = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/x-amz-json-1.1',
        'Content-Length': Buffer.byteLength(payload),
        'x-amzn-RequestId': requestId,
      });
      res.end(payload);
    };
    const fail = (status: number, type: string, message: string) => send(status, { __type: type, message });
    try {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === undefined) return fail(413, 'RequestEntityTooLargeException', `Request body is larger than ${MAX_BODY_BYTES} bytes`);
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
        return fail(400, 'UnknownOperationException', `Only POST with X-Amz-Target AWSEvents.PutEvents is supported, got ${req.method} with ${target ?? 'no X-Amz-Target'}`);
      }
      let request: unknown;
      try {
        request = JSON.parse(body.toString('utf8'));
      } catch (err) {
        return fail(400, 'SerializationException', `Request body is not valid JSON: ${(err as Error).message}`);
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) return fail(400, 'SerializationException', 'Request body must be a JSON object');
      const entries = (request as { Entries?: unknown }).Entries;
      if (entries == null) return fail(400, 'ValidationException', "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
      send(200, await this.putEvents(entries as PutEventsEntry[]));
    } catch (err) {
      if (err instanceof EventBridgeError) return fail(err.statusCode, err.code, err.message);
      this.log({ level: 'error', message: 'PutEvents failed', requestId, error: String(err) });
      fail(500, 'InternalException', 'Internal error');
    }
  }
}

/** The entry's required fields, Detail parsed, or why AWS would fail this entry alone (as its result entry). */
function checkEntry(
  entry: Entry,
  refuseAwsSources: boolean,
): { source: string; detailType: string; detail: Record<string, unknown> } | { failure: PutEventsResultEntry } {
  const invalid = (field: string) => ({ failure: { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.` } });
  if (!entry.Source) return invalid('Source');
  if (!entry.DetailType) return invalid('DetailType');
  if (!entry.Detail) return invalid('Detail');
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { failure: { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' } };
  if (refuseAwsSources && entry.Source.startsWith('aws.')) return { failure: { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' } };
  return { source: entry.Source, detailType: entry.DetailType, detail: detail as Record<string, unknown> };
}

/** An entry's size as AWS counts it against the 256 KB limit (its "Calculating PutEvents event entry size"). */
function entrySize(entry: Entry): number {
  const bytes = (s: string | null | undefined) => (s ? Buffer.byteLength(s, 'utf8') : 0);
  return (entry.Time == null ? 0 : 14) + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail) + (entry.Resources ?? []).reduce((sum, r) => sum + bytes(r), 0);
}

function toDate(time: Date | string | number, index: number): Date {
  const date = time instanceof Date ? time : typeof time === 'number' ? new Date(time * 1000) : new Date(time);
  if (Number.isNaN(date.getTime())) throw new EventBridgeError('SerializationException', `Entries[${index}].Time is not a valid timestamp: ${JSON.stringify(time)}`);
  return date;
}

/** `2026-11-27T10:15:00Z`: EventBridge's `time` has second precision. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The body, or undefined when it exceeds `limit` (then drained, not kept, so the answer can be read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}
