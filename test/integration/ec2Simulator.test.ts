/**
 * The local cloud's EC2, driven only through @aws-sdk/client-ec2 pointed at it with
 * `endpoint`: what the product's capacity code sees is what it would see from EC2.
 */
import {
  DescribeInstancesCommand,
  DescribeSpotPriceHistoryCommand,
  EC2Client,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type RunInstancesCommandInput,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ec2Simulator, type SimulatedEvent, type SimulatorTimers } from '../../localcloud/ec2Simulator.js';
import { Ec2Capacity } from '../../shared/capacity/ec2Capacity.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
// One simulated minute in 60 real ms: a 90 s launch takes 90 ms, the two-minute warning 120 ms.
const TIME_SCALE = 1000;

let simulator: Ec2Simulator;
let ec2: EC2Client;
let events: SimulatedEvent[];

/**
 * Timers that fire only when the test moves time on, so that "nothing happened in that time"
 * is proven by the time having passed, however slow the machine.
 */
class ManualTimers implements SimulatorTimers {
  private now = 0;
  private readonly due = new Map<object, { at: number; run: () => void }>();

  set(run: () => void, ms: number): unknown {
    const handle = {};
    this.due.set(handle, { at: this.now + ms, run });
    return handle;
  }

  clear(handle: unknown): void {
    this.due.delete(handle as object);
  }

  get pending(): number {
    return this.due.size;
  }

  /** Moves time on by `ms`, firing in order every timer that falls due, those they set included. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = [...this.due].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.due.delete(next[0]);
      this.now = next[1].at;
      next[1].run();
    }
    this.now = end;
  }
}

/** The simulator of these tests; with `timers`, its time moves only when the test says (timeScale 1). */
async function startSimulator(timers?: ManualTimers): Promise<void> {
  events = [];
  simulator = new Ec2Simulator({
    region: REGION,
    account: ACCOUNT,
    timeScale: timers ? 1 : TIME_SCALE,
    types: {
      'g5.xlarge': { launchDelayMs: 90_000, spotCapacity: true, spotPrice: 0.4123, onDemandPrice: 1.006 },
      'p4d.24xlarge': { launchDelayMs: 90_000, spotCapacity: false, spotPrice: 9.8, onDemandPrice: 32.77 },
    },
    emit: async (event) => {
      events.push(event);
    },
    ...(timers ? { timers } : {}),
  });
  const server = await simulator.listen(0);
  ec2?.destroy();
  ec2 = new EC2Client({ endpoint: server.url, region: REGION, credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } });
}

/** A simulator on manual timers in place of the real-time one. */
async function withManualTime(): Promise<ManualTimers> {
  await simulator.close();
  const timers = new ManualTimers();
  await startSimulator(timers);
  return timers;
}

beforeEach(() => startSimulator());

afterEach(async () => {
  ec2.destroy();
  await simulator.close();
});

const spotLaunch = (overrides: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput => ({
  ImageId: 'ami-0123456789abcdef0',
  InstanceType: 'g5.xlarge',
  MinCount: 1,
  MaxCount: 1,
  InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } },
  TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'spot-training:job', Value: 'resnet-spot-1' }, { Key: 'spot-training:attempt', Value: '1' }] }],
  ...overrides,
});

async function launch(overrides: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const reservation = await ec2.send(new RunInstancesCommand(spotLaunch(overrides)));
  const instanceId = reservation.Instances?.[0]?.InstanceId;
  if (!instanceId) throw new Error('RunInstances returned no instance');
  return instanceId;
}

/** The events about one instance, as `detail-type: state-or-action`. */
function timeline(instanceId: string): string[] {
  return events
    .filter((event) => event.detail['instance-id'] === instanceId)
    .map((event) => `${event.detailType}: ${String(event.detail['state'] ?? event.detail['instance-action'] ?? '')}`);
}

async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.map((e) => [e.detailType, e.detail]))}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const stateChange = (state: string) => `EC2 Instance State-change Notification: ${state}`;

describe('RunInstances on spot', () => {
  it('launches a tagged spot instance that goes pending, then running, with the state-change events EC2 emits', async () => {
    // When a one-time spot instance is launched with tags, user data and an instance profile
    const reservation = await ec2.send(
      new RunInstancesCommand(spotLaunch({ UserData: Buffer.from('#!/bin/sh\necho hi').toString('base64'), IamInstanceProfile: { Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/trainer` } })),
    );

    // Then EC2's answer describes a pending spot instance with an EC2-shaped id and the tags
    const instance = reservation.Instances?.[0];
    expect(reservation.ReservationId).toMatch(/^r-[0-9a-f]{17}$/);
    expect(instance?.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(instance?.State).toEqual({ Code: 0, Name: 'pending' });
    expect(instance?.InstanceLifecycle).toBe('spot');
    expect(instance?.InstanceType).toBe('g5.xlarge');
    expect(instance?.LaunchTime).toBeInstanceOf(Date);
    expect(instance?.Tags).toEqual(expect.arrayContaining([{ Key: 'spot-training:job', Value: 'resnet-spot-1' }]));
    expect(instance?.IamInstanceProfile?.Arn).toBe(`arn:aws:iam::${ACCOUNT}:instance-profile/trainer`);
    const id = instance!.InstanceId!;
    expect(simulator.instance(id)).toMatchObject({ market: 'spot', spotRequestType: 'one-time', userData: Buffer.from('#!/bin/sh\necho hi').toString('base64') });

    // And after the launch delay it is running, announced by one event per state
    await until(() => timeline(id).length === 2, 'pending and running events');
    expect(timeline(id)).toEqual([stateChange('pending'), stateChange('running')]);
    expect(events[0]).toMatchObject({ source: 'aws.ec2', resources: [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`], detail: { 'instance-id': id, state: 'pending' } });
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(described.Reservations?.[0]?.Instances?.[0]?.State).toEqual({ Code: 16, Name: 'running' });
  });

  it('answers a retried request with the same client token with the same reservation, launching nothing new', async () => {
    // Given a launch with a client token
    const first = await ec2.send(new RunInstancesCommand(spotLaunch({ ClientToken: 'resnet-spot-1/attempt-1/launch-1' })));

    // When the same request is sent again (a retried Lambda, a lost answer)
    const again = await ec2.send(new RunInstancesCommand(spotLaunch({ ClientToken: 'resnet-spot-1/attempt-1/launch-1' })));

    // Then it is the same reservation and instance, and only one instance exists
    expect(again.ReservationId).toBe(first.ReservationId);
    expect(again.Instances?.map((i) => i.InstanceId)).toEqual(first.Instances?.map((i) => i.InstanceId));
    expect(simulator.instances()).toHaveLength(1);

    // And the same token with different parameters is refused as EC2 refuses it
    const mismatch = await ec2.send(new RunInstancesCommand(spotLaunch({ ClientToken: 'resnet-spot-1/attempt-1/launch-1', MaxCount: 2 }))).catch((e: unknown) => e);
    expect(mismatch).toMatchObject({ name: 'IdempotentParameterMismatch', $metadata: { httpStatusCode: 400 } });
    expect(simulator.instances()).toHaveLength(1);
  });

  it('surfaces no spot capacity as InsufficientInstanceCapacity, an HTTP 500 the SDK retries before giving up', async () => {
    // When a spot instance of a type without spot capacity is requested
    const error = await ec2.send(new RunInstancesCommand(spotLaunch({ InstanceType: 'p4d.24xlarge' }))).catch((e: unknown) => e);

    // Then the SDK throws EC2's error, by name, with EC2's spot message
    expect(error).toMatchObject({
      name: 'InsufficientInstanceCapacity',
      message: 'There is no Spot capacity available that matches your request.',
      $metadata: { httpStatusCode: 500, attempts: 3 },
    });
    expect((error as { $metadata: { requestId?: string } }).$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(simulator.instances()).toHaveLength(0);

    // And once capacity is back the same request launches
    simulator.setSpotCapacity('p4d.24xlarge', true);
    await expect(launch({ InstanceType: 'p4d.24xlarge' })).resolves.toMatch(/^i-/);
  });

  it('refuses what EC2 refuses: an unknown instance type, stop behaviour on a one-time request, an unknown action', async () => {
    const unknownType = await ec2.send(new RunInstancesCommand(spotLaunch({ InstanceType: 'g9.mega' as _InstanceType }))).catch((e: unknown) => e);
    expect(unknownType).toMatchObject({ name: 'InvalidParameterValue', message: "Invalid value 'g9.mega' for InstanceType." });

    const stopOnOneTime = await ec2
      .send(new RunInstancesCommand(spotLaunch({ InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'stop' } } })))
      .catch((e: unknown) => e);
    expect(stopOnOneTime).toMatchObject({ name: 'InvalidParameterCombination' });

    const unknownInstance = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })).catch((e: unknown) => e);
    expect(unknownInstance).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    expect(simulator.instances()).toHaveLength(0);
  });
});

describe('spot interruptions', () => {
  it('terminate: the two-minute warning with its instance-action, then shutting-down and terminated', async () => {
    // Given a running one-time spot instance
    const id = await launch();
    await until(() => simulator.instance(id)?.state === 'running', 'running');

    // When AWS reclaims it, with a rebalance recommendation first
    await simulator.interrupt(id, 'terminate', { rebalance: true });

    // Then the recommendation and the warning come at once, the action two (simulated) minutes later
    expect(timeline(id).slice(2)).toEqual(['EC2 Instance Rebalance Recommendation: ', 'EC2 Spot Instance Interruption Warning: terminate']);
    expect(events.find((e) => e.detailType === 'EC2 Spot Instance Interruption Warning')?.detail).toEqual({ 'instance-id': id, 'instance-action': 'terminate' });
    expect(simulator.instance(id)?.state).toBe('running');
    await until(() => simulator.instance(id)?.state === 'terminated', 'terminated');
    await until(() => timeline(id).length === 6, 'the terminated event');
    expect(timeline(id)).toEqual([
      stateChange('pending'),
      stateChange('running'),
      'EC2 Instance Rebalance Recommendation: ',
      'EC2 Spot Instance Interruption Warning: terminate',
      stateChange('shutting-down'),
      stateChange('terminated'),
    ]);
  });

  it('stop on a persistent request: stopping, stopped, and the same instance comes back pending then running', async () => {
    // Given a running instance of a persistent spot request that stops when interrupted
    const id = await launch({
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' } },
    });
    await until(() => simulator.instance(id)?.state === 'running', 'running');
    expect(simulator.instance(id)).toMatchObject({ spotRequestType: 'persistent', interruptionBehavior: 'stop' });

    // When it is interrupted (the action defaults to the request's interruption behaviour)
    await simulator.interrupt(id);

    // Then it stops, and once capacity allows, starts again: the same instance id
    await until(() => timeline(id).length === 7, 'the instance running again');
    expect(timeline(id)).toEqual([
      stateChange('pending'),
      stateChange('running'),
      'EC2 Spot Instance Interruption Warning: stop',
      stateChange('stopping'),
      stateChange('stopped'),
      stateChange('pending'),
      stateChange('running'),
    ]);
    expect(simulator.instances()).toHaveLength(1);
  });

  it('a stopped persistent instance waits while there is no spot capacity', async () => {
    // Given a running instance of a persistent request that hibernates, and no spot capacity left
    const timers = await withManualTime();
    const id = await launch({
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'hibernate' } },
    });
    timers.advance(90_000);
    expect(simulator.instance(id)?.state).toBe('running');
    simulator.setSpotCapacity('g5.xlarge', false);

    // When it is interrupted: the two-minute notice, then stopping and stopped
    await simulator.interrupt(id);
    timers.advance(120_000 + 10_000);
    expect(simulator.instance(id)?.state).toBe('stopped');

    // Then three return delays (60 simulated seconds each) later it is still stopped, still waiting to return
    timers.advance(3 * 60_000);
    expect(simulator.instance(id)?.state).toBe('stopped');
    expect(timers.pending).toBe(1);

    // And once capacity is back it returns at the next try, and runs after the launch delay
    simulator.setSpotCapacity('g5.xlarge', true);
    timers.advance(60_000 + 90_000);
    expect(simulator.instance(id)?.state).toBe('running');
    await until(() => timeline(id).at(-1) === stateChange('running'), 'the running event');
    expect(timeline(id)).toEqual([
      stateChange('pending'),
      stateChange('running'),
      'EC2 Spot Instance Interruption Warning: hibernate',
      stateChange('stopping'),
      stateChange('stopped'),
      stateChange('pending'),
      stateChange('running'),
    ]);
  });
});

describe('TerminateInstances, StopInstances and DescribeInstances', () => {
  it('terminates: shutting-down at once in the answer, terminated shortly after, with events', async () => {
    const id = await launch();
    await until(() => simulator.instance(id)?.state === 'running', 'running');

    const answer = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));

    expect(answer.TerminatingInstances).toEqual([{ InstanceId: id, CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } }]);
    await until(() => timeline(id).length === 4, 'terminated');
    expect(timeline(id)).toEqual([stateChange('pending'), stateChange('running'), stateChange('shutting-down'), stateChange('terminated')]);
  });

  it('terminating a pending instance cancels its launch: it never reports running', async () => {
    // Given a pending instance, terminated before its launch delay is over
    const timers = await withManualTime();
    const id = await launch();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));

    // When its launch delay has passed several times over
    timers.advance(5 * 90_000);

    // Then it is terminated with nothing left to happen, and never reported running
    expect(simulator.instance(id)?.state).toBe('terminated');
    expect(timers.pending).toBe(0);
    await until(() => timeline(id).length === 3, 'the terminated event');
    expect(timeline(id)).toEqual([stateChange('pending'), stateChange('shutting-down'), stateChange('terminated')]);
  });

  it('refuses to stop a one-time spot instance, as EC2 does', async () => {
    const id = await launch();
    await until(() => simulator.instance(id)?.state === 'running', 'running');
    const error = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnsupportedOperation' });
  });

  it('finds instances by tag and by state', async () => {
    // Given two jobs' instances, one of them terminated
    const mine = await launch();
    const other = await launch({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'spot-training:job', Value: 'other-job' }] }] });
    const gone = await launch();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));

    // When the job's live instances are asked for
    const found = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'tag:spot-training:job', Values: ['resnet-spot-1'] },
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
        ],
      }),
    );

    // Then exactly that job's live instance comes back, with its tags and lifecycle
    const instances = found.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    expect(instances.map((i) => i.InstanceId)).toEqual([mine]);
    expect(instances[0]?.Tags).toEqual([
      { Key: 'spot-training:job', Value: 'resnet-spot-1' },
      { Key: 'spot-training:attempt', Value: '1' },
    ]);
    expect(instances[0]?.InstanceLifecycle).toBe('spot');
    expect(instances.map((i) => i.InstanceId)).not.toContain(other);

    // And wildcards work as in EC2 filters
    const all = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:spot-training:job', Values: ['*'] }] }));
    expect(all.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId).sort()).toEqual([mine, other, gone].sort());
  });

  it("reclaims, through the product's capacity, an attempt whose launch response was lost", async () => {
    // Given a launch the product made but never heard back from, and another attempt's instance
    const capacity = new Ec2Capacity(ec2, { imageId: 'ami-0123456789abcdef0', subnetIds: [], securityGroupIds: [], controlBucket: 'control', region: REGION });
    const request = { jobName: 'resnet-spot-1', attempt: 2, launchRequest: 1, instanceType: 'g5.xlarge', market: 'spot' as const, count: 2, clientToken: 'resnet-spot-1-lost', interruptionBehavior: 'terminate' as const, volumeSizeInGB: 50 };
    const launched = await capacity.launch(request);
    expect(launched.ok).toBe(true);
    const earlier = await launch();

    // When the attempt is reclaimed by its tags
    const reclaimed = await capacity.reclaim('resnet-spot-1', 2);

    // Then exactly its instances are terminated, and a second reclaim finds nothing
    expect(launched.ok && reclaimed.sort()).toEqual(launched.ok && [...launched.instanceIds].sort());
    const states = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...reclaimed, earlier] }));
    const stateOf = new Map(states.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId, i.State?.Name]));
    for (const id of reclaimed) expect(['shutting-down', 'terminated']).toContain(stateOf.get(id));
    // The other attempt's instance is left alone (pending or, on a slow machine, already running).
    expect(['pending', 'running']).toContain(stateOf.get(earlier));
    expect(await capacity.reclaim('resnet-spot-1', 2)).toEqual([]);
  });

  it('gives the configured spot price as the spot price history', async () => {
    const history = await ec2.send(new DescribeSpotPriceHistoryCommand({ InstanceTypes: ['g5.xlarge'], ProductDescriptions: ['Linux/UNIX'], StartTime: new Date() }));
    expect(history.SpotPriceHistory).toEqual([
      expect.objectContaining({ InstanceType: 'g5.xlarge', ProductDescription: 'Linux/UNIX', SpotPrice: '0.412300', AvailabilityZone: 'us-east-1a', Timestamp: expect.any(Date) }),
    ]);
  });
});

describe('event order', () => {
  it("delivers one instance's events in order even when delivery is slow and uneven", async () => {
    // Given a simulator whose event bus takes longer for earlier events than for later ones
    const delivered: string[] = [];
    let delay = 40;
    const slow = new Ec2Simulator({
      region: REGION,
      account: ACCOUNT,
      timeScale: 10_000,
      types: { 'g5.xlarge': { launchDelayMs: 10_000, spotCapacity: true, spotPrice: 0.4, onDemandPrice: 1 } },
      emit: async (event) => {
        const wait = Math.max(0, (delay -= 10));
        await new Promise((resolve) => setTimeout(resolve, wait));
        delivered.push(String(event.detail['state'] ?? event.detailType));
      },
    });
    const server = await slow.listen(0);
    const client = new EC2Client({ endpoint: server.url, region: REGION, credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } });
    try {
      // When an instance launches and is terminated quickly
      const reservation = await client.send(new RunInstancesCommand(spotLaunch()));
      const id = reservation.Instances![0]!.InstanceId!;
      await until(() => slow.instance(id)?.state === 'running', 'running');
      await client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
      await until(() => delivered.length === 4, 'four deliveries');

      // Then the events arrive in the order the states happened
      expect(delivered).toEqual(['pending', 'running', 'shutting-down', 'terminated']);
    } finally {
      client.destroy();
      await slow.close();
    }
  });
});

describe('close', () => {
  it('stops every timer: no event after close', async () => {
    // Given a pending instance
    const timers = await withManualTime();
    const id = await launch();
    expect(timers.pending).toBe(1);

    // When the simulator closes and the launch delay passes
    await simulator.close();
    const count = events.length;
    timers.advance(5 * 90_000);

    // Then no timer was left, no event came, and the instance never ran
    expect(timers.pending).toBe(0);
    expect(events).toHaveLength(count);
    expect(simulator.instance(id)?.state).toBe('pending');
  });
});
