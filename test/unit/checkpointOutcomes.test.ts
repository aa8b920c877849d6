import { describe, expect, it } from 'vitest';
import { describeView } from '../../shared/api/views.js';
import { checkpointHealth } from '../../shared/lifecycle/checkpointHealth.js';
import { checkpointOutcomeKey, isUserFileInCheckpoint, parseCheckpointOutcomeKey, parseManifestKey } from '../../shared/protocol.js';
import { JobHarness, MemoryBackend } from '../support/jobHarness.js';

/** What the control plane makes of the agent's checkpoint outcome reports: nothing about a checkpoint is silent. */
async function training(name: string, environment: Record<string, string> = {}) {
  const h = new JobHarness(new MemoryBackend(), name);
  await h.at(0).create({ Environment: environment });
  await h.at(10).launch(['i-0c00000000000001']);
  await h.at(40).running('i-0c00000000000001');
  await h.at(70).report('downloaded');
  return h;
}

describe('checkpoint outcomes on the job record', () => {
  it('records a complete checkpoint with its size, files and upload time, and Describe shows its age', async () => {
    const h = await training('outcome-complete');
    await h.at(400).checkpointOutcome({ Status: 'complete', Trigger: 'periodic', Sequence: 1, StartTime: h.now - 12_000, EndTime: h.now, SizeInBytes: 5_000_000_000, UploadedBytes: 4096, FileCount: 300 });
    // The manifest's own event arriving after changes nothing
    const manifest = await h.at(401).send({ type: 'checkpoint', time: h.now, checkpoint: { ...(await h.job()).LatestCheckpoint!, Time: h.now } });
    expect(manifest.status).toBe('ignored');
    const view = describeView(await h.job(), h.at(460).now);
    expect(view.LatestCheckpoint).toMatchObject({ CheckpointId: 'ckpt-000000001', AgeInSeconds: 60, SizeInBytes: 5_000_000_000, UploadedBytes: 4096, FileCount: 300, UploadDurationInSeconds: 12, Trigger: 'periodic' });
    expect(view.CheckpointHealth?.Status).toBe('Healthy');
  });

  it('records a failure with its reason, counts failures in a row, and a complete checkpoint ends the run of failures', async () => {
    const h = await training('outcome-failed');
    await h.at(300).checkpointOutcome({ Status: 'failed', Trigger: 'periodic', Sequence: 1, EndTime: h.now, Reason: "CheckpointKeyTooLongError: LocalPath file 'a/b' …" });
    await h.at(600).checkpointOutcome({ Status: 'failed', Trigger: 'requested', Sequence: 2, EndTime: h.now, Reason: 'TimeoutError: S3 did not answer' });
    let view = describeView(await h.job(), h.now);
    expect(view.LastCheckpointFailure).toMatchObject({ AttemptNumber: 1, Trigger: 'requested', Reason: 'TimeoutError: S3 did not answer', ConsecutiveFailures: 2 });
    expect(view.CheckpointHealth).toMatchObject({ Status: 'Failing' });
    expect(view.CheckpointHealth?.Message).toContain('2 checkpoint syncs failed');
    await h.at(900).checkpointOutcome({ Status: 'complete', Trigger: 'periodic', Sequence: 3, EndTime: h.now });
    view = describeView(await h.job(), h.now);
    expect(view.LastCheckpointFailure?.ConsecutiveFailures).toBe(0);
    expect(view.CheckpointHealth?.Status).toBe('Healthy');
  });

  it('says whether a final checkpoint made its deadline: started, then in time or late, or failed', async () => {
    const h = await training('outcome-final');
    await h.at(500).warn('i-0c00000000000001');
    const deadline = h.now + 110_000;
    await h.at(501).checkpointOutcome({ Status: 'started', Trigger: 'final', Sequence: 4, DeadlineTime: deadline, EstimatedSeconds: 30 });
    expect((await h.job()).Attempts[0]?.FinalCheckpoint).toMatchObject({ Status: 'Started', DeadlineTime: deadline, EstimatedSeconds: 30 });
    await h.at(700).checkpointOutcome({ Status: 'complete', Trigger: 'final', Sequence: 4, StartTime: h.now - 199_000, EndTime: h.now, DeadlineTime: deadline });
    const view = describeView(await h.job(), h.now);
    expect(view.Attempts[0]?.FinalCheckpoint).toMatchObject({ Status: 'Late', DurationInSeconds: 199, CheckpointId: 'ckpt-000000004' });
    // A start report arriving after the end changes nothing
    expect((await h.at(701).checkpointOutcome({ Status: 'started', Trigger: 'final', Sequence: 4, DeadlineTime: deadline })).status).toBe('ignored');

    const g = await training('outcome-final-failed');
    await g.at(500).warn('i-0c00000000000001');
    await g.at(530).checkpointOutcome({ Status: 'failed', Trigger: 'final', Sequence: 1, EndTime: g.now, DeadlineTime: g.now + 80_000, Reason: 'AccessDenied' });
    expect((await g.job()).Attempts[0]?.FinalCheckpoint).toMatchObject({ Status: 'Failed', Reason: 'AccessDenied' });
  });

  it('flags a checkpoint overdue after the job allows, and an empty LocalPath the agent reported', async () => {
    const h = await training('outcome-overdue', { SPOT_TRAINING_CHECKPOINT_OVERDUE_SECONDS: '600' });
    expect(checkpointHealth(await h.job(), h.at(600).now).Status).toBe('Healthy');
    expect(checkpointHealth(await h.job(), h.at(700).now)).toMatchObject({ Status: 'Overdue' });
    await h.at(800).checkpointOutcome({ Status: 'empty', Trigger: 'periodic', Sequence: 1, EmptySince: h.now - 700_000 });
    expect(checkpointHealth(await h.job(), h.now)).toMatchObject({ Status: 'EmptyFolder' });
  });

  it('ignores a complete checkpoint outside the job\'s folder', async () => {
    const h = await training('outcome-elsewhere');
    const outcome = await h.at(300).checkpointOutcome({ Status: 'complete', Trigger: 'periodic', Sequence: 9, ManifestUri: 's3://spot-training-data/checkpoints/other-job/ckpt-000000009/manifest.json' });
    expect(outcome.status).toBe('ignored');
    expect((await h.job()).LatestCheckpoint).toBeUndefined();
  });
});

describe('checkpoint keys', () => {
  it('builds and reads checkpoint outcome keys', () => {
    const key = checkpointOutcomeKey('my-job', 3, 42, 'failed');
    expect(key).toBe('reports/my-job/attempt-3/checkpoints/000000042-failed.report.json');
    expect(parseCheckpointOutcomeKey(key)).toEqual({ ok: true, value: { job: 'my-job', attempt: 3, sequence: 42, status: 'failed' } });
    expect(parseCheckpointOutcomeKey('reports/my-job/attempt-3/checkpoints/000000042-lost.report.json')).toMatchObject({ ok: false, problem: expect.stringContaining("'lost'") });
  });

  it("never reads a user's manifest.json inside a checkpoint, top-level or nested, as a checkpoint's manifest", () => {
    for (const key of ['ck/job-a/ckpt-000000007/files/manifest.json', 'ck/job-a/ckpt-000000007/files/step-5/manifest.json', 'ck/job-a/ckpt-000000007/files/a/b/files/manifest.json']) {
      expect(isUserFileInCheckpoint(key), key).toBe(true);
      expect(parseManifestKey('b', key), key).toMatchObject({ ok: false });
    }
    expect(parseManifestKey('b', 'ck/job-a/ckpt-000000007/manifest.json')).toMatchObject({ ok: true, value: { job: 'job-a', sequence: 7 } });
    // Another tool's checkpoints, named as SageMaker users name them, still count
    expect(parseManifestKey('b', 'files/job-a/step=1200/manifest.json')).toMatchObject({ ok: true, value: { job: 'job-a', sequence: 1200 } });
  });
});
