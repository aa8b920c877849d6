import { readFileSync } from 'node:fs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler as apiHandler } from '../../functions/api.js';
import { handler as instanceStateChange } from '../../functions/instanceStateChange.js';
import { handler as rebalanceRecommendation } from '../../functions/rebalanceRecommendation.js';
import { handler as s3ObjectCreated } from '../../functions/s3ObjectCreated.js';
import { handler as spotInterruptionWarning } from '../../functions/spotInterruptionWarning.js';
import { ControlChannel } from '../../shared/control.js';
import { TablePriceSource } from '../../shared/lifecycle/money.js';
import type { Services } from '../../shared/processor.js';
import { useServices } from '../../shared/runtime.js';
import { TEST_CONFIG } from '../support/jobHarness.js';
import { createTestTable, type TestTable } from '../support/testTable.js';
import { FakeCapacity, MemoryS3 } from '../property/model.js';

/**
 * The hostile-input corpus (test/corpus/*.json, plus the oversized cases made here): each input
 * gets a clear answer, nothing is written, and no handler throws (which would put the event
 * into Lambda's retry loop).
 */
const corpus = <T>(file: string): T[] => JSON.parse(readFileSync(new URL(`../corpus/${file}`, import.meta.url), 'utf8')) as T[];
type LambdaContext = Parameters<typeof spotInterruptionWarning>[1];
const context = {} as LambdaContext;
const handlers = { spotInterruptionWarning, rebalanceRecommendation, instanceStateChange } as const;

let table: TestTable;
let capacity: FakeCapacity;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table?.drop();
});
afterEach(() => useServices(undefined));

function install(): void {
  capacity = new FakeCapacity();
  const services: Services = {
    config: TEST_CONFIG,
    store: table.store,
    capacity,
    control: new ControlChannel(new MemoryS3().asClient(), TEST_CONFIG.controlBucket),
    prices: new TablePriceSource(TEST_CONFIG.prices),
    now: () => Date.now(),
    random: Math.random,
  };
  useServices(services);
}

async function items(): Promise<number> {
  const page = await table.client.send(new ScanCommand({ TableName: table.tableName, Select: 'COUNT' }));
  return page.Count ?? 0;
}

const huge = 'x'.repeat(300_000);
const ec2Envelope = { version: '0', id: 'e-1', source: 'aws.ec2', account: '123456789012', time: '2026-11-27T10:15:00Z', region: 'us-east-1', resources: [] };

describe('malformed EventBridge events', () => {
  const cases = [
    ...corpus<{ name: string; handler: keyof typeof handlers; event: unknown }>('eventbridge.json'),
    { name: 'a 300 KB instance id', handler: 'spotInterruptionWarning' as const, event: { ...ec2Envelope, 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: { 'instance-id': huge, 'instance-action': 'terminate' } } },
    { name: 'a 300 KB detail-type', handler: 'instanceStateChange' as const, event: { ...ec2Envelope, 'detail-type': huge, detail: { 'instance-id': 'i-0123456789abcdef0', state: 'running' } } },
    { name: '10,000 resources', handler: 'rebalanceRecommendation' as const, event: { ...ec2Envelope, 'detail-type': 'EC2 Instance Rebalance Recommendation', resources: Array(10_000).fill('arn'), detail: { 'instance-id': 'i-0123456789abcdef0' } } },
  ];
  it.each(cases)('$name: dropped or ignored with a reason, nothing written, no throw', async ({ handler, event }) => {
    install();
    const before = await items();
    const result = (await handlers[handler](event, context)) as { status: string; detail?: string };
    expect(['malformed', 'ignored']).toContain(result.status);
    expect(result.detail).toBeTruthy();
    expect(await items()).toBe(before);
    expect(capacity.tokens.size).toBe(0);
  });
});

describe('hostile S3 notifications', () => {
  const cases = [
    ...corpus<{ name: string; event: unknown }>('s3.json'),
    { name: 'a 5,000 character key', event: { Records: [{ eventSource: 'aws:s3', eventTime: '2026-11-27T10:15:00.000Z', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'spot-training-data' }, object: { key: `${'a/'.repeat(2500)}step=1/manifest.json` } } }] } },
    { name: '101 records', event: { Records: Array(101).fill({}) } },
  ];
  it.each(cases)('$name: dropped or ignored with a reason, nothing written, no throw', async ({ event }) => {
    install();
    const before = await items();
    const results = (await s3ObjectCreated(event, context)) as { status: string; detail?: string }[];
    expect(results.length).toBeGreaterThan(0);
    for (const result of results) {
      expect(['malformed', 'ignored']).toContain(result.status);
      expect(result.detail).toBeTruthy();
    }
    expect(await items()).toBe(before);
  });
});

describe('hostile API requests', () => {
  const call = (operation: string, body: string) =>
    apiHandler({ headers: { 'X-Amz-Target': `SageMaker.${operation}`, 'Content-Type': 'application/x-amz-json-1.1' }, body, requestContext: { http: { method: 'POST' } } }, context) as Promise<{
      statusCode: number;
      body: string;
    }>;
  const cases = corpus<{ name: string; operation: string; body?: unknown; raw?: string; type: string; field: string }>('api.json');
  it.each(cases)('$name: $type naming $field, nothing written', async ({ operation, body, raw, type, field }) => {
    install();
    const before = await items();
    const response = await call(operation, raw ?? JSON.stringify(body));
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    const error = JSON.parse(response.body) as { __type: string; message: string };
    expect(error.__type).toBe(type);
    expect(error.message).toContain(field);
    expect(await items()).toBe(before);
    expect(capacity.tokens.size).toBe(0);
  });

  it('a body past the 1 MB limit: ValidationException naming the size, nothing written', async () => {
    install();
    const before = await items();
    const body = JSON.stringify({ TrainingJobName: 'too-big', HyperParameters: { blob: 'x'.repeat(1024 * 1024) } });
    const response = await call('CreateTrainingJob', body);
    expect(response.statusCode).toBe(413);
    const error = JSON.parse(response.body) as { __type: string; message: string };
    expect(error.__type).toBe('ValidationException');
    expect(error.message).toMatch(/Request body is \d+ bytes; the limit is 1048576 bytes/);
    expect(await items()).toBe(before);
  });
});
