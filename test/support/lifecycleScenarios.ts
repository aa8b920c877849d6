import { expect, it } from 'vitest';
import { MESSAGES } from '../../shared/lifecycle/statuses.js';
import { billableTimeInSeconds, trainingTimeInSeconds } from '../../shared/lifecycle/money.js';
import { JobHarness, type Backend } from './jobHarness.js';

/**
 * The four lifecycles SageMaker documents for managed spot training (no interruption;
 * interrupted once; interrupted twice until MaxWaitTimeInSeconds; never launched) and the other
 * ends a job can come to, written once and run twice: against the pure lifecycle (unit) and
 * against the store on DynamoDB Local (integration). Each asserts the SecondaryStatusTransitions transition by transition.
 */
export function lifecycleScenarios(backend: () => Backend, prefix: string): void {
  const harness = (name: string) => new JobHarness(backend(), `${prefix}-${name}`);

  it('lifecycle 1: no interruption — InProgress: Starting, Downloading, Training, Uploading; then Completed', async () => {
    // Given a spot job whose instance launches and runs to the end
    const h = harness('no-interruption');
    await h.at(0).create();
    await h.at(10).launch(['i-0a00000000000001']);
    await h.at(40).running('i-0a00000000000001');
    await h.at(70).report('downloaded');
    await h.at(1000).report('uploading');
    await h.at(1040).report('completed');

    // Then the transitions are exactly SageMaker's for an uninterrupted spot job
    expect(await h.lifecycle()).toEqual(['InProgress: Starting, Downloading, Training, Uploading', 'Completed: Completed']);
    const job = await h.job();
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(job.Transitions.map((t) => t.StatusMessage)).toEqual([
      MESSAGES.preparing,
      MESSAGES.downloadingFromScratch,
      MESSAGES.training,
      MESSAGES.uploading,
      MESSAGES.completed,
    ]);
    // And time is counted from running to the end, billed at the spot ratio 0.3
    expect(trainingTimeInSeconds(job, h.now)).toBe(1000);
    expect(billableTimeInSeconds(job, h.now)).toBe(300);
    expect(job.Attempts).toHaveLength(1);
    expect(job.Attempts[0]).toMatchObject({ EndReason: 'completed', InstanceIds: ['i-0a00000000000001'] });
  });

  it('lifecycle 2: interrupted once, capacity found again — … Training, Interrupted, Starting, Downloading, Training, Uploading; then Completed', async () => {
    const h = harness('interrupted-once');
    await h.at(0).create();
    await h.at(10).launch(['i-0b00000000000001']);
    await h.at(40).running('i-0b00000000000001');
    await h.at(70).report('downloaded');
    await h.at(300).checkpoint(1200);
    // When the spot warning arrives, the agent is asked for a final checkpoint at once
    const warned = await h.at(500).warn('i-0b00000000000001', 'terminate');
    expect(warned.status).toBe('applied');
    expect(warned.status !== 'not-found' && warned.effects).toContainEqual(
      expect.objectContaining({ type: 'requestCheckpoint', reason: 'interruption', instanceIds: ['i-0b00000000000001'] }),
    );
    // And when the instance is gone, new capacity is launched for attempt 2
    const gone = await h.at(620).gone('i-0b00000000000001', 'terminated');
    expect(gone.status !== 'not-found' && gone.effects).toContainEqual(expect.objectContaining({ type: 'launch', attempt: 2 }));
    await h.at(700).launch(['i-0b00000000000002']);
    const running = await h.at(730).running('i-0b00000000000002');
    // The new attempt restores the latest complete checkpoint
    expect(running.status !== 'not-found' && running.effects).toContainEqual(
      expect.objectContaining({ type: 'writeRestore', attempt: 2, checkpoint: expect.objectContaining({ Id: 'step=1200' }) }),
    );
    await h.at(760).report('downloaded');
    await h.at(1500).report('uploading');
    await h.at(1530).report('completed');

    expect(await h.lifecycle()).toEqual([
      'InProgress: Starting, Downloading, Training, Interrupted, Starting, Downloading, Training, Uploading',
      'Completed: Completed',
    ]);
    const job = await h.job();
    expect(job.Attempts.map((a) => [a.Number, a.EndReason, a.InstanceAction])).toEqual([
      [1, 'interrupted', 'terminate'],
      [2, 'completed', undefined],
    ]);
    expect(job.Interruptions).toEqual([{ Time: h.now - 1030_000, InstanceId: 'i-0b00000000000001', Action: 'terminate', Attempt: 1 }]);
    // Training time: 40→620 and 730→1530
    expect(trainingTimeInSeconds(job, h.now)).toBe(580 + 800);
  });

  it('lifecycle 3: interrupted twice, MaxWaitTimeInSeconds exceeded — … Interrupted, Downloading, Training; Stopping; Stopped: MaxWaitTimeExceeded', async () => {
    const h = harness('interrupted-twice');
    await h.at(0).create({ StoppingCondition: { MaxRuntimeInSeconds: 3000, MaxWaitTimeInSeconds: 3000 }, SpotOptions: { InterruptionBehavior: 'stop' } });
    await h.at(10).launch(['i-0c00000000000001']);
    await h.at(40).running('i-0c00000000000001');
    await h.at(70).report('downloaded');
    // First interruption: the instance is terminated, so new capacity is launched
    await h.at(400).warn('i-0c00000000000001', 'terminate');
    await h.at(520).gone('i-0c00000000000001', 'terminated');
    await h.at(600).launch(['i-0c00000000000002']);
    await h.at(630).running('i-0c00000000000002');
    await h.at(660).report('downloaded');
    // Second interruption: the instance is stopped and comes back by itself: nothing is launched
    await h.at(1200).warn('i-0c00000000000002', 'stop');
    const stopped = await h.at(1320).gone('i-0c00000000000002', 'stopped');
    expect(stopped.status !== 'not-found' && stopped.effects.filter((e) => e.type === 'launch')).toEqual([]);
    expect((await h.job()).SecondaryStatus).toBe('Interrupted');
    await h.at(2000).running('i-0c00000000000002');
    await h.at(2030).report('downloaded');
    // The wait deadline passes while training
    const due = await h.at(3000).timer();
    expect(due.status !== 'not-found' && due.effects).toContainEqual(
      expect.objectContaining({ type: 'terminateInstances', instanceIds: ['i-0c00000000000002'], graceful: true }),
    );
    expect((await h.job()).TrainingJobStatus).toBe('Stopping');
    await h.at(3100).gone('i-0c00000000000002', 'terminated');

    expect(await h.lifecycle()).toEqual([
      'InProgress: Starting, Downloading, Training, Interrupted, Starting, Downloading, Training, Interrupted, Downloading, Training',
      'Stopping: Stopping',
      'Stopped: MaxWaitTimeExceeded',
    ]);
    const job = await h.job();
    expect(job.Attempts.map((a) => [a.Number, a.EndReason, a.ResumedFromAttempt])).toEqual([
      [1, 'interrupted', undefined],
      [2, 'interrupted', undefined],
      [3, 'max-wait', 2],
    ]);
    expect(job.Attempts[2]?.InstanceIds).toEqual(['i-0c00000000000002']);
  });

  it('lifecycle 4: spot capacity never launched — InProgress: Starting; Stopping: Stopping; Stopped: MaxWaitTimeExceeded', async () => {
    const h = harness('never-launched');
    await h.at(0).create({ StoppingCondition: { MaxRuntimeInSeconds: 600, MaxWaitTimeInSeconds: 900 } });
    await h.at(5).capacityError('InsufficientInstanceCapacity', 30);
    expect((await h.job()).Transitions.at(-1)?.StatusMessage).toBe(MESSAGES.insufficientCapacity);
    // Retries come due through the timer, each failing for capacity again
    const retry = await h.at(40).timer();
    expect(retry.status !== 'not-found' && retry.effects).toContainEqual(expect.objectContaining({ type: 'launch', attempt: 1, launchRequest: 2 }));
    await h.at(45).capacityError('InsufficientInstanceCapacity', 60);
    const early = await h.at(899).timer();
    expect(early.status).toBe('applied');
    await h.at(899).capacityError('MaxSpotInstanceCountExceeded', 60);
    await h.at(900).timer();

    expect(await h.lifecycle()).toEqual(['InProgress: Starting', 'Stopping: Stopping', 'Stopped: MaxWaitTimeExceeded']);
    const job = await h.job();
    expect(job.TrainingJobStatus).toBe('Stopped');
    expect(trainingTimeInSeconds(job, h.now)).toBe(0);
  });

  it('MaxRuntimeInSeconds exceeded — Stopping, then Stopped with MaxRuntimeExceeded once the instance is gone', async () => {
    const h = harness('max-runtime');
    await h.at(0).create({ EnableManagedSpotTraining: false, StoppingCondition: { MaxRuntimeInSeconds: 100 } });
    await h.at(10).launch(['i-0d00000000000001']);
    await h.at(40).running('i-0d00000000000001');
    await h.at(50).report('downloaded');
    expect((await h.at(139).timer()).status).toBe('ignored');
    await h.at(140).timer();
    expect((await h.job()).SecondaryStatus).toBe('Stopping');
    await h.at(150).gone('i-0d00000000000001', 'terminated');

    expect(await h.lifecycle()).toEqual(['InProgress: Starting, Downloading, Training', 'Stopping: Stopping', 'Stopped: MaxRuntimeExceeded']);
    const job = await h.job();
    // On-demand: billable equals training
    expect(trainingTimeInSeconds(job, h.now)).toBe(110);
    expect(billableTimeInSeconds(job, h.now)).toBe(110);
  });

  it('StopTrainingJob — Stopping, then Stopped; a second stop changes nothing', async () => {
    const h = harness('stopped-by-user');
    await h.at(0).create();
    await h.at(10).launch(['i-0e00000000000001']);
    await h.at(40).running('i-0e00000000000001');
    await h.at(70).report('downloaded');
    const stop = await h.at(200).stop();
    expect(stop.status !== 'not-found' && stop.effects.map((e) => e.type)).toEqual(['requestCheckpoint', 'terminateInstances']);
    expect((await h.at(201).stop()).status).toBe('ignored');
    await h.at(260).gone('i-0e00000000000001', 'terminated');
    expect(await h.lifecycle()).toEqual(['InProgress: Starting, Downloading, Training', 'Stopping: Stopping', 'Stopped: Stopped']);
    expect((await h.job()).Attempts[0]?.EndReason).toBe('stopped');
  });

  it('a failing training command — Failed with a FailureReason naming the exit code', async () => {
    const h = harness('failed');
    await h.at(0).create();
    await h.at(10).launch(['i-0f00000000000001']);
    await h.at(40).running('i-0f00000000000001');
    await h.at(70).report('downloaded');
    const failed = await h.at(90).report('failed', { exitCode: 2, reason: 'ValueError: bad learning rate' });
    expect(failed.status !== 'not-found' && failed.effects).toContainEqual(expect.objectContaining({ type: 'terminateInstances' }));
    expect(await h.lifecycle()).toEqual(['InProgress: Starting, Downloading, Training', 'Failed: Failed']);
    const job = await h.job();
    expect(job.FailureReason).toBe('AlgorithmError: ValueError: bad learning rate (exit code 2)');
    expect(job.Attempts[0]).toMatchObject({ EndReason: 'failed', ExitCode: 2 });
    // Terminal: nothing changes it again
    expect((await h.at(100).gone('i-0f00000000000001')).status).toBe('ignored');
    expect((await h.at(101).stop()).status).toBe('ignored');
  });

  it('RetryStrategy — a failed attempt is retried: Restarting, Starting, … Completed', async () => {
    const h = harness('retried');
    await h.at(0).create({ RetryStrategy: { MaximumRetryAttempts: 1 } });
    await h.at(10).launch(['i-1000000000000001']);
    await h.at(40).running('i-1000000000000001');
    await h.at(70).report('downloaded');
    await h.at(90).report('failed', { exitCode: 1 });
    const gone = await h.at(100).gone('i-1000000000000001');
    expect(gone.status !== 'not-found' && gone.effects).toContainEqual(expect.objectContaining({ type: 'launch', attempt: 2 }));
    await h.at(110).launch(['i-1000000000000002']);
    await h.at(140).running('i-1000000000000002');
    await h.at(170).report('downloaded');
    await h.at(270).report('uploading');
    await h.at(300).report('completed');
    expect(await h.lifecycle()).toEqual([
      'InProgress: Starting, Downloading, Training, Restarting, Starting, Downloading, Training, Uploading',
      'Completed: Completed',
    ]);
    expect((await h.job()).RetriesUsed).toBe(1);
  });

  it('events for an older attempt, duplicates and reports out of order change nothing they should not', async () => {
    const h = harness('stale-events');
    await h.at(0).create();
    await h.at(10).launch(['i-1100000000000001']);
    await h.at(40).running('i-1100000000000001');
    expect((await h.at(41).running('i-1100000000000001')).status).toBe('ignored');
    await h.at(70).report('downloaded');
    await h.at(500).warn('i-1100000000000001');
    expect((await h.at(501).warn('i-1100000000000001')).status).toBe('ignored');
    await h.at(620).gone('i-1100000000000001');
    expect((await h.at(621).gone('i-1100000000000001', 'terminated')).status).toBe('ignored');
    await h.at(700).launch(['i-1100000000000002']);
    await h.at(730).running('i-1100000000000002');
    // A late warning for attempt 1's instance does not interrupt attempt 2
    const late = await h.at(740).warn('i-1100000000000001');
    expect(late).toMatchObject({ status: 'ignored', reason: 'stale' });
    // A report of attempt 1 does not move attempt 2
    expect(await h.at(750).report('downloaded', { attempt: 1 })).toMatchObject({ status: 'ignored', reason: 'stale' });
    // "completed" arriving before "downloaded" and "uploading" implies them
    await h.at(900).report('completed');
    expect(await h.statuses()).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect((await h.at(901).report('uploading')).status).toBe('ignored');
  });

  it('the latest checkpoint never moves backwards', async () => {
    const h = harness('checkpoints');
    await h.at(0).create();
    await h.at(10).checkpoint(200);
    expect(await h.at(11).checkpoint(100)).toMatchObject({ status: 'ignored', reason: 'stale' });
    expect(await h.at(12).checkpoint(200)).toMatchObject({ status: 'ignored', reason: 'duplicate' });
    await h.at(13).checkpoint(300);
    expect((await h.job()).LatestCheckpoint?.Id).toBe('step=300');
  });
}
