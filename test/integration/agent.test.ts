import { resolve } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeImds, type FakeImds } from '../../localcloud/fakeImds.js';
import { LOCAL_CREDENTIALS, startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import type { RestoreInstruction } from '../../shared/protocol.js';
import { spawnAgent, type AgentRun } from '../support/agentProcess.js';
import { readTrainingLogs } from '../support/trainingLogs.js';

/**
 * The agent as a real process against the local cloud's S3 and a fake instance metadata
 * service started here: restore, checkpoints with the manifest last, the spot notice, failure.
 */
const SCRIPT = resolve('examples/count-steps.mjs');
const BUCKET = 'spot-training-data';
let cloud: LocalCloud;
let s3: S3Client;
let control: string;

beforeAll(async () => {
  cloud = await startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 }, log: () => undefined });
  s3 = new S3Client({ endpoint: cloud.endpoints.s3, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  control = cloud.env.CONTROL_BUCKET ?? '';
}, 120_000);
afterAll(async () => {
  s3?.destroy();
  await cloud?.stop();
}, 60_000);

async function put(bucket: string, key: string, body: string) {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function get(bucket: string, key: string): Promise<string | undefined> {
  try {
    return await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString();
  } catch {
    return undefined;
  }
}

async function runAgent(job: string, instanceId: string, imds: FakeImds, env: Record<string, string>, restore: Partial<RestoreInstruction> = {}): Promise<AgentRun> {
  const instruction: RestoreInstruction = {
    TrainingJobName: job,
    Attempt: 1,
    CheckpointS3Uri: `s3://${BUCKET}/ckpt/${job}/`,
    CheckpointLocalPath: '/opt/ml/checkpoints',
    OutputS3Uri: `s3://${BUCKET}/output/`,
    Command: ['node', SCRIPT],
    Environment: env,
    HyperParameters: {},
    InstanceIds: [instanceId],
    ...restore,
  };
  return spawnAgent(cloud, s3, imds, instruction, { SPOT_TRAINING_SYNC_SECONDS: '0.3' });
}

async function manifests(job: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `ckpt/${job}/` }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k.endsWith('/manifest.json')).sort();
}

describe('the agent as a real process', () => {
  it('runs the command to the end: reports each phase, checkpoints with the manifest last, uploads the model', async () => {
    const imds = await startFakeImds('i-5000000000000001', () => undefined);
    const run = await runAgent('agent-complete', 'i-5000000000000001', imds, { TOTAL_STEPS: '40', STEP_MS: '20', CHECKPOINT_EVERY: '5' });
    expect(await run.exit).toBe(0);
    await imds.close();
    for (const phase of ['downloaded', 'uploading', 'completed']) {
      expect(await get(control, `reports/agent-complete/attempt-1/${phase}.report.json`), phase).toBeDefined();
    }
    const found = await manifests('agent-complete');
    expect(found.length).toBeGreaterThan(0);
    const manifest = JSON.parse((await get(BUCKET, found.at(-1) ?? '')) ?? '{}') as { Files: { Path: string; Size: number }[] };
    expect(manifest.Files.map((f) => f.Path)).toEqual(['state.json']);
    const data = await get(BUCKET, (found.at(-1) ?? '').replace('manifest.json', 'files/state.json'));
    expect(Buffer.byteLength(data ?? '')).toBe(manifest.Files[0]?.Size);
    expect(await get(BUCKET, 'output/agent-complete/output/model.tar.gz')).toBeDefined();
    // The training output is in CloudWatch Logs where SageMaker puts it: one stream, algo-1, started when the agent was
    const [log, ...others] = await readTrainingLogs(cloud.endpoints.logs, 'agent-complete');
    expect(others).toEqual([]);
    expect(log?.stream).toMatch(/^agent-complete\/algo-1-\d{10}$/);
    const startedAt = Number(log?.stream.split('-').at(-1));
    expect(Math.abs(startedAt - Date.now() / 1000)).toBeLessThan(60);
    expect(log?.messages).toContain('[agent] no checkpoint to restore: starting from scratch');
    expect(log?.messages.at(-1)).toBe('[agent] model uploaded; training job completed');
  }, 60_000);

  it('restores only the named complete checkpoint, never a newer folder cut off before its manifest', async () => {
    const job = 'agent-cut-off';
    // A complete checkpoint at step 50, and a newer one cut off: its data, no manifest.
    await put(BUCKET, `ckpt/${job}/ckpt-000000005/state.json`, JSON.stringify({ step: 50, resumedFrom: [] }));
    await put(BUCKET, `ckpt/${job}/ckpt-000000005/manifest.json`, JSON.stringify({ Version: 1, Sequence: 5, Files: [{ Path: 'state.json', Size: Buffer.byteLength(JSON.stringify({ step: 50, resumedFrom: [] })) }] }));
    await put(BUCKET, `ckpt/${job}/ckpt-000000006/state.json`, JSON.stringify({ step: 999, resumedFrom: [] }));
    const imds = await startFakeImds('i-5000000000000002', () => undefined);
    // Every checkpoint kept (retention would delete the first new one), so that its sequence can be read.
    const run = await runAgent(job, 'i-5000000000000002', imds, { TOTAL_STEPS: '150', STEP_MS: '10', CHECKPOINT_EVERY: '5', SPOT_TRAINING_CHECKPOINT_RETENTION: '1000' }, {
      Checkpoint: { Id: 'ckpt-000000005', Sequence: 5, ManifestUri: `s3://${BUCKET}/ckpt/${job}/ckpt-000000005/manifest.json` },
    });
    expect(await run.exit).toBe(0);
    await imds.close();
    expect(run.output()).toContain('resuming at step 50');
    // New checkpoints continue the sequence after the restored one
    expect((await manifests(job)).some((k) => k.includes('ckpt-000000006/manifest.json'))).toBe(true);
  }, 60_000);

  it('acts on the spot notice in instance metadata: SIGTERM to the training, a final checkpoint with its last step, no completion', async () => {
    const job = 'agent-notice';
    let notice: { action: string; time: string } | undefined;
    const imds = await startFakeImds('i-5000000000000003', () => notice);
    const run = await runAgent(job, 'i-5000000000000003', imds, { TOTAL_STEPS: '100000', STEP_MS: '10', CHECKPOINT_EVERY: '1000000' });
    // The notice comes once the script is training (and handling SIGTERM), however slow the machine
    for (let waited = 0; !/step 20\n/.test(run.output()) && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    notice = { action: 'terminate', time: new Date(Date.now() + 120_000).toISOString() };
    expect(await run.exit).toBe(0);
    await imds.close();
    const stoppedAt = Number(/SIGTERM at step (\d+)/.exec(run.output())?.[1]);
    expect(stoppedAt).toBeGreaterThan(0);
    const last = (await manifests(job)).at(-1) ?? '';
    const state = JSON.parse((await get(BUCKET, last.replace('manifest.json', 'files/state.json'))) ?? '{}') as { step: number };
    expect(state.step).toBe(stoppedAt);
    expect(await get(control, `reports/${job}/attempt-1/completed.report.json`)).toBeUndefined();
  }, 60_000);

  it('reports a failing command with its exit code and the tail of its output', async () => {
    const imds = await startFakeImds('i-5000000000000004', () => undefined);
    const run = await runAgent('agent-fails', 'i-5000000000000004', imds, { TOTAL_STEPS: '100', STEP_MS: '5', FAIL_AT_STEP: '7' });
    expect(await run.exit).toBe(1);
    await imds.close();
    const report = JSON.parse((await get(control, 'reports/agent-fails/attempt-1/failed.report.json')) ?? '{}') as { ExitCode: number; Reason: string };
    expect(report.ExitCode).toBe(3);
    expect(report.Reason).toContain('diverged at step 7');
  }, 60_000);

  it('refuses a checkpoint whose files do not match its manifest, and reports why', async () => {
    const job = 'agent-corrupt';
    await put(BUCKET, `ckpt/${job}/ckpt-000000001/state.json`, 'short');
    await put(BUCKET, `ckpt/${job}/ckpt-000000001/manifest.json`, JSON.stringify({ Version: 1, Sequence: 1, Files: [{ Path: 'state.json', Size: 9999 }] }));
    const imds = await startFakeImds('i-5000000000000005', () => undefined);
    const run = await runAgent(job, 'i-5000000000000005', imds, {}, { Checkpoint: { Id: 'ckpt-000000001', Sequence: 1, ManifestUri: `s3://${BUCKET}/ckpt/${job}/ckpt-000000001/manifest.json` } });
    expect(await run.exit).toBe(1);
    await imds.close();
    const report = JSON.parse((await get(control, `reports/${job}/attempt-1/failed.report.json`)) ?? '{}') as { Reason: string };
    expect(report.Reason).toMatch(/CheckpointRestoreError: .*manifest says 9999/);
  }, 60_000);

  it('reports how far its input download has come, the last report with every file and byte of the channel', async () => {
    // Given a job with a 12-file training channel
    const job = 'agent-progress';
    const sizes = Array.from({ length: 12 }, (_, i) => 1000 + i * 337);
    for (const [i, size] of sizes.entries()) await put(BUCKET, `data/${job}/part-${i}.bin`, 'x'.repeat(size));
    const imds = await startFakeImds('i-5000000000000006', () => undefined);
    // When the agent runs it
    const run = await runAgent(job, 'i-5000000000000006', imds, { TOTAL_STEPS: '3', STEP_MS: '10', CHECKPOINT_EVERY: '5' }, {
      InputDataConfig: [{ ChannelName: 'training', InputMode: 'File', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/data/${job}/`, S3DataDistributionType: 'FullyReplicated' } } }],
    });
    expect(await run.exit, run.output()).toBe(0);
    await imds.close();
    // Then its progress report, written before the downloaded report, says all of it is there
    const total = sizes.reduce((a, b) => a + b, 0);
    const progress = JSON.parse((await get(control, `reports/${job}/attempt-1/progress.report.json`)) ?? '{}') as Record<string, unknown>;
    expect(progress).toEqual({ Time: expect.any(String), Files: 12, TotalFiles: 12, Bytes: total, TotalBytes: total });
    expect(Number.isNaN(Date.parse(String(progress.Time)))).toBe(false);
  }, 60_000);
});
