import { describe, expect, it } from 'vitest';
import { JobHarness, MemoryBackend } from '../support/jobHarness.js';
import { trainingTimeInSeconds } from '../../shared/lifecycle/money.js';
import type { Attempt } from '../../shared/lifecycle/job.js';

/** Events that arrive late, twice, forged or about an instance that went away while the job waited. */
const stopJob = { StoppingCondition: { MaxRuntimeInSeconds: 3000, MaxWaitTimeInSeconds: 6000 }, SpotOptions: { InterruptionBehavior: 'stop' } };

async function trainingOn(h: JobHarness, id: string, overrides: Record<string, unknown> = stopJob): Promise<void> {
  await h.at(0).create(overrides);
  await h.at(10).launch([id]);
  await h.at(40).running(id);
  await h.at(60).report('downloaded');
}

/** No second of one attempt's running time is also a second of another's. */
function overlaps(attempts: Attempt[]): string[] {
  const found: string[] = [];
  for (let i = 1; i < attempts.length; i++) {
    const before = attempts[i - 1]!;
    const after = attempts[i]!;
    if (after.RunningTime !== undefined && before.EndTime !== undefined && after.RunningTime < before.EndTime) found.push(`${after.Number} starts before ${before.Number} ended`);
  }
  return found;
}

describe('a redelivered running during a stop interruption', () => {
  it('does not resume the attempt while the instance has not stopped', async () => {
    // Given a stop-behaviour job warned that its instance will stop
    const h = new JobHarness(new MemoryBackend(), 'rerunning-before-stop');
    await trainingOn(h, 'i-7000000000000001');
    await h.at(500).warn('i-7000000000000001', 'stop');
    // When the instance's running event is delivered again (EC2 still says running)
    const again = await h.at(510).running('i-7000000000000001');
    // Then nothing changes: the job waits in Interrupted on its first attempt
    expect(again.status).toBe('ignored');
    const job = await h.job();
    expect(job.SecondaryStatus).toBe('Interrupted');
    expect(job.Attempts).toHaveLength(1);
  });

  it('does not resume on the original running event after the instance stopped', async () => {
    const h = new JobHarness(new MemoryBackend(), 'original-running-after-stop');
    await trainingOn(h, 'i-7000000000000002');
    await h.at(500).warn('i-7000000000000002', 'stop');
    await h.at(620).gone('i-7000000000000002', 'stopped');
    // When the running event of t=40 arrives again, with its own time
    const job = await h.job();
    const late = await h.send({ type: 'instanceState', time: h.now - 580_000, instanceId: 'i-7000000000000002', instanceAttempt: 1, state: 'running' });
    expect(late.status).toBe('ignored');
    expect((await h.job()).Attempts).toHaveLength(job.Attempts.length);
    // And when the instance really comes back, the new attempt starts after the first ended
    await h.at(900).running('i-7000000000000002');
    const resumed = await h.job();
    expect(resumed.SecondaryStatus).toBe('Downloading');
    expect(resumed.Attempts.map((a) => [a.Number, a.EndReason, a.ResumedFromAttempt])).toEqual([
      [1, 'interrupted', undefined],
      [2, undefined, 1],
    ]);
    expect(overlaps(resumed.Attempts)).toEqual([]);
    // 40→620 and 900→now: no second counted twice
    expect(trainingTimeInSeconds(resumed, h.now)).toBe(580);
  });

  it('treats a warning that contradicts the request as the request: a terminate job is not kept waiting', async () => {
    // Given a job whose instances were requested to terminate on interruption
    const h = new JobHarness(new MemoryBackend(), 'warned-stop-on-terminate');
    await trainingOn(h, 'i-7000000000000003', { StoppingCondition: { MaxRuntimeInSeconds: 3000, MaxWaitTimeInSeconds: 6000 } });
    // When a (synthetic) warning says stop, and a running event comes again
    await h.at(500).warn('i-7000000000000003', 'stop');
    const again = await h.at(510).running('i-7000000000000003');
    // Then the interruption is recorded as terminate and nothing resumes
    expect(again.status).toBe('ignored');
    const job = await h.job();
    expect(job.Interruptions.map((i) => i.Action)).toEqual(['terminate']);
    expect(job.Attempts).toHaveLength(1);
    // And the instance's end launches new capacity
    const gone = await h.at(620).gone('i-7000000000000003', 'terminated');
    expect(gone.status !== 'not-found' && gone.effects.map((e) => e.type)).toContain('launch');
  });
});

describe('a stopped instance the job waits for is terminated', () => {
  it('goes on to new capacity at once instead of waiting for MaxWaitTimeInSeconds', async () => {
    const h = new JobHarness(new MemoryBackend(), 'stopped-then-terminated');
    await trainingOn(h, 'i-7000000000000004');
    await h.at(500).warn('i-7000000000000004', 'stop');
    await h.at(620).gone('i-7000000000000004', 'stopped');
    expect((await h.job()).SecondaryStatus).toBe('Interrupted');
    // When the stopped instance is terminated (by a person, by EC2, by a restart)
    const terminated = await h.at(700).gone('i-7000000000000004', 'terminated');
    // Then the job launches attempt 2: Interrupted → Starting
    expect(terminated.status).toBe('applied');
    expect(terminated.status !== 'not-found' && terminated.effects).toContainEqual(expect.objectContaining({ type: 'launch', attempt: 2 }));
    expect(await h.statuses()).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting']);
    // And a second copy of the event changes nothing
    expect((await h.at(710).gone('i-7000000000000004', 'terminated')).status).toBe('ignored');
  });
});

describe('a forged state change', () => {
  it('terminates the instance it claims is gone, and looks by tag when the attempt ends', async () => {
    const h = new JobHarness(new MemoryBackend(), 'forged-terminated');
    await trainingOn(h, 'i-7000000000000005', { StoppingCondition: { MaxRuntimeInSeconds: 3000, MaxWaitTimeInSeconds: 6000 } });
    // When a synthetic event says the running instance was terminated
    const forged = await h.at(300).send({ type: 'instanceState', time: h.now, instanceId: 'i-7000000000000005', instanceAttempt: 1, state: 'terminated', synthetic: true });
    // Then the job relaunches, and the instance is made to be what the event said
    expect(forged.status !== 'not-found' && forged.effects).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'terminateInstances', instanceIds: ['i-7000000000000005'] }),
        expect.objectContaining({ type: 'reclaimLaunches', attempt: 1 }),
        expect.objectContaining({ type: 'launch', attempt: 2 }),
      ]),
    );
  });

  it('from EC2 itself is believed without terminating anything by id', async () => {
    const h = new JobHarness(new MemoryBackend(), 'real-terminated');
    await trainingOn(h, 'i-7000000000000006', { StoppingCondition: { MaxRuntimeInSeconds: 3000, MaxWaitTimeInSeconds: 6000 } });
    const gone = await h.at(300).gone('i-7000000000000006', 'terminated');
    expect(gone.status !== 'not-found' && gone.effects.filter((e) => e.type === 'terminateInstances')).toEqual([]);
  });

  it('every end of a job looks by tag for what EC2 still runs for its last attempt', async () => {
    const h = new JobHarness(new MemoryBackend(), 'completed-looks');
    await trainingOn(h, 'i-7000000000000007');
    await h.at(200).report('uploading');
    const done = await h.at(230).report('completed');
    expect(done.status !== 'not-found' && done.effects).toContainEqual(expect.objectContaining({ type: 'reclaimLaunches', attempt: 1 }));
  });
});
