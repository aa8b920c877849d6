import { CloudWatchLogsClient, DescribeLogStreamsCommand, GetLogEventsCommand, type OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES, EVENT_OVERHEAD_BYTES, TrainingLog } from '../../agent/logs.js';
import { CloudWatchLogsServer } from '../../localcloud/cloudwatchLogs.js';
import { parseTrainingLogStream, TRAINING_LOG_GROUP } from '../../shared/trainingLogs.js';

/**
 * The agent's training log (agent/logs.ts) against the local CloudWatch Logs server, which
 * refuses what CloudWatch refuses: batches over 10,000 events or 1,048,576 bytes, events out of
 * time order, events over 256 KiB, streams in a group that does not exist.
 */
const REGION = 'us-east-1';
const T0 = Date.parse('2026-12-02T10:00:00Z');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server and a client; `offline` makes every request fail as an unreachable endpoint does, `calls` counts PutLogEvents. */
async function start() {
  // Room for every event the tests put (the server keeps the newest 10,000 per stream by default).
  const server = new CloudWatchLogsServer({ region: REGION, account: '000000000000', now: () => T0, maxEventsPerStream: 100_000 });
  const listening = await server.listen(0);
  const client = new CloudWatchLogsClient({ region: REGION, endpoint: listening.url, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  const state = { offline: false, puts: [] as number[] };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (state.offline) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1'), { code: 'ECONNREFUSED' });
      if (context.commandName === 'PutLogEventsCommand') state.puts.push(((args.input as { logEvents: unknown[] }).logEvents ?? []).length);
      return next(args);
    },
    { step: 'initialize' },
  );
  cleanups.push(async () => {
    client.destroy();
    await listening.close();
  });
  return { client, state };
}

async function readAll(client: CloudWatchLogsClient, stream: string): Promise<OutputLogEvent[]> {
  const events: OutputLogEvent[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await client.send(new GetLogEventsCommand({ logGroupName: TRAINING_LOG_GROUP, logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }));
    events.push(...(page.events ?? []));
    if (page.nextForwardToken === token) return events;
    token = page.nextForwardToken;
  }
}

describe('the training log of an instance', () => {
  it("writes SageMaker's stream, <job>/algo-<host>-<epoch seconds>, creating the group the first time", async () => {
    // Given a CloudWatch Logs with no group yet, and the second host of an attempt started at T0
    const { client } = await start();
    const log = new TrainingLog({ client, group: TRAINING_LOG_GROUP, jobName: 'resnet', host: 2, now: () => T0 });
    // When it logs two lines and flushes
    log.line('epoch 1 loss=0.9');
    log.line('');
    log.line('epoch 2 loss=0.5');
    await log.flush();
    // Then the stream is the SageMaker one and holds the lines, in order, with their times
    expect(log.stream).toBe(`resnet/algo-2-${T0 / 1000}`);
    expect(parseTrainingLogStream(log.stream)).toEqual({ ok: true, value: { job: 'resnet', host: 2, startedAt: T0 / 1000 } });
    const streams = await client.send(new DescribeLogStreamsCommand({ logGroupName: TRAINING_LOG_GROUP, logStreamNamePrefix: 'resnet/' }));
    expect(streams.logStreams?.map((s) => s.logStreamName)).toEqual([log.stream]);
    const events = await readAll(client, log.stream);
    expect(events.map((e) => [e.timestamp, e.message])).toEqual([
      [T0, 'epoch 1 loss=0.9'],
      [T0, 'epoch 2 loss=0.5'],
    ]);
    // A blank line is not an event (CloudWatch refuses empty messages), but it is part of the tail
    expect(log.lastLines()).toBe('epoch 1 loss=0.9\n\nepoch 2 loss=0.5');
    // And a second log of the same host later is a stream of its own
    const later = new TrainingLog({ client, group: TRAINING_LOG_GROUP, jobName: 'resnet', host: 2, now: () => T0 + 300_000 });
    later.line('resumed');
    await later.flush();
    expect(later.stream).toBe(`resnet/algo-2-${T0 / 1000 + 300}`);
  });

  it('sends batches within PutLogEvents limits: 10,000 events, 1,048,576 bytes with 26 bytes per event, time order', async () => {
    // Given a clock that steps back now and then
    const { client, state } = await start();
    let tick = 0;
    const log = new TrainingLog({ client, group: TRAINING_LOG_GROUP, jobName: 'many', host: 1, now: () => T0 + (tick++ % 7 === 3 ? -5_000 : tick) });
    // When 25,000 short lines, then 3 lines of 400 KiB each are logged before a flush
    for (let i = 0; i < 25_000; i++) log.line(`line ${i}`);
    const big = 'x'.repeat(400 * 1024);
    for (let i = 0; i < 3; i++) log.line(`${i}${big}`);
    await log.flush();
    // Then no batch was over a limit (the server refuses those), every batch was full as the limits allow, and nothing is left
    expect(state.puts.every((n) => n <= MAX_BATCH_EVENTS)).toBe(true);
    expect(state.puts.slice(0, 2)).toEqual([MAX_BATCH_EVENTS, MAX_BATCH_EVENTS]);
    expect(log.pending).toBe(0);
    const events = await readAll(client, log.stream);
    // Every short line once and in order; each long line in pieces of at most 256 KiB, which join back to it
    expect(events.slice(0, 25_000).map((e) => e.message).join('\n')).toBe(Array.from({ length: 25_000 }, (_, i) => `line ${i}`).join('\n'));
    const pieces = events.slice(25_000).map((e) => e.message ?? '');
    expect(pieces.map((p) => Buffer.byteLength(p) + EVENT_OVERHEAD_BYTES <= MAX_EVENT_BYTES)).toEqual([true, true, true, true, true, true]);
    expect(pieces.join('') === [0, 1, 2].map((i) => `${i}${big}`).join('')).toBe(true);
    const times = events.map((e) => e.timestamp ?? 0);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('keeps at most maxBufferedBytes while CloudWatch Logs is unreachable, drops the oldest and says how many', async () => {
    // Given CloudWatch Logs unreachable and a 1 MiB budget
    const { client, state } = await start();
    state.offline = true;
    const printed: string[] = [];
    const log = new TrainingLog({ client, group: TRAINING_LOG_GROUP, jobName: 'outage', host: 1, now: () => T0, maxBufferedBytes: MAX_BATCH_BYTES, print: (l) => printed.push(l) });
    const line = (i: number) => `step ${String(i).padStart(6, '0')} ${'.'.repeat(90)}`;
    // When 30,000 lines of about 100 bytes are logged, with failed flushes along the way
    for (let i = 0; i < 30_000; i++) {
      log.line(line(i));
      if (i % 5_000 === 0) await expect(log.flush()).rejects.toThrow(/ECONNREFUSED/);
    }
    // Then no more than the budget waits
    const perEvent = Buffer.byteLength(line(0)) + EVENT_OVERHEAD_BYTES;
    expect(log.pending).toBe(Math.floor(MAX_BATCH_BYTES / perEvent));
    // And once it is back, the stream says how many lines were lost, then has the newest lines, in order
    state.offline = false;
    await log.flush();
    const events = (await readAll(client, log.stream)).map((e) => e.message ?? '');
    const kept = Math.floor(MAX_BATCH_BYTES / perEvent);
    expect(events[0]).toBe(`[agent] ${30_000 - kept} lines (${(30_000 - kept) * (perEvent - EVENT_OVERHEAD_BYTES)} bytes) of training output dropped: CloudWatch Logs could not be reached (Error: connect ECONNREFUSED 127.0.0.1)`);
    expect(events.slice(1).join('\n') === Array.from({ length: kept }, (_, i) => line(30_000 - kept + i)).join('\n')).toBe(true);
    expect(printed).toContain(events[0]);
  });

  it('keeps unsent lines for the next flush when a batch fails, and sends each line once', async () => {
    // Given lines logged while CloudWatch Logs is reachable, then a flush that fails
    const { client, state } = await start();
    const log = new TrainingLog({ client, group: TRAINING_LOG_GROUP, jobName: 'retry', host: 1, now: () => T0 });
    log.line('first');
    await log.flush();
    log.line('second');
    state.offline = true;
    await expect(log.flush()).rejects.toThrow();
    // When it is back and the lines are flushed (twice at once)
    state.offline = false;
    log.line('third');
    await Promise.all([log.flush(), log.flush()]);
    // Then each line is there once, in order
    expect((await readAll(client, log.stream)).map((e) => e.message)).toEqual(['first', 'second', 'third']);
  });
});
