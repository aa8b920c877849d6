import { DynamoDBClient, InternalServerError, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-dynamodb';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler as interruptionHandler } from '../../functions/spotInterruptionWarning.js';
import { handler as stateChangeHandler } from '../../functions/instanceStateChange.js';
import { DYNAMODB_LOCAL_CREDENTIALS } from '../../localcloud/dynamodbLocal.js';
import { LocalEventBus } from '../../localcloud/eventBus.js';
import { ControlChannel } from '../../shared/control.js';
import { ingestInstanceStateChange, ingestInterruptionWarning, sweepDeadlines } from '../../shared/ingest.js';
import { TablePriceSource } from '../../shared/prices/tablePrices.js';
import { parseRequestKey } from '../../shared/protocol.js';
import { processJobEvent } from '../../shared/jobEvents/processJobEvent.js';
import type { Services } from '../../shared/services.js';
import { useServices } from '../../shared/runtime.js';
import { DynamoJobStore } from '../../shared/store/dynamoJobStore.js';
import { TEST_CONFIG, jobRequest } from '../support/jobHarness.js';
import { createTestTable, type TestTable } from '../support/testTable.js';
import { FakeCapacity, MemoryS3, T0 } from '../property/model.js';
import { handleSageMakerRequest } from '../../shared/api/http.js';
import { inject } from 'vitest';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Simulator } from '../../localcloud/ec2Simulator.js';
import type { Capacity } from '../../shared/capacity/capacity.js';
import { Ec2Capacity } from '../../shared/capacity/ec2Capacity.js';
import { RECLAIM_RECHECK_MS } from '../../shared/lifecycle/deadlines.js';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table?.drop();
});
afterEach(() => useServices(undefined));

type LambdaContext = Parameters<typeof interruptionHandler>[1];
const lambdaContext = {} as LambdaContext;

/** A DynamoDB client made as shared/runtime.ts makes it (default retry strategy), plus a fault injector under the retries. */
function faultyClient(fail: (operation: string) => 'throttle' | '5xx' | undefined) {
  const client = new DynamoDBClient({ endpoint: inject('dynamoEndpoint'), region: 'us-east-1', credentials: DYNAMODB_LOCAL_CREDENTIALS });
  const attempts: { invocation: string; attempt: number; at: number; operation: string; failed: boolean }[] = [];
  const injector: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> =
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      const operation = String(context.commandName);
      const attempt = Number(/attempt=(\d+)/.exec(request.headers['amz-sdk-request'] ?? '')?.[1] ?? 0);
      const kind = fail(operation);
      attempts.push({ invocation: request.headers['amz-sdk-invocation-id'] ?? '', attempt, at: performance.now(), operation, failed: kind !== undefined });
      if (kind === 'throttle') throw new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: { httpStatusCode: 400 } });
      if (kind === '5xx') throw new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } });
      return next(args);
    };
  client.middlewareStack.addRelativeTo(injector, { relation: 'after', toMiddleware: 'retryMiddleware', name: 'faultInjection' });
  return { client, attempts };
}

function servicesWith(store: DynamoJobStore, capacity: Capacity = new FakeCapacity(), clock = { now: T0 }): Services {
  return {
    config: TEST_CONFIG,
    store,
    capacity,
    control: new ControlChannel(new MemoryS3().asClient(), TEST_CONFIG.controlBucket),
    prices: new TablePriceSource(TEST_CONFIG.prices),
    now: () => clock.now,
    random: () => 0.5,
  };
}

const ec2Event = (detailType: string, detail: Record<string, unknown>, id = `ev-${Math.random()}`) => ({
  version: '0',
  id,
  'detail-type': detailType,
  source: 'aws.ec2',
  account: '123456789012',
  time: new Date(T0 + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region: 'us-east-1',
  resources: [],
  detail,
});

/** A job created through the API and brought to Training on the fake capacity's instance. */
async function trainingJob(services: Services, name: string): Promise<string> {
  const created = await handleSageMakerRequest(services, { method: 'POST', headers: { 'x-amz-target': 'SageMaker.CreateTrainingJob' }, body: JSON.stringify(jobRequest(name)) });
  expect(created.statusCode).toBe(200);
  const job = await services.store.get(name);
  const id = job!.Attempts[0]!.InstanceIds[0]!;
  await ingestInstanceStateChange(services, ec2Event('EC2 Instance State-change Notification', { 'instance-id': id, state: 'running' }));
  await processJobEvent(services, name, { type: 'agentReport', time: T0 + 70_000, attempt: 1, phase: 'downloaded' }, { source: 'test' });
  expect((await services.store.get(name))?.SecondaryStatus).toBe('Training');
  return id;
}

describe('DynamoDB throttling and 5xx', () => {
  it('are retried by the SDK with backoff and jitter, and every event applies', async () => {
    // Every third request fails once the jobs are training, throttled and with a 500 in turn:
    // a fixed share, so that the count of retried requests does not depend on chance.
    let faults = false;
    let n = 0;
    const { client, attempts } = faultyClient(() => {
      if (!faults) return undefined;
      n++;
      if (n % 3 !== 0) return undefined;
      return (n / 3) % 2 ? 'throttle' : '5xx';
    });
    const services = servicesWith(new DynamoJobStore(client, table.tableName));
    const names = Array.from({ length: 12 }, (_, i) => `faults-retry-${i}`);
    const ids = await Promise.all(names.map((name) => trainingJob(services, name)));
    faults = true;
    let handlerFailures = 0;
    await Promise.all(
      ids.map(async (id, i) => {
        const warning = ec2Event('EC2 Spot Instance Interruption Warning', { 'instance-id': id, 'instance-action': 'terminate' }, `ev-retry-${i}`);
        // Past the SDK's retries the handler throws and Lambda delivers the event again.
        for (let delivery = 1; delivery <= 5; delivery++) {
          try {
            await ingestInterruptionWarning(services, warning);
            return;
          } catch {
            handlerFailures++;
          }
        }
      }),
    );
    faults = false;
    for (const name of names) {
      const job = await table.store.get(name);
      expect(job?.SecondaryStatus).toBe('Interrupted');
      expect(job?.Interruptions).toHaveLength(1);
    }
    expect(handlerFailures).toBeLessThan(ids.length);

    // The failures were retried: same invocation id, later attempt, after a backoff.
    const byInvocation = new Map<string, typeof attempts>();
    for (const a of attempts) byInvocation.set(a.invocation, [...(byInvocation.get(a.invocation) ?? []), a]);
    const retried = [...byInvocation.values()].filter((list) => list.length > 1);
    expect(retried.length).toBeGreaterThan(5);
    const delays = retried.map((list) => list[1]!.at - list[0]!.at);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    // Full jitter: the delays are spread, not one fixed value.
    expect(new Set(delays.map((d) => Math.round(d / 5))).size).toBeGreaterThan(2);
    expect(retried.every((list) => list.map((a) => a.attempt).join() === list.map((_, i) => i + 1).join())).toBe(true);
    client.destroy();
  });

  it('past the retries the handler fails visibly, nothing is half-applied, and the redelivery applies once', async () => {
    let failing = false;
    const { client, attempts } = faultyClient((operation) => (failing && operation === 'UpdateItemCommand' ? 'throttle' : undefined));
    const services = servicesWith(new DynamoJobStore(client, table.tableName));
    const id = await trainingJob(services, 'faults-exhausted');
    const before = await table.store.get('faults-exhausted');
    const warning = ec2Event('EC2 Spot Instance Interruption Warning', { 'instance-id': id, 'instance-action': 'terminate' }, 'ev-exhausted');
    useServices(services);
    failing = true;
    await expect(interruptionHandler(warning, lambdaContext)).rejects.toThrow(/exceeds the allowed throughput/);
    // The SDK tried three times (its default), then gave up.
    // The SDK tried several times (3.1169's default for DynamoDB: 4 attempts), then gave up.
    const tries = attempts.filter((a) => a.operation === 'UpdateItemCommand' && a.failed).map((a) => a.attempt);
    expect(tries.length).toBeGreaterThanOrEqual(3);
    expect(tries).toEqual(tries.map((_, i) => i + 1));
    expect(await table.store.get('faults-exhausted')).toEqual(before);
    failing = false;
    await interruptionHandler(warning, lambdaContext);
    await interruptionHandler(warning, lambdaContext);
    const after = await table.store.get('faults-exhausted');
    expect(after?.Transitions.map((t) => t.Status)).toEqual([...before!.Transitions.map((t) => t.Status), 'Interrupted']);
    expect(after?.Version).toBe(before!.Version + 1);
    client.destroy();
  });
});

describe('a handler killed between its write and its side effect', () => {
  for (const when of ['before', 'after'] as const) {
    it(`the relaunch crashes ${when} RunInstances: the redelivery and the sweep converge on one launch`, async () => {
      const capacity = new FakeCapacity();
      const clock = { now: T0 + 60_000 };
      const services = servicesWith(table.store, capacity, clock);
      const name = `faults-killed-${when}`;
      const id = await trainingJob(services, name);
      useServices(services);
      const terminated = ec2Event('EC2 Instance State-change Notification', { 'instance-id': id, state: 'terminated' }, `ev-${name}`);
      capacity.crash = when;
      // The write (Interrupted → Starting, attempt 2) lands; the launch after it fails: the handler throws.
      await expect(stateChangeHandler(terminated, lambdaContext)).rejects.toThrow(/simulated crash/);
      expect((await table.store.get(name))?.SecondaryStatus).toBe('Starting');
      // Lambda delivers the event again: it is stale now, and changes nothing.
      await stateChangeHandler(terminated, lambdaContext);
      // The launch watchdog of the deadline sweep asks again, with the same client token.
      clock.now += 3 * 60_000;
      await sweepDeadlines(services);
      const job = await table.store.get(name);
      expect(job?.CurrentAttempt).toBe(2);
      expect(job?.Attempts[1]?.InstanceIds).toHaveLength(1);
      const tokens = [...capacity.tokens.values()].filter((t) => t.attempt === 2);
      expect(tokens).toHaveLength(1);
      expect(tokens[0]!.creations).toBe(1);
      expect([...capacity.instances.values()].filter((i) => i.attempt === 2)).toHaveLength(1);
    });
  }

  it('a checkpoint request lost after the Interrupted write is re-issued by the redelivered warning', async () => {
    const s3 = new MemoryS3();
    const services = { ...servicesWith(table.store), control: new ControlChannel(s3.asClient(), TEST_CONFIG.controlBucket) };
    const id = await trainingJob(services, 'faults-checkpoint');
    let crashes = 1;
    const send = s3.send.bind(s3);
    s3.send = async (command) => {
      if (crashes-- > 0) throw new Error('simulated crash before PutObject');
      return send(command);
    };
    useServices(services);
    const warning = ec2Event('EC2 Spot Instance Interruption Warning', { 'instance-id': id, 'instance-action': 'terminate' }, 'ev-checkpoint');
    await expect(interruptionHandler(warning, lambdaContext)).rejects.toThrow(/simulated crash/);
    const interruptRequests = () =>
      [...s3.objects.keys()].map((k) => parseRequestKey(k.slice(k.indexOf('/') + 1))).filter((r) => r.ok && r.value.job === 'faults-checkpoint' && r.value.attempt === 1 && r.value.kind === 'interrupt');
    expect(interruptRequests()).toHaveLength(0);
    await interruptionHandler(warning, lambdaContext);
    expect(interruptRequests()).toHaveLength(1);
    expect((await table.store.get('faults-checkpoint'))?.Interruptions).toHaveLength(1);
  });
});

describe('a launch whose response is lost, on a job that ends before the watchdog asks again', () => {
  it('has its instances found by tag and terminated, even when the reclaim at the stop fails', async () => {
    // Real EC2 calls, to the local cloud's EC2, on a table of its own (the sweep reads the whole index)
    const own = await createTestTable();
    const simulator = new Ec2Simulator({
      region: 'us-east-1',
      account: '123456789012',
      timeScale: 1000,
      types: { 'g5.xlarge': { launchDelayMs: 30_000, spotCapacity: true, spotPrice: 0.4, onDemandPrice: 1.0 } },
      emit: async () => undefined,
    });
    const server = await simulator.listen(0);
    const ec2 = new EC2Client({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' }, maxAttempts: 1 });
    // Above the retries: RunInstances reaches EC2 and its answer is lost; later, DescribeInstances is down once.
    const faults = { loseRunInstances: 1, failDescribes: 0 };
    ec2.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DescribeInstancesCommand' && faults.failDescribes > 0) {
          faults.failDescribes--;
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        }
        const result = await next(args);
        if (context.commandName === 'RunInstancesCommand' && faults.loseRunInstances > 0) {
          faults.loseRunInstances--;
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }
        return result;
      },
      { step: 'initialize', name: 'loseResponses' },
    );
    const capacity = new Ec2Capacity(ec2, { imageId: 'ami-0123456789abcdef0', subnetIds: [], securityGroupIds: [], controlBucket: TEST_CONFIG.controlBucket, region: 'us-east-1' });
    const clock = { now: T0 };
    const services = servicesWith(own.store, capacity, clock);
    const api = (operation: string, body: unknown) =>
      handleSageMakerRequest(services, { method: 'POST', headers: { 'x-amz-target': `SageMaker.${operation}` }, body: JSON.stringify(body) });
    const name = 'faults-lost-launch';
    const running = async () => {
      const page = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:spot-training:job', Values: [name] }] }));
      return (page.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => ['pending', 'running'].includes(i.State?.Name ?? '')).map((i) => i.InstanceId);
    };
    try {
      // Given a job whose launch reached EC2 but whose answer never came back
      expect((await api('CreateTrainingJob', jobRequest(name))).statusCode).toBe(200);
      expect(faults.loseRunInstances).toBe(0);
      expect((await own.store.get(name))?.Attempts[0]?.InstanceIds).toEqual([]);
      const launched = await running();
      expect(launched).toHaveLength(1);

      // When the user stops it within the two minutes, and the reclaim after the write fails
      clock.now = T0 + 30_000;
      faults.failDescribes = 1;
      expect((await api('StopTrainingJob', { TrainingJobName: name })).statusCode).toBe(200);
      expect(faults.failDescribes).toBe(0);
      const stopped = await own.store.get(name);
      expect(stopped?.SecondaryStatus).toBe('Stopped');
      expect(await running()).toEqual(launched);

      // Then the deadline sweep looks again two minutes later, finds the instance by its tags and terminates it
      clock.now = T0 + 30_000 + RECLAIM_RECHECK_MS;
      expect(await sweepDeadlines(services)).toEqual({ due: 1, changed: 1 });
      expect(await running()).toEqual([]);
      // The look after that finds nothing: the watch ends and the job leaves the deadline index
      clock.now += RECLAIM_RECHECK_MS;
      expect(await sweepDeadlines(services)).toEqual({ due: 1, changed: 1 });
      const after = await own.store.get(name);
      expect(after?.PendingReclaim).toBeUndefined();
      expect(await own.store.dueJobs(clock.now + 24 * 3_600_000)).toEqual([]);
      // The job itself is as the stop left it
      expect(after?.Transitions).toEqual(stopped?.Transitions);
      expect(after?.LastModifiedTime).toBe(stopped?.LastModifiedTime);
    } finally {
      ec2.destroy();
      await simulator.close();
      await own.drop();
    }
  });

  it('deleting the stopped job takes the look at once', async () => {
    const own = await createTestTable();
    const capacity = new FakeCapacity();
    capacity.crash = 'after';
    const clock = { now: T0 };
    const services = servicesWith(own.store, capacity, clock);
    const api = (operation: string, body: unknown) =>
      handleSageMakerRequest(services, { method: 'POST', headers: { 'x-amz-target': `SageMaker.${operation}` }, body: JSON.stringify(body) });
    const name = 'faults-lost-launch-deleted';
    try {
      expect((await api('CreateTrainingJob', jobRequest(name))).statusCode).toBe(200);
      const reclaim = capacity.reclaim.bind(capacity);
      let reclaims = 0;
      capacity.reclaim = async (job, attempt) => {
        // The reclaim at the stop misses the instance (DescribeInstances lags); the one at the delete finds it
        if (reclaims++ === 0) return [];
        return reclaim(job, attempt);
      };
      expect((await api('StopTrainingJob', { TrainingJobName: name })).statusCode).toBe(200);
      expect([...capacity.instances.values()].map((i) => i.state)).toEqual(['running']);
      expect((await api('DeleteTrainingJob', { TrainingJobName: name })).statusCode).toBe(200);
      expect(reclaims).toBe(2);
      expect([...capacity.instances.values()].map((i) => i.state)).toEqual(['terminated']);
    } finally {
      await own.drop();
    }
  });
});

describe('an outage AWS would retry', () => {
  it('ends in the dead-letter queue after the retries; bad input never does', async () => {
    // DynamoDB unreachable: nothing listens on port 1.
    const down = new DynamoDBClient({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials: DYNAMODB_LOCAL_CREDENTIALS, maxAttempts: 2 });
    useServices(servicesWith(new DynamoJobStore(down, table.tableName)));
    const bus = new LocalEventBus({ region: 'us-east-1', account: '123456789012', maxDeliveryAttempts: 3, retryDelayMs: 10, log: () => undefined });
    let invocations = 0;
    bus.addRule({
      name: 'spotInterruptionWarning',
      pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
      target: (event) => {
        invocations++;
        return interruptionHandler(event, lambdaContext);
      },
    });
    await bus.putEvents([
      { Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': 'i-0123456789abcdef0', 'instance-action': 'terminate' }) },
      { Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': '../../etc/passwd', 'instance-action': 'terminate' }) },
    ]);
    await bus.idle();
    const letters = bus.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]?.event.detail['instance-id']).toBe('i-0123456789abcdef0');
    expect(letters[0]?.error).toMatch(/ECONNREFUSED|connect/i);
    // Three deliveries of the good event; one of the malformed event, dropped without a retry.
    expect(invocations).toBe(4);
    down.destroy();
  });
});
