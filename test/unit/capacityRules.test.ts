import { describe, expect, it } from 'vitest';
import { decide, impliedEffects, type Effect } from '../../shared/lifecycle/decide.js';
import { launchRetryDelayMs, nextDeadline, RECLAIM_MAX_CHECKS } from '../../shared/lifecycle/deadlines.js';
import { currentAttempt, launchClientToken } from '../../shared/lifecycle/job.js';
import { JobHarness, MemoryBackend, T0 } from '../support/jobHarness.js';

const launches = (effects: Effect[]) => effects.filter((e): e is Extract<Effect, { type: 'launch' }> => e.type === 'launch');

describe('launch retries and fallbacks', () => {
  it('retries capacity errors with new client tokens, through the fallback types in order, and on-demand after the configured wait', async () => {
    const h = new JobHarness(new MemoryBackend(), 'fallbacks');
    await h.at(0).create({ SpotOptions: { FallbackInstanceTypes: ['g5.2xlarge', 'ml.g4dn.xlarge'], OnDemandFallbackAfterSeconds: 600 } });
    const seen: { type: string; market: string; token: string }[] = [];
    for (const t of [5, 40, 80, 120]) {
      await h.at(t).capacityError('InsufficientInstanceCapacity', 30);
      const due = await h.at(t + 31).timer();
      const launch = launches(due.status === 'not-found' ? [] : due.effects)[0];
      expect(launch).toBeDefined();
      seen.push({ type: launch!.instanceType, market: launch!.market, token: launch!.clientToken });
    }
    expect(seen.map((s) => s.type)).toEqual(['g5.2xlarge', 'g4dn.xlarge', 'g5.xlarge', 'g5.2xlarge']);
    expect(new Set(seen.map((s) => s.token)).size).toBe(4);
    await h.at(700).capacityError('InsufficientInstanceCapacity', 30);
    const late = await h.at(731).timer();
    expect(launches(late.status === 'not-found' ? [] : late.effects)[0]).toMatchObject({ market: 'on-demand', instanceType: 'g5.xlarge' });
    expect((await h.job()).TrainingJobStatus).toBe('InProgress');
  });

  it('never launches twice for one decision: a redelivered launch effect carries the same client token', async () => {
    const h = new JobHarness(new MemoryBackend(), 'same-token');
    const job = await h.at(0).create();
    const token = launchClientToken(job.TrainingJobName, currentAttempt(job));
    // A watchdog tick re-issues the pending launch with the token of the first request
    const watchdog = decide(job, { type: 'timer', time: T0 + 121_000 }, T0 + 121_000);
    expect(launches(watchdog.effects).map((l) => l.clientToken)).toEqual([token]);
  });

  it('backs off exponentially with jitter, within bounds', () => {
    expect(launchRetryDelayMs(1, 0)).toBe(7500);
    expect(launchRetryDelayMs(1, 0.999)).toBeLessThanOrEqual(15_000);
    expect(launchRetryDelayMs(3, 0.999)).toBeGreaterThan(50_000);
    expect(launchRetryDelayMs(30, 0.999)).toBeLessThanOrEqual(300_000);
  });

  it('fails the job on a launch error that retrying cannot fix', async () => {
    const h = new JobHarness(new MemoryBackend(), 'rejected');
    await h.at(0).create();
    const attempt = currentAttempt(await h.job());
    await h.at(5).send({
      type: 'launchFailed',
      time: h.now,
      attempt: attempt.Number,
      launchRequest: attempt.LaunchRequests,
      errorCode: 'InvalidAMIID.NotFound',
      message: 'The image id does not exist',
      capacity: false,
      retryable: false,
      retryAt: h.now,
    });
    const job = await h.job();
    expect(job.SecondaryStatus).toBe('Failed');
    expect(job.FailureReason).toBe('CapacityError: InvalidAMIID.NotFound: The image id does not exist');
  });
});

describe('multi-instance attempts', () => {
  it('train only when every instance runs; one interruption interrupts the attempt and terminates the others', async () => {
    const h = new JobHarness(new MemoryBackend(), 'two-nodes');
    await h.at(0).create({ ResourceConfig: { InstanceType: 'g5.xlarge', InstanceCount: 2 } });
    await h.at(10).launch(['i-4000000000000001', 'i-4000000000000002']);
    await h.at(40).running('i-4000000000000001');
    expect((await h.job()).SecondaryStatus).toBe('Starting');
    await h.at(45).running('i-4000000000000002');
    expect((await h.job()).SecondaryStatus).toBe('Downloading');
    await h.at(60).report('downloaded');
    const warned = await h.at(300).warn('i-4000000000000002');
    expect(warned.status !== 'not-found' && warned.effects).toContainEqual(
      expect.objectContaining({ type: 'terminateInstances', instanceIds: ['i-4000000000000001'] }),
    );
    await h.at(400).gone('i-4000000000000002');
    expect((await h.job()).SecondaryStatus).toBe('Interrupted');
    const last = await h.at(410).gone('i-4000000000000001');
    expect(last.status !== 'not-found' && launches(last.effects)).toEqual([expect.objectContaining({ attempt: 2, count: 2 })]);
    expect(await h.statuses()).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting']);
  });
});

describe('a lost EC2 event', () => {
  it('does not strand an on-demand job: an interrupted attempt whose instance never reports its end is given up on after the timeout', async () => {
    const h = new JobHarness(new MemoryBackend(), 'lost-terminated');
    await h.at(0).create({ EnableManagedSpotTraining: false, StoppingCondition: { MaxRuntimeInSeconds: 36000 } });
    await h.at(10).launch(['i-6000000000000001']);
    await h.at(40).running('i-6000000000000001');
    await h.at(60).report('downloaded');
    // The instance went away without a warning and its "terminated" event was lost: only a stopping event arrives
    await h.at(100).gone('i-6000000000000001', 'shutting-down');
    expect((await h.job()).SecondaryStatus).toBe('Starting');
    // A restart: failed training with a retry, and the instance's end never reported
    const r = new JobHarness(new MemoryBackend(), 'lost-after-failure');
    await r.at(0).create({ EnableManagedSpotTraining: false, StoppingCondition: { MaxRuntimeInSeconds: 36000 }, RetryStrategy: { MaximumRetryAttempts: 1 } });
    await r.at(10).launch(['i-6000000000000002']);
    await r.at(40).running('i-6000000000000002');
    await r.at(60).report('downloaded');
    await r.at(90).report('failed', { exitCode: 1 });
    expect((await r.at(600).timer()).status).toBe('ignored');
    const due = await r.at(691).timer();
    expect(due.status !== 'not-found' && due.effects.map((e) => e.type)).toEqual(['terminateInstances', 'reclaimLaunches', 'launch']);
    expect(await r.statuses()).toEqual(['Starting', 'Downloading', 'Training', 'Restarting', 'Starting']);
  });
});

describe('a lost launch response', () => {
  it('reclaims by tag what EC2 launched for an attempt that ends before the launch reported back', async () => {
    const h = new JobHarness(new MemoryBackend(), 'lost-launch');
    await h.at(0).create();
    // The launch ran, its response was lost; the user stops the job before the watchdog asks again
    const stop = await h.at(30).stop();
    expect(stop.status !== 'not-found' && stop.effects).toEqual([{ type: 'reclaimLaunches', attempt: 1, reason: expect.any(String), reportBack: false }]);
    expect((await h.job()).SecondaryStatus).toBe('Stopped');
    // A redelivered event, after a crash between the write and the cleanup, issues it again
    expect(impliedEffects(await h.job()).map((e) => e.type)).toEqual(['reclaimLaunches']);
  });

  it('looks again after the stop, until a look finds nothing: a launch in flight, a lagging DescribeInstances or a failed reclaim is caught', async () => {
    const h = new JobHarness(new MemoryBackend(), 'lost-launch-watch');
    await h.at(0).create();
    await h.at(30).stop();
    const stopped = await h.job();
    // The finished job stays in the deadline index for the next look, two minutes on
    expect(stopped.PendingReclaim).toEqual({ Attempt: 1, DueTime: T0 + 150_000, Checks: 0 });
    expect(nextDeadline(stopped)).toBe(T0 + 150_000);
    expect((await h.at(149).timer()).status).toBe('ignored');

    // The look: a reclaim that reports back, the watch moved on, nothing else about the job changed
    const look = await h.at(150).timer();
    expect(look.status !== 'not-found' && look.effects).toEqual([{ type: 'reclaimLaunches', attempt: 1, reason: expect.any(String), reportBack: true }]);
    const looked = await h.job();
    expect(looked.PendingReclaim).toEqual({ Attempt: 1, DueTime: T0 + 270_000, Checks: 1 });
    expect({ ...looked, PendingReclaim: undefined, Version: 0 }).toEqual({ ...stopped, PendingReclaim: undefined, Version: 0 });

    // It found and terminated an instance: the watch stays for another look
    expect((await h.at(151).send({ type: 'reclaimed', time: T0 + 151_000, attempt: 1, found: 1 })).status).toBe('ignored');
    expect((await h.job()).PendingReclaim?.Checks).toBe(1);
    // The next look finds nothing: the watch ends and the job leaves the deadline index
    await h.at(270).timer();
    expect((await h.at(271).send({ type: 'reclaimed', time: T0 + 271_000, attempt: 1, found: 0 })).status).toBe('applied');
    const done = await h.job();
    expect(done.PendingReclaim).toBeUndefined();
    expect(nextDeadline(done)).toBeUndefined();
    expect(done.LastModifiedTime).toBe(stopped.LastModifiedTime);
    expect((await h.at(900).timer()).status).toBe('ignored');
  });

  it('gives up the watch after its last look, whatever the looks found', async () => {
    const h = new JobHarness(new MemoryBackend(), 'lost-launch-give-up');
    await h.at(0).create();
    await h.at(30).stop();
    const looks: number[] = [];
    for (let t = 150; t < 2000; t += 120) {
      const outcome = await h.at(t).timer();
      if (outcome.status === 'applied') looks.push(t);
      // Every look finds one more instance (a launch that keeps coming back): the watch does not end by itself
      await h.at(t + 1).send({ type: 'reclaimed', time: T0 + (t + 1) * 1000, attempt: 1, found: 1 });
    }
    expect(looks).toHaveLength(RECLAIM_MAX_CHECKS);
    expect((await h.job()).PendingReclaim).toBeUndefined();
  });

  it('leaves nothing to reclaim once the attempt knows its instances', async () => {
    const h = new JobHarness(new MemoryBackend(), 'known-launch');
    await h.at(0).create();
    await h.at(10).launch(['i-6000000000000003']);
    const stop = await h.at(30).stop();
    expect(stop.status !== 'not-found' && stop.effects.map((e) => e.type)).toEqual(['requestCheckpoint', 'terminateInstances']);
  });
});

describe('an attempt given up on', () => {
  it('terminates its stopped instances, which could otherwise run again on their own', async () => {
    const h = new JobHarness(new MemoryBackend(), 'stopped-left-behind');
    await h.at(0).create({ EnableManagedSpotTraining: false, StoppingCondition: { MaxRuntimeInSeconds: 36000 } });
    await h.at(10).launch(['i-6000000000000004']);
    await h.at(40).running('i-6000000000000004');
    await h.at(60).report('downloaded');
    // An on-demand instance that was stopped does not come back by itself: a new attempt is launched
    const gone = await h.at(100).gone('i-6000000000000004', 'stopped');
    expect(gone.status !== 'not-found' && gone.effects).toEqual([
      expect.objectContaining({ type: 'terminateInstances', attempt: 1, instanceIds: ['i-6000000000000004'], graceful: false }),
      expect.objectContaining({ type: 'reclaimLaunches', attempt: 1 }),
      expect.objectContaining({ type: 'launch', attempt: 2 }),
    ]);
    expect(await h.statuses()).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting']);
  });

  it('terminates nothing by id when its instances were terminated, and looks by tag for what EC2 may still run', async () => {
    const h = new JobHarness(new MemoryBackend(), 'terminated-left-behind');
    await h.at(0).create({ EnableManagedSpotTraining: false, StoppingCondition: { MaxRuntimeInSeconds: 36000 } });
    await h.at(10).launch(['i-6000000000000005']);
    await h.at(40).running('i-6000000000000005');
    await h.at(60).report('downloaded');
    const gone = await h.at(100).gone('i-6000000000000005', 'terminated');
    expect(gone.status !== 'not-found' && gone.effects.map((e) => e.type)).toEqual(['reclaimLaunches', 'launch']);
  });
});
