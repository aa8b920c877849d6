import { readFileSync } from 'node:fs';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler as apiHandler } from '../../functions/api.js';
import { handler as instanceStateChange } from '../../functions/instanceStateChange.js';
import { handler as rebalanceRecommendation } from '../../functions/rebalanceRecommendation.js';
import { handler as s3ObjectCreated } from '../../functions/s3ObjectCreated.js';
import { handler as spotInterruptionWarning } from '../../functions/spotInterruptionWarning.js';
import { ControlChannel } from '../../shared/control.js';
import { TablePriceSource } from '../../shared/prices/tablePrices.js';
import type { Services } from '../../shared/services.js';
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

function install(config = TEST_CONFIG): void {
  capacity = new FakeCapacity();
  const services: Services = {
    config,
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

describe('requests and events that once got a 500, a retry or a job that could never work', () => {
  const call = (operation: string, body: string) =>
    apiHandler({ headers: { 'X-Amz-Target': `SageMaker.${operation}`, 'Content-Type': 'application/x-amz-json-1.1' }, body, requestContext: { http: { method: 'POST' } } }, context) as Promise<{
      statusCode: number;
      body: string;
    }>;
  const request = (name: string, overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      TrainingJobName: name,
      AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File' },
      ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50 },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
      OutputDataConfig: { S3OutputPath: 's3://spot-training-data/output' },
      ...overrides,
    });
  const refused = async (operation: string, body: string, type: string, text: string | RegExp) => {
    const before = await items();
    const response = await call(operation, body);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    const error = JSON.parse(response.body) as { __type: string; message: string };
    expect(error.__type).toBe(type);
    expect(error.message).toMatch(text);
    expect(await items()).toBe(before);
  };

  it.each(['CreateTrainingJob', 'DescribeTrainingJob', 'StopTrainingJob', 'ListTrainingJobs'])('%s with a body nested 5,000 levels deep: 400 SerializationException', async (operation) => {
    install();
    await refused(operation, `${'['.repeat(5000)}${']'.repeat(5000)}`, 'SerializationException', /nested more than 64 levels/);
    await refused(operation, `{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5001)}`, 'SerializationException', /nested more than 64 levels/);
  });

  it('a lone UTF-16 surrogate anywhere in a request is refused, naming the field', async () => {
    install();
    await refused('CreateTrainingJob', request('lone-surrogate', { CheckpointConfig: { S3Uri: 's3://spot-training-data/ckpt/\ud800' } }), 'ValidationException', /CheckpointConfig\.S3Uri is not valid Unicode/);
    await refused('CreateTrainingJob', request('lone-surrogate', { Environment: { KEY: 'x\udc00' } }), 'ValidationException', /Environment\.KEY is not valid Unicode/);
    // A well-formed pair is text like any other.
    const response = await call('CreateTrainingJob', request('surrogate-pair', { HyperParameters: { emoji: '\ud83d\ude00' } }));
    expect(response.statusCode).toBe(200);
  });

  it.each(['control', 'reports'])("a location inside the control bucket's %s/ prefix is refused for checkpoints and output", async (prefix) => {
    // A deployment that lets jobs write into the control bucket (as one without other buckets does)
    install({ ...TEST_CONFIG, allowedBuckets: [...TEST_CONFIG.allowedBuckets, TEST_CONFIG.controlBucket] });
    const control = TEST_CONFIG.controlBucket;
    await refused('CreateTrainingJob', request('in-control', { CheckpointConfig: { S3Uri: `s3://${control}/${prefix}/in-control` } }), 'ValidationException', /CheckpointConfig\.S3Uri .* holds the agent protocol/);
    await refused('CreateTrainingJob', request('in-control', { OutputDataConfig: { S3OutputPath: `s3://${control}/${prefix}/` } }), 'ValidationException', /OutputDataConfig\.S3OutputPath .* holds the agent protocol/);
  });

  it('an instance type no one can launch is refused at create, naming it', async () => {
    install();
    await refused('CreateTrainingJob', request('zz9', { ResourceConfig: { InstanceType: 'zz9.huge', InstanceCount: 1, VolumeSizeInGB: 50 } }), 'ValidationException', /zz9\.huge.*resourceConfig\.instanceType|ResourceConfig\.InstanceType.*zz9\.huge/);
    await refused(
      'CreateTrainingJob',
      request('zz9', { EnableManagedSpotTraining: true, StoppingCondition: { MaxRuntimeInSeconds: 600, MaxWaitTimeInSeconds: 600 }, SpotOptions: { FallbackInstanceTypes: ['g5.2xlarge', 'zz9.huge'] } }),
      'ValidationException',
      /'zz9\.huge' at 'spotOptions\.fallbackInstanceTypes\.2\.member'/,
    );
  });

  it('names that differ only in case are one job: the second is refused, and either name finds the first', async () => {
    install();
    expect((await call('CreateTrainingJob', request('X-Case'))).statusCode).toBe(200);
    await refused('CreateTrainingJob', request('x-case'), 'ResourceInUse', /training-job\/x-case/);
    const described = JSON.parse((await call('DescribeTrainingJob', JSON.stringify({ TrainingJobName: 'x-CASE' }))).body) as { TrainingJobName: string; TrainingJobArn: string };
    expect(described).toMatchObject({ TrainingJobName: 'X-Case', TrainingJobArn: expect.stringMatching(/:training-job\/x-case$/) });
  });

  it('an EventBridge event whose detail is nested 10,000 levels deep is dropped as malformed, not retried', async () => {
    install();
    let detail: Record<string, unknown> = { 'instance-id': 'i-0123456789abcdef0', state: 'running' };
    for (let i = 0; i < 10_000; i++) detail = { nested: detail, 'instance-id': 'i-0123456789abcdef0', state: 'running' };
    const result = (await instanceStateChange({ ...ec2Envelope, 'detail-type': 'EC2 Instance State-change Notification', detail }, context)) as { status: string; detail?: string };
    expect(result).toMatchObject({ status: 'malformed', detail: expect.stringContaining('nested more than 64 levels') });
  });
});
