import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  InvalidParameterException,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterEach, describe, expect, it } from 'vitest';
import { hasAwsCli } from '../support/awsCli.js';
import { CloudWatchLogsServer, type CloudWatchLogsOptions } from '../../localcloud/cloudwatchLogs.js';

const REGION = 'us-east-1';
const GROUP = '/aws/sagemaker/TrainingJobs';
const T0 = Date.parse('2026-12-01T10:00:00Z');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Partial<CloudWatchLogsOptions> = {}) {
  const server = new CloudWatchLogsServer({ region: REGION, account: '000000000000', now: () => T0 + 60_000, ...options });
  const listening = await server.listen(0);
  // maxAttempts 1: the SDK's retries would hide what the server answered.
  const client = new CloudWatchLogsClient({ region: REGION, endpoint: listening.url, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    client.destroy();
    await listening.close();
  };
  cleanups.push(close);
  return { url: listening.url, client, close };
}

async function seed(client: CloudWatchLogsClient, stream: string, lines: string[], from = T0) {
  await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream }));
  await client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, logEvents: lines.map((message, i) => ({ timestamp: from + i * 1000, message })) }));
}

describe('local CloudWatch Logs through @aws-sdk/client-cloudwatch-logs', () => {
  it('creates groups and streams once, and answers as CloudWatch for missing and duplicate ones', async () => {
    // Given a server with one group
    const { client } = await start();
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));

    // Then a second create, a stream in a missing group and events for a missing stream fail with CloudWatch's errors
    await expect(client.send(new CreateLogGroupCommand({ logGroupName: GROUP }))).rejects.toBeInstanceOf(ResourceAlreadyExistsException);
    await expect(client.send(new CreateLogStreamCommand({ logGroupName: '/nope', logStreamName: 's' }))).rejects.toThrow(ResourceNotFoundException);
    await expect(client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: 'missing', logEvents: [{ timestamp: T0, message: 'x' }] }))).rejects.toThrow(
      'The specified log stream does not exist.',
    );
    await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-1764583200' }));
    await expect(client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-1764583200' }))).rejects.toBeInstanceOf(ResourceAlreadyExistsException);
    await expect(client.send(new CreateLogGroupCommand({ logGroupName: 'bad name!' }))).rejects.toBeInstanceOf(InvalidParameterException);

    const groups = await client.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/sagemaker/' }));
    expect(groups.logGroups?.map((g) => g.logGroupName)).toEqual([GROUP]);

    await client.send(new DeleteLogGroupCommand({ logGroupName: GROUP }));
    await expect(client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses a batch out of chronological order, over 1 MiB, or with an event over 256 KiB, and keeps nothing of it', async () => {
    const { client } = await start();
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 's' }));
    const put = (logEvents: { timestamp: number; message: string }[]) => client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: 's', logEvents }));

    await expect(put([{ timestamp: T0 + 1, message: 'b' }, { timestamp: T0, message: 'a' }])).rejects.toThrow('must be in chronological order');
    await expect(put([{ timestamp: T0, message: 'x'.repeat(300_000) }])).rejects.toThrow(/Log event too large/);
    await expect(put(Array.from({ length: 5 }, (_, i) => ({ timestamp: T0 + i, message: 'y'.repeat(250_000) })))).rejects.toThrow(/Upload too large/);

    const got = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 's', startFromHead: true }));
    expect(got.events).toEqual([]);
  });

  it('pages GetLogEvents forward to the end, where the forward token comes back unchanged, and backward from the tail', async () => {
    const { client } = await start();
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    const lines = Array.from({ length: 25 }, (_, i) => `line ${i}`);
    await seed(client, 'job/algo-1-1764583200', lines);

    // Forward from the head, 10 at a time, as sagemaker's logs_for_job reads: until a page is empty
    const read: string[] = [];
    let token: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await client.send(
        new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-1764583200', startFromHead: true, limit: 10, ...(token ? { nextToken: token } : {}) }),
      );
      expect(page.nextForwardToken).toMatch(/^f\/\d{56}$/);
      expect(page.nextBackwardToken).toMatch(/^b\/\d{56}$/);
      if (!page.events?.length) {
        expect(page.nextForwardToken).toBe(token);
        break;
      }
      read.push(...page.events.map((e) => e.message ?? ''));
      token = page.nextForwardToken;
    }
    expect(read).toEqual(lines);

    // New events after the end are found with the token the reader kept
    await client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-1764583200', logEvents: [{ timestamp: T0 + 30_000, message: 'later' }] }));
    const more = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-1764583200', startFromHead: true, nextToken: token }));
    expect(more.events?.map((e) => e.message)).toEqual(['later']);

    // Without startFromHead: the latest events, then backward
    const tail = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-1764583200', limit: 5 }));
    expect(tail.events?.map((e) => e.message)).toEqual(['line 21', 'line 22', 'line 23', 'line 24', 'later']);
    const back = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-1764583200', limit: 5, nextToken: tail.nextBackwardToken }));
    expect(back.events?.map((e) => e.message)).toEqual(['line 16', 'line 17', 'line 18', 'line 19', 'line 20']);

    // startTime is inclusive, endTime exclusive
    const window = await client.send(
      new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-1764583200', startFromHead: true, startTime: T0 + 3000, endTime: T0 + 6000 }),
    );
    expect(window.events?.map((e) => e.message)).toEqual(['line 3', 'line 4', 'line 5']);
  });

  it('describes streams by name prefix or by last event time, descending, with pagination', async () => {
    const { client } = await start();
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    await seed(client, 'job-a/algo-1-100', ['a'], T0 + 5000);
    await seed(client, 'job-a/algo-2-100', ['b'], T0 + 1000);
    await seed(client, 'job-b/algo-1-100', ['c'], T0 + 9000);

    const byName = await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, logStreamNamePrefix: 'job-a/' }));
    expect(byName.logStreams?.map((s) => s.logStreamName)).toEqual(['job-a/algo-1-100', 'job-a/algo-2-100']);
    expect(byName.logStreams?.[0]).toMatchObject({ firstEventTimestamp: T0 + 5000, lastEventTimestamp: T0 + 5000, arn: expect.stringContaining(':log-stream:job-a/algo-1-100') });

    const latest = await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: 'LastEventTime', descending: true }));
    expect(latest.logStreams?.map((s) => s.logStreamName)).toEqual(['job-b/algo-1-100', 'job-a/algo-1-100', 'job-a/algo-2-100']);

    await expect(client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: 'LastEventTime', logStreamNamePrefix: 'job-a/' }))).rejects.toThrow(
      'Cannot order by LastEventTime with a logStreamNamePrefix.',
    );

    const first = await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, limit: 2 }));
    const second = await client.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, limit: 2, nextToken: first.nextToken }));
    expect([...(first.logStreams ?? []), ...(second.logStreams ?? [])].map((s) => s.logStreamName)).toEqual(['job-a/algo-1-100', 'job-a/algo-2-100', 'job-b/algo-1-100']);
    expect(second.nextToken).toBeUndefined();
  });

  it('filters across streams interleaved by time, by prefix or names, with plain terms, and pages', async () => {
    const { client } = await start();
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    await seed(client, 'job/algo-1-100', ['epoch 1 loss=0.9', 'epoch 2 loss=0.5', 'WARN slow disk'], T0);
    await seed(client, 'job/algo-2-100', ['epoch 1 loss=0.8', 'ERROR bad batch'], T0 + 500);
    await seed(client, 'other/algo-1-100', ['epoch 1 loss=0.1'], T0);

    const all = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNamePrefix: 'job/' }));
    expect(all.events?.map((e) => `${e.logStreamName} ${e.message}`)).toEqual([
      'job/algo-1-100 epoch 1 loss=0.9',
      'job/algo-2-100 epoch 1 loss=0.8',
      'job/algo-1-100 epoch 2 loss=0.5',
      'job/algo-2-100 ERROR bad batch',
      'job/algo-1-100 WARN slow disk',
    ]);
    const losses = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNames: ['job/algo-1-100'], filterPattern: 'epoch loss' }));
    expect(losses.events?.map((e) => e.message)).toEqual(['epoch 1 loss=0.9', 'epoch 2 loss=0.5']);
    const problems = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '?ERROR ?WARN' }));
    expect(problems.events?.map((e) => e.message)).toEqual(['ERROR bad batch', 'WARN slow disk']);
    const phrase = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '"epoch 1" -loss=0.1' }));
    expect(phrase.events?.map((e) => e.message)).toEqual(['epoch 1 loss=0.9', 'epoch 1 loss=0.8']);

    const pages: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNamePrefix: 'job/', limit: 2, ...(nextToken ? { nextToken } : {}) }));
      pages.push(...(page.events ?? []).map((e) => e.message ?? ''));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages).toEqual(all.events?.map((e) => e.message));

    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNames: ['a'], logStreamNamePrefix: 'job/' }))).rejects.toBeInstanceOf(InvalidParameterException);
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '{ $.level = "x" }' }))).rejects.toThrow(/JSON/);
  });

  it('keeps each stream within its event cap, the newest events kept', async () => {
    const { client } = await start({ maxEventsPerStream: 100 });
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 's' }));
    for (let batch = 0; batch < 5; batch++) {
      const logEvents = Array.from({ length: 50 }, (_, i) => ({ timestamp: T0 + batch * 50 + i, message: `event ${batch * 50 + i}` }));
      await client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: 's', logEvents }));
    }
    const got = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 's', startFromHead: true }));
    expect(got.events).toHaveLength(100);
    expect(got.events?.[0]?.message).toBe('event 150');
    expect(got.events?.[99]?.message).toBe('event 249');
  });

  it('keeps its groups, streams and events across a restart with a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cwlogs-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'logs.jsonl');
    const first = await start({ file });
    await first.client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    await seed(first.client, 'job/algo-1-100', ['one', 'two']);
    await first.close();

    const second = await start({ file });
    const got = await second.client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'job/algo-1-100', startFromHead: true }));
    expect(got.events?.map((e) => e.message)).toEqual(['one', 'two']);
    await seed(second.client, 'job/algo-1-200', ['three']);
    const filtered = await second.client.send(new FilterLogEventsCommand({ logGroupName: GROUP }));
    expect(new Set(filtered.events?.map((e) => e.eventId)).size).toBe(3);
  });
});


/** `aws logs …` with dummy credentials and no user configuration. */
export function awsCli(url: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env['PATH'], HOME: tmpdir(), AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_DEFAULT_REGION: REGION, AWS_EC2_METADATA_DISABLED: 'true' };
  return new Promise((resolve) => {
    execFile('aws', [...args, '--endpoint-url', url, '--output', 'json'], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!hasAwsCli)('local CloudWatch Logs through the AWS CLI', () => {
  it('aws logs get-log-events, describe-log-streams and filter-log-events read what was put', async () => {
    const { url, client } = await start();
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    await seed(client, 'job/algo-1-1764583200', ['epoch 1 loss=0.9', 'epoch 2 loss=0.5']);
    await seed(client, 'job/algo-2-1764583200', ['epoch 1 loss=0.7']);

    const streams = await awsCli(url, ['logs', 'describe-log-streams', '--log-group-name', GROUP, '--log-stream-name-prefix', 'job/']);
    expect(streams.stderr).toBe('');
    expect((JSON.parse(streams.stdout) as { logStreams: { logStreamName: string }[] }).logStreams.map((s) => s.logStreamName)).toEqual([
      'job/algo-1-1764583200',
      'job/algo-2-1764583200',
    ]);

    const events = await awsCli(url, ['logs', 'get-log-events', '--log-group-name', GROUP, '--log-stream-name', 'job/algo-1-1764583200', '--start-from-head']);
    expect(events.stderr).toBe('');
    const parsed = JSON.parse(events.stdout) as { events: { message: string }[]; nextForwardToken: string };
    expect(parsed.events.map((e) => e.message)).toEqual(['epoch 1 loss=0.9', 'epoch 2 loss=0.5']);
    expect(parsed.nextForwardToken).toMatch(/^f\//);

    const filtered = await awsCli(url, ['logs', 'filter-log-events', '--log-group-name', GROUP, '--log-stream-name-prefix', 'job/', '--filter-pattern', 'epoch 1']);
    expect(filtered.stderr).toBe('');
    expect((JSON.parse(filtered.stdout) as { events: { message: string }[] }).events.map((e) => e.message)).toEqual(['epoch 1 loss=0.9', 'epoch 1 loss=0.7']);

    const missing = await awsCli(url, ['logs', 'get-log-events', '--log-group-name', GROUP, '--log-stream-name', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ResourceNotFoundException');
  });
});
