import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { hasAwsCli } from '../support/awsCli.js';
import { type EventBridgeEnvelope, LocalEventBus, type LocalEventBusOptions, type PutEventsEntry } from '../../localcloud/eventBus.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const INSTANCE_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0abc123def4567890`;
const SPOT_RULE = {
  source: ['aws.ec2', 'spot-training.synthetic'],
  'detail-type': ['EC2 Spot Instance Interruption Warning'],
  detail: { 'instance-action': ['terminate', 'stop'] },
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const spotWarning = (action = 'terminate'): PutEventsEntry & PutEventsRequestEntry => ({
  Source: 'aws.ec2',
  DetailType: 'EC2 Spot Instance Interruption Warning',
  Detail: JSON.stringify({ 'instance-id': 'i-0abc123def4567890', 'instance-action': action }),
  Resources: [INSTANCE_ARN],
});

interface Harness {
  bus: LocalEventBus;
  url: string;
  client: EventBridgeClient;
  logs: Record<string, unknown>[];
  /** A rule whose target records what it receives. */
  recordingRule(name: string, pattern: Record<string, unknown>): EventBridgeEnvelope[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startBus(options: Partial<LocalEventBusOptions> = {}): Promise<Harness> {
  const logs: Record<string, unknown>[] = [];
  const bus = new LocalEventBus({ region: REGION, account: ACCOUNT, retryDelayMs: 10, log: (entry) => logs.push(entry), ...options });
  const server = await bus.listen(0);
  // maxAttempts 1: the SDK's own retries would hide what the server answered.
  const client = new EventBridgeClient({ region: REGION, endpoint: server.url, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  cleanups.push(async () => {
    client.destroy();
    await bus.idle();
    await server.close();
  });
  return {
    bus,
    url: server.url,
    client,
    logs,
    recordingRule(name, pattern) {
      const received: EventBridgeEnvelope[] = [];
      bus.addRule({ name, pattern, target: async (event) => received.push(event) });
      return received;
    },
  };
}

/** The SDK's error for a request the server refused as a whole. */
async function sdkError(client: EventBridgeClient, entries: PutEventsRequestEntry[]): Promise<{ name: string; message: string; status?: number }> {
  try {
    await client.send(new PutEventsCommand({ Entries: entries }));
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected PutEvents to fail');
}

describe('LocalEventBus with the SDK', () => {
  it('listens on a free port when given 0', async () => {
    const { url } = await startBus();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  });

  it('delivers the full envelope to matching rules only', async () => {
    const { bus, client, recordingRule } = await startBus();
    const spot = recordingRule('spot', SPOT_RULE);
    const rebalance = recordingRule('rebalance', { source: ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] });
    const stopOnly = recordingRule('stop-only', { detail: { 'instance-action': ['stop'] } });

    const before = Date.now();
    const result = await client.send(new PutEventsCommand({ Entries: [spotWarning()] }));
    await bus.idle();

    expect(result.FailedEntryCount).toBe(0);
    const eventId = result.Entries?.[0]?.EventId;
    expect(eventId).toMatch(UUID);
    expect(spot).toEqual([
      {
        version: '0',
        id: eventId,
        'detail-type': 'EC2 Spot Instance Interruption Warning',
        source: 'aws.ec2',
        account: ACCOUNT,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        region: REGION,
        resources: [INSTANCE_ARN],
        detail: { 'instance-id': 'i-0abc123def4567890', 'instance-action': 'terminate' },
      },
    ]);
    // No Time given: now, to the second.
    expect(Date.parse(spot[0]!.time)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(Date.parse(spot[0]!.time)).toBeLessThanOrEqual(Date.now());
    expect(rebalance).toEqual([]);
    expect(stopOnly).toEqual([]);
  });

  it("uses the entry's Time, to the second, and gives every event its own id", async () => {
    const { bus, client, recordingRule } = await startBus();
    const spot = recordingRule('spot', SPOT_RULE);
    const entry = { ...spotWarning('stop'), Time: new Date('2026-11-27T10:15:00.789Z') };
    const result = await client.send(new PutEventsCommand({ Entries: [entry, entry, { ...entry, Source: 'spot-training.synthetic', Resources: undefined }] }));
    await bus.idle();

    const ids = result.Entries?.map((e) => e.EventId);
    expect(new Set(ids).size).toBe(3);
    expect(spot.map((e) => e.id).sort()).toEqual([...(ids as string[])].sort());
    expect(spot.map((e) => e.time)).toEqual(['2026-11-27T10:15:00Z', '2026-11-27T10:15:00Z', '2026-11-27T10:15:00Z']);
    expect(spot.find((e) => e.source === 'spot-training.synthetic')?.resources).toEqual([]);
  });

  it('fails invalid entries alone, with AWS error codes, and delivers the others', async () => {
    const { bus, client, recordingRule } = await startBus();
    const all = recordingRule('all', { source: [{ prefix: '' }] });
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          { DetailType: 'x', Detail: '{}' },
          { Source: 'app', Detail: '{}' },
          { Source: 'app', DetailType: 'x' },
          { Source: 'app', DetailType: 'x', Detail: 'not json' },
          { Source: 'app', DetailType: 'x', Detail: '[1,2]' },
          { Source: 'app', DetailType: 'ok', Detail: '{"n":1}' },
        ],
      }),
    );
    await bus.idle();

    expect(result.FailedEntryCount).toBe(5);
    expect(result.Entries?.slice(0, 5)).toEqual([
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
    ]);
    expect(result.Entries?.[5]?.EventId).toMatch(UUID);
    expect(all.map((e) => [e['detail-type'], e.detail])).toEqual([['ok', { n: 1 }]]);
  });

  it('refuses a whole request of 0 or more than 10 entries, or over 256 KB', async () => {
    const { bus, client, recordingRule } = await startBus();
    const all = recordingRule('all', { source: [{ exists: true }] });
    const entry = { Source: 'app', DetailType: 'x', Detail: '{}' };

    expect(await sdkError(client, [])).toMatchObject({ name: 'ValidationException', status: 400, message: expect.stringContaining('greater than or equal to 1') });
    expect(await sdkError(client, Array(11).fill(entry))).toMatchObject({ name: 'ValidationException', status: 400, message: expect.stringContaining('less than or equal to 10') });
    const big = JSON.stringify({ blob: 'x'.repeat(130 * 1024) });
    expect(await sdkError(client, [{ ...entry, Detail: big }, { ...entry, Detail: big }])).toMatchObject({
      name: 'ValidationException',
      message: 'Total size of the entries in the request is over the limit.',
    });

    // Ten entries, and one of just under 256 KB, are fine.
    expect((await client.send(new PutEventsCommand({ Entries: Array(10).fill(entry) }))).FailedEntryCount).toBe(0);
    const justFits = { ...entry, Detail: JSON.stringify({ blob: 'x'.repeat(256 * 1024 - 32) }) };
    expect((await client.send(new PutEventsCommand({ Entries: [justFits] }))).FailedEntryCount).toBe(0);
    await bus.idle();
    expect(all).toHaveLength(11);
  });

  it('refuses aws.* sources only when asked to, as AWS does', async () => {
    const { bus, client, recordingRule } = await startBus({ refuseAwsSources: true });
    const spot = recordingRule('spot', SPOT_RULE);
    const result = await client.send(new PutEventsCommand({ Entries: [spotWarning(), { ...spotWarning(), Source: 'spot-training.synthetic' }] }));
    await bus.idle();

    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.[0]).toEqual({ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' });
    expect(spot.map((e) => e.source)).toEqual(['spot-training.synthetic']);
  });

  it('accepts and drops, with a warning, events for an unknown bus (AWS answers success too)', async () => {
    const { bus, client, logs, recordingRule } = await startBus();
    const spot = recordingRule('spot', SPOT_RULE);
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          { ...spotWarning(), EventBusName: 'no-such-bus' },
          { ...spotWarning(), EventBusName: 'default' },
          { ...spotWarning(), EventBusName: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default` },
        ],
      }),
    );
    await bus.idle();

    expect(result.FailedEntryCount).toBe(0);
    expect(spot.map((e) => e.id)).toEqual(result.Entries?.slice(1).map((e) => e.EventId));
    expect(logs).toEqual([expect.objectContaining({ level: 'warn', eventBusName: 'no-such-bus', eventId: result.Entries?.[0]?.EventId })]);
  });
});

describe('LocalEventBus delivery', () => {
  it('answers PutEvents before any target runs', async () => {
    const { bus, recordingRule } = await startBus();
    const spot = recordingRule('spot', SPOT_RULE);
    await bus.putEvents([spotWarning()]);
    expect(spot).toEqual([]);
    await bus.idle();
    expect(spot).toHaveLength(1);
  });

  it('retries a throwing target, then dead-letters the event; other rules are not affected', async () => {
    const { bus, logs, recordingRule } = await startBus({ maxDeliveryAttempts: 3, retryDelayMs: 20 });
    const healthy = recordingRule('healthy', SPOT_RULE);
    let flakyCalls = 0;
    bus.addRule({
      name: 'flaky',
      pattern: SPOT_RULE,
      target: async () => {
        flakyCalls++;
        if (flakyCalls < 3) throw new Error(`flaky failure ${flakyCalls}`);
      },
    });
    const brokenCalls: number[] = [];
    bus.addRule({
      name: 'broken',
      pattern: SPOT_RULE,
      target: async () => {
        brokenCalls.push(Date.now());
        throw new TypeError('table not found');
      },
    });

    const { Entries } = await bus.putEvents([spotWarning()]);
    await bus.idle();

    expect(healthy).toHaveLength(1);
    expect(flakyCalls).toBe(3);
    expect(brokenCalls).toHaveLength(3);
    expect(brokenCalls[2]! - brokenCalls[0]!).toBeGreaterThanOrEqual(2 * 20 - 5);
    const eventId = (Entries[0] as { EventId: string }).EventId;
    expect(bus.deadLetters()).toEqual([{ rule: 'broken', event: expect.objectContaining({ id: eventId, source: 'aws.ec2' }), error: 'TypeError: table not found' }]);
    expect(logs.filter((l) => l['level'] === 'error')).toEqual([expect.objectContaining({ rule: 'broken', eventId, attempt: 3, error: 'TypeError: table not found' })]);
    expect(logs.filter((l) => l['level'] === 'warn').map((l) => [l['rule'], l['attempt']])).toEqual(
      expect.arrayContaining([
        ['flaky', 1],
        ['flaky', 2],
        ['broken', 1],
        ['broken', 2],
      ]),
    );
  });

  it('gives each target its own copy of the event', async () => {
    const { bus, recordingRule } = await startBus();
    bus.addRule({
      name: 'mutator',
      pattern: SPOT_RULE,
      target: async (event) => {
        event.detail['instance-action'] = 'changed';
      },
    });
    const spot = recordingRule('spot', SPOT_RULE);
    await bus.putEvents([spotWarning()]);
    await bus.idle();
    expect(spot[0]?.detail['instance-action']).toBe('terminate');
  });

  it('idle() waits for slow targets, retries and events put by targets', async () => {
    const { bus, recordingRule } = await startBus({ retryDelayMs: 30 });
    const followUps = recordingRule('follow-ups', { source: ['spot-training.synthetic'], 'detail-type': ['Follow-up'] });
    let attempts = 0;
    bus.addRule({
      name: 'slow-flaky-then-chains',
      pattern: SPOT_RULE,
      target: async (event) => {
        await sleep(30);
        if (++attempts === 1) throw new Error('first attempt fails');
        // Not awaited on purpose: idle() must still account for it.
        void bus.putEvents([{ Source: 'spot-training.synthetic', DetailType: 'Follow-up', Detail: JSON.stringify({ cause: event.id }) }]);
      },
    });

    const { Entries } = await bus.putEvents([spotWarning()]);
    await bus.idle();

    expect(attempts).toBe(2);
    expect(followUps.map((e) => e.detail)).toEqual([{ cause: (Entries[0] as { EventId: string }).EventId }]);
    await expect(bus.idle()).resolves.toBeUndefined();
  });

  it('refuses a rule with an invalid pattern, naming it', async () => {
    const { bus } = await startBus();
    expect(() => bus.addRule({ name: 'bad-rule', pattern: { source: 'aws.ec2' }, target: async () => {} })).toThrow(/Rule bad-rule: event pattern is not valid: source: must be an array/);
    bus.addRule({ name: 'dup', pattern: SPOT_RULE, target: async () => {} });
    expect(() => bus.addRule({ name: 'dup', pattern: SPOT_RULE, target: async () => {} })).toThrow(/Rule dup already exists/);
  });
});

describe('LocalEventBus HTTP protocol errors', () => {
  const post = (url: string, body: string | Buffer, target = 'AWSEvents.PutEvents') =>
    fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target }, body }).then(async (res) => ({
      status: res.status,
      body: (await res.json()) as Record<string, unknown>,
    }));

  it('answers AWS JSON 1.1 errors', async () => {
    const { url } = await startBus();
    expect(await post(url, '{"Entries":[]}', 'AWSEvents.PutRule')).toMatchObject({ status: 400, body: { __type: 'UnknownOperationException' } });
    expect(await post(url, '{"Entries":[', 'AWSEvents.PutEvents')).toMatchObject({ status: 400, body: { __type: 'SerializationException' } });
    expect(await post(url, '{}')).toMatchObject({ status: 400, body: { __type: 'ValidationException', message: expect.stringContaining('must not be null') } });
    expect(await post(url, '{"Entries":[{"Source":1}]}')).toMatchObject({ status: 400, body: { __type: 'SerializationException', message: expect.stringContaining('Entries[0].Source') } });
    expect(await post(url, '{"Entries":[{"Source":"a","DetailType":"b","Detail":"{}","Time":"yesterday"}]}')).toMatchObject({ status: 400, body: { __type: 'SerializationException' } });
    expect(await post(url, Buffer.alloc(1024 * 1024 + 1, ' '))).toMatchObject({ status: 413, body: { __type: 'RequestEntityTooLargeException', message: expect.stringContaining('1048576 bytes') } });
  });

  it('takes Time as epoch seconds, as the JSON protocol sends it, or as an ISO string', async () => {
    const { bus, url, recordingRule } = await startBus();
    const all = recordingRule('all', { source: ['app'] });
    const entry = { Source: 'app', DetailType: 'x', Detail: '{}' };
    const res = await post(url, JSON.stringify({ Entries: [{ ...entry, Time: 1795774500.25 }, { ...entry, Time: '2026-11-27T10:15:00.999Z' }] }));
    await bus.idle();
    expect(res).toMatchObject({ status: 200, body: { FailedEntryCount: 0 } });
    expect(all.map((e) => e.time)).toEqual(['2026-11-27T10:15:00Z', '2026-11-27T10:15:00Z']);
  });
});


describe.skipIf(!hasAwsCli)('LocalEventBus with the AWS CLI', () => {
  /** `aws events put-events --entries file://…`, with dummy credentials and no user config. */
  async function putEventsWithCli(url: string, entries: unknown[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'eventbus-cli-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'entries.json');
    await writeFile(file, JSON.stringify(entries));
    const env = { PATH: process.env['PATH'], HOME: dir, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_EC2_METADATA_DISABLED: 'true' };
    const args = ['events', 'put-events', '--endpoint-url', url, '--region', REGION, '--output', 'json', '--entries', `file://${file}`];
    return new Promise((resolve) => {
      execFile('aws', args, { env }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  it('puts the spot warning; the rule gets the envelope with the Time of the file', async () => {
    const { bus, url, recordingRule } = await startBus();
    const spot = recordingRule('spot', SPOT_RULE);
    const other = recordingRule('s3', { source: ['aws.s3'] });

    const { code, stdout, stderr } = await putEventsWithCli(url, [{ ...spotWarning(), Time: '2026-11-27T10:15:00Z' }]);
    await bus.idle();

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { FailedEntryCount: number; Entries: { EventId: string }[] };
    expect(result.FailedEntryCount).toBe(0);
    expect(spot).toEqual([
      {
        version: '0',
        id: result.Entries[0]?.EventId,
        'detail-type': 'EC2 Spot Instance Interruption Warning',
        source: 'aws.ec2',
        account: ACCOUNT,
        time: '2026-11-27T10:15:00Z',
        region: REGION,
        resources: [INSTANCE_ARN],
        detail: { 'instance-id': 'i-0abc123def4567890', 'instance-action': 'terminate' },
      },
    ]);
    expect(other).toEqual([]);
  });

  it('prints per-entry failures and exits 0; fails on a request of 11 entries', async () => {
    const { url } = await startBus();
    const partial = await putEventsWithCli(url, [spotWarning(), { Source: 'app', DetailType: 'x', Detail: 'nope' }]);
    expect(partial.code).toBe(0);
    expect(JSON.parse(partial.stdout)).toMatchObject({ FailedEntryCount: 1, Entries: [{ EventId: expect.stringMatching(UUID) }, { ErrorCode: 'MalformedDetail' }] });

    const tooMany = await putEventsWithCli(url, Array(11).fill(spotWarning()));
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.stderr).toMatch(/ValidationException.*less than or equal to 10/);
  });
});
