import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpointer } from '../../agent/checkpoint/sync.js';
import { parseManifest, type Manifest } from '../../agent/checkpoint/manifest.js';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import { waitFor } from '../../localcloud/demo.js';
import { LOCAL_CREDENTIALS, startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import { REAL_AGENT } from '../cli/harness.js';
import type { RestoreInstruction } from '../../shared/protocol.js';

/**
 * The checkpoint data path of the real agent code (agent/checkpoint/) against the local
 * cloud's S3, and what the control plane makes of the outcomes it reports.
 */
const BUCKET = 'spot-training-data';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

let cloud: LocalCloud;
let s3: S3Client;
let control: string;
let work: string;
/** Keys of the objects the agent wrote with PutObject or UploadPart, in order. */
const writes: string[] = [];
/** Called before each write request reaches S3; tests hook it to act during an upload. */
let beforeWrite: (key: string) => Promise<void> = async () => undefined;

beforeAll(async () => {
  cloud = await startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 }, settings: REAL_AGENT, agent: 'process', log: () => undefined });
  s3 = new S3Client({ endpoint: cloud.endpoints.s3, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if ((context.commandName === 'PutObjectCommand' || context.commandName === 'UploadPartCommand') && input.Key) {
        writes.push(input.Key);
        await beforeWrite(input.Key);
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordWrites' },
  );
  control = cloud.env.CONTROL_BUCKET ?? '';
  work = await mkdtemp(join(tmpdir(), 'checkpoint-data-'));
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await cloud?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

function agentFor(job: string, localPath: string, options: { environment?: Record<string, string>; restore?: RestoreInstruction['Checkpoint'] } = {}) {
  const lines: string[] = [];
  const instruction: RestoreInstruction = {
    TrainingJobName: job,
    Attempt: 1,
    CheckpointS3Uri: `s3://${BUCKET}/data-tests/`,
    CheckpointLocalPath: '/opt/ml/checkpoints',
    OutputS3Uri: `s3://${BUCKET}/output/`,
    Command: [],
    Environment: options.environment ?? {},
    HyperParameters: {},
    InstanceIds: ['i-0da7a000000000001'],
    ...(options.restore ? { Checkpoint: options.restore } : {}),
  };
  const checkpointer = new Checkpointer({ s3, controlBucket: control, instruction, instanceId: 'i-0da7a000000000001', localPath, leader: true, say: async (line) => void lines.push(line) });
  return { checkpointer, lines };
}

const folderOf = (job: string) => `data-tests/${job}/`;
const manifestUri = (job: string, sequence: number) => `s3://${BUCKET}/${folderOf(job)}ckpt-${String(sequence).padStart(9, '0')}/manifest.json`;
const checkpointRef = (job: string, sequence: number) => ({ Id: `ckpt-${String(sequence).padStart(9, '0')}`, Sequence: sequence, ManifestUri: manifestUri(job, sequence) });

async function text(bucket: string, key: string): Promise<string | undefined> {
  try {
    return await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString();
  } catch {
    return undefined;
  }
}

async function manifestOf(job: string, sequence: number): Promise<Manifest> {
  const uri = manifestUri(job, sequence);
  const body = await text(BUCKET, uri.replace(`s3://${BUCKET}/`, ''));
  if (body === undefined) throw new Error(`${uri} does not exist`);
  return parseManifest(body, uri);
}

async function keys(bucket: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    found.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found.sort();
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file of a folder with its size and SHA-256, and every folder: what a restore must reproduce. */
async function tree(root: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        found[`${relative(root, path)}/`] = 'dir';
        await walk(path);
      } else found[relative(root, path)] = `${(await stat(path)).size}:${await sha256(path)}`;
    }
  };
  await walk(root);
  return found;
}

async function outcomes(job: string): Promise<{ key: string; body: Record<string, unknown> }[]> {
  const found = await keys(control, `reports/${job}/attempt-1/checkpoints/`);
  return Promise.all(found.map(async (key) => ({ key, body: JSON.parse((await text(control, key)) ?? '{}') as Record<string, unknown> })));
}

describe('checkpoint data through the agent code and the local S3', () => {
  it('round-trips a folder with a sparse file over 2 GiB, user manifest.json files, unusual names, an empty file and a file rewritten during its upload', async () => {
    // Given a LocalPath as a training script might leave it
    const job = 'data-round-trip';
    const local = join(work, job);
    await mkdir(join(local, 'shards', 'nested', 'deeper'), { recursive: true });
    await mkdir(join(local, 'empty-folder'), { recursive: true });
    const sparse = join(local, 'shards', 'model-00001.bin');
    await writeFile(sparse, 'header');
    await truncate(sparse, 2 * GiB + 3 * MiB + 17);
    const tail = await open(sparse, 'r+');
    await tail.write(Buffer.from('a marker 1 GiB in'), 0, 17, GiB);
    await tail.write(Buffer.from('the end'), 0, 7, 2 * GiB + 3 * MiB + 10);
    await tail.close();
    await writeFile(join(local, 'manifest.json'), JSON.stringify({ user: 'top-level manifest of the training script' }));
    await writeFile(join(local, 'shards', 'nested', 'manifest.json'), JSON.stringify({ user: 'nested manifest' }));
    for (const name of ['ünïcødé ☃ 模型.pt', 'with space.txt', 'plus+sign', 'per%25cent%', 'hash#tag', `quote's "double"`, 'ampersand&equals=question?']) {
      await writeFile(join(local, 'shards', 'nested', 'deeper', name), `contents of ${name}`);
    }
    await writeFile(join(local, 'empty.bin'), '');
    const rewritten = join(local, 'optimizer.bin');
    await writeFile(rewritten, Buffer.alloc(24 * MiB, 1));
    // The script rewrites optimizer.bin in place while its upload runs (same size, new bytes)
    let rewrote = false;
    beforeWrite = async (key) => {
      if (!rewrote && key.endsWith('/optimizer.bin')) {
        rewrote = true;
        const handle = await open(rewritten, 'r+');
        await handle.write(Buffer.alloc(24 * MiB, 2), 0, 24 * MiB, 0);
        await handle.close();
      }
    };

    // When the agent checkpoints it and another instance restores it
    const { checkpointer, lines } = agentFor(job, local);
    await checkpointer.sync({ trigger: 'periodic', why: 'test' });
    beforeWrite = async () => undefined;
    expect(lines.join('\n')).toMatch(/checkpoint ckpt-000000001 uploaded .*1 rewritten while read and retaken/);
    // What the checkpoint must hold: the folder as it is now, the rewritten file whole in its new version
    const checkpointed = await tree(local);
    const restoredPath = join(work, `${job}-restored`);
    const restorer = agentFor(job, restoredPath, { restore: checkpointRef(job, 1) });
    const restored = await restorer.checkpointer.restore();

    // Then the restored folder is the one checkpointed, file for file, byte for byte
    expect(restored?.manifest.CheckpointId).toBe('ckpt-000000001');
    expect(await tree(restoredPath)).toEqual(checkpointed);
    expect(checkpointed['optimizer.bin']).toBe(`${24 * MiB}:${createHash('sha256').update(Buffer.alloc(24 * MiB, 2)).digest('hex')}`);
    // The sparse file stays sparse: the holes are not written
    const restoredSparse = await stat(join(restoredPath, 'shards', 'model-00001.bin'));
    expect(restoredSparse.blocks * 512).toBeLessThan(64 * MiB);
    // The user's manifests are data under files/; the checkpoint's own manifest sits beside files/
    const stored = await keys(BUCKET, `${folderOf(job)}ckpt-000000001/`);
    expect(stored).toContain(`${folderOf(job)}ckpt-000000001/files/manifest.json`);
    expect(stored).toContain(`${folderOf(job)}ckpt-000000001/files/shards/nested/manifest.json`);
    expect(stored.filter((k) => !k.includes('/files/'))).toEqual([`${folderOf(job)}ckpt-000000001/manifest.json`]);
    const manifest = await manifestOf(job, 1);
    const big = manifest.Files.find((f) => f.Path === 'shards/model-00001.bin');
    expect(big).toMatchObject({ ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE', Size: 2 * GiB + 3 * MiB + 17 });
    expect(big?.Checksum).toMatch(/^[A-Za-z0-9+/]{43}=-\d+$/);
    expect(manifest.Directories).toEqual(['empty-folder']);
    // The agent reported the outcome, and the handler did not take the user's manifests for checkpoints
    const reported = await outcomes(job);
    expect(reported.map((r) => r.key.split('/').at(-1))).toEqual(['000000001-complete.report.json']);
    expect(reported[0]?.body).toMatchObject({ Trigger: 'periodic', CheckpointId: 'ckpt-000000001', SizeInBytes: manifest.TotalBytes, FileCount: manifest.Files.length });
  }, 600_000);

  it('refuses a corrupt or missing object at restore and restores the previous complete checkpoint instead', async () => {
    // Given two complete checkpoints, the second with a changed file
    const job = 'data-corrupt';
    const local = join(work, job);
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'weights.bin'), Buffer.alloc(3 * MiB, 7));
    await writeFile(join(local, 'step.txt'), 'step 1');
    const { checkpointer } = agentFor(job, local);
    await checkpointer.sync({ trigger: 'periodic', why: 'test' });
    const first = await tree(local);
    await writeFile(join(local, 'step.txt'), 'step 2');
    await checkpointer.sync({ trigger: 'periodic', why: 'test' });
    const second = await manifestOf(job, 2);
    const changedKey = `${folderOf(job)}${second.Files.find((f) => f.Path === 'step.txt')?.Key}`;
    expect(changedKey).toContain('ckpt-000000002/files/');

    // When the second's object is corrupted (same size, other bytes)
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: changedKey, Body: 'step X' }));
    const into = join(work, `${job}-restored`);
    const restored = await agentFor(job, into, { restore: checkpointRef(job, 2) }).checkpointer.restore();

    // Then it is refused with the file named, and the first checkpoint is restored whole
    expect(restored?.manifest.CheckpointId).toBe('ckpt-000000001');
    expect(restored?.skipped[0]?.reason).toMatch(/ObjectCorruptError: step\.txt .* has SHA-256 .*the manifest says/);
    expect(await tree(into)).toEqual(first);

    // And a missing object is refused the same way
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: changedKey }));
    const again = await agentFor(job, join(work, `${job}-restored-2`), { restore: checkpointRef(job, 2) }).checkpointer.restore();
    expect(again?.manifest.CheckpointId).toBe('ckpt-000000001');
    expect(again?.skipped[0]?.reason).toMatch(/ObjectMissingError: step\.txt/);
  }, 120_000);

  it('uploads only the changed file in an incremental checkpoint, and restores the whole folder from it', async () => {
    // Given a checkpoint of 200 small files in nested folders and a 20 MiB one
    const job = 'data-incremental';
    const local = join(work, job);
    for (let i = 0; i < 200; i++) {
      await mkdir(join(local, `layer-${i % 10}`), { recursive: true });
      await writeFile(join(local, `layer-${i % 10}`, `tensor-${i}.pt`), `tensor ${i} `.repeat(50));
    }
    await writeFile(join(local, 'embeddings.bin'), Buffer.alloc(20 * MiB, 3));
    const { checkpointer } = agentFor(job, local);
    await checkpointer.sync({ trigger: 'periodic', why: 'first' });

    // When one small file changes and the next checkpoint is taken
    await writeFile(join(local, 'layer-3', 'tensor-13.pt'), 'tensor 13 after another step');
    writes.length = 0;
    await checkpointer.sync({ trigger: 'periodic', why: 'second' });

    // Then only that file and the manifest were written, and the manifest names the rest in the first checkpoint
    expect(writes.filter((k) => k.startsWith(folderOf(job)))).toEqual([`${folderOf(job)}ckpt-000000002/files/layer-3/tensor-13.pt`, `${folderOf(job)}ckpt-000000002/manifest.json`]);
    const manifest = await manifestOf(job, 2);
    expect(manifest.UploadedBytes).toBe(Buffer.byteLength('tensor 13 after another step'));
    expect(manifest.Files.filter((f) => f.Key.startsWith('ckpt-000000001/'))).toHaveLength(200);
    const reported = (await outcomes(job)).find((r) => r.key.endsWith('000000002-complete.report.json'));
    expect(reported?.body).toMatchObject({ UploadedBytes: manifest.UploadedBytes, SizeInBytes: manifest.TotalBytes });
    const into = join(work, `${job}-restored`);
    await agentFor(job, into, { restore: checkpointRef(job, 2) }).checkpointer.restore();
    expect(await tree(into)).toEqual(await tree(local));
  }, 120_000);

  it('keeps the last N complete checkpoints and never deletes an object the latest one needs', async () => {
    // Given a job that keeps 2 checkpoints, and a large file that never changes after the first
    const job = 'data-retention';
    const local = join(work, job);
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'frozen-encoder.bin'), Buffer.alloc(6 * MiB, 9));
    const { checkpointer } = agentFor(job, local, { environment: { SPOT_TRAINING_CHECKPOINT_RETENTION: '2' } });
    expect(checkpointer.retention).toBe(2);
    for (let step = 1; step <= 4; step++) {
      await writeFile(join(local, 'step.txt'), `step ${step}`);
      await checkpointer.sync({ trigger: 'periodic', why: `step ${step}` });
    }

    // Then only the last two manifests remain; the old folders keep only what the kept ones name
    const stored = await keys(BUCKET, folderOf(job));
    expect(stored.filter((k) => k.endsWith('ckpt-000000001/manifest.json') || k.endsWith('ckpt-000000002/manifest.json'))).toEqual([]);
    expect(stored.filter((k) => /ckpt-00000000[34]\/manifest\.json$/.test(k))).toHaveLength(2);
    expect(stored).toContain(`${folderOf(job)}ckpt-000000001/files/frozen-encoder.bin`);
    expect(stored).not.toContain(`${folderOf(job)}ckpt-000000001/files/step.txt`);
    expect(stored).not.toContain(`${folderOf(job)}ckpt-000000002/files/step.txt`);
    // And the latest restores whole
    const into = join(work, `${job}-restored`);
    await agentFor(job, into, { restore: checkpointRef(job, 4) }).checkpointer.restore();
    expect(await tree(into)).toEqual(await tree(local));
  }, 120_000);

  it('reports a final checkpoint that completed after its deadline, and one that failed, naming the file', async () => {
    // Given a final checkpoint whose deadline has already passed
    const job = 'data-final';
    const local = join(work, job);
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'state.bin'), Buffer.alloc(MiB, 5));
    const { checkpointer } = agentFor(job, local);
    const deadline = Date.now() - 1000;
    await checkpointer.sync({ trigger: 'final', why: 'final, interrupted', deadline });

    // Then its start and its late completion are reported with the deadline
    const reported = await outcomes(job);
    const started = reported.find((r) => r.key.endsWith('000000001-started.report.json'))?.body;
    const complete = reported.find((r) => r.key.endsWith('000000001-complete.report.json'))?.body;
    expect(started).toMatchObject({ Trigger: 'final', DeadlineTime: new Date(deadline).toISOString() });
    expect(Date.parse(String(complete?.EndTime))).toBeGreaterThan(Date.parse(String(complete?.DeadlineTime)));

    // Given a file whose key would exceed S3's 1,024 bytes
    const long = join(local, ...Array.from({ length: 4 }, (_, i) => `${String(i)}${'x'.repeat(250)}`));
    await mkdir(long, { recursive: true });
    await writeFile(join(long, 'weights.bin'), 'w');
    writes.length = 0;
    await checkpointer.sync({ trigger: 'final', why: 'final, interrupted', deadline: Date.now() + 60_000 });

    // Then the final checkpoint fails before anything of it is uploaded, and the report names the file
    const failed = (await outcomes(job)).find((r) => r.key.endsWith('000000002-failed.report.json'))?.body;
    expect(failed).toMatchObject({ Trigger: 'final' });
    expect(String(failed?.Reason)).toMatch(/CheckpointKeyTooLongError: LocalPath file '0x{250}\/.*weights\.bin' would be stored under a key of \d+ bytes/);
    expect(writes.filter((k) => k.startsWith(folderOf(job)))).toEqual([]);
  }, 120_000);
});

describe('checkpoint outcomes in DescribeTrainingJob', () => {
  const api = () => new TrainingJobsClient(cloud.endpoints.api);
  const job = (name: string, entrypoint: string[], environment: Record<string, string>) => ({
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingInputMode: 'File', ContainerEntrypoint: entrypoint },
    ResourceConfig: { InstanceType: 'g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
    EnableManagedSpotTraining: true,
    StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
    CheckpointConfig: { S3Uri: `s3://${BUCKET}/checkpoints/${name}` },
    OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/output` },
    Environment: environment,
  });
  type Checkpointed = {
    SecondaryStatus: string;
    Attempts: { InstanceIds: string[]; FinalCheckpoint?: { Status: string; DeadlineTime?: number; DurationInSeconds?: number } }[];
    LatestCheckpoint?: { CheckpointId: string; AgeInSeconds: number; SizeInBytes?: number; FileCount?: number; UploadDurationInSeconds?: number; Trigger?: string };
    LastCheckpointFailure?: { Reason: string; Trigger: string; ConsecutiveFailures: number };
    CheckpointHealth?: { Status: string; Message: string };
  };

  it('shows the latest checkpoint with its age, size and upload time, and the final checkpoint of an interrupted attempt', async () => {
    const name = 'describe-checkpoints';
    await api().call('CreateTrainingJob', job(name, ['node', resolve('examples/count-steps.mjs')], { TOTAL_STEPS: '100000', STEP_MS: '20', CHECKPOINT_EVERY: '10' }));
    const training = (await waitFor(api(), name, (j) => (j as unknown as Checkpointed).LatestCheckpoint?.SizeInBytes !== undefined, 90_000)) as unknown as Checkpointed;
    expect(training.LatestCheckpoint).toMatchObject({ FileCount: 1, Trigger: 'periodic' });
    expect(training.LatestCheckpoint?.AgeInSeconds).toBeGreaterThanOrEqual(0);
    expect(training.LatestCheckpoint?.UploadDurationInSeconds).toBeGreaterThanOrEqual(0);
    expect(training.CheckpointHealth?.Status).toBe('Healthy');

    const events = new EventBridgeClient({ endpoint: cloud.endpoints.events, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
    await events.send(
      new PutEventsCommand({
        Entries: [{ Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': training.Attempts[0]?.InstanceIds[0], 'instance-action': 'terminate' }) }],
      }),
    );
    events.destroy();
    const interrupted = (await waitFor(api(), name, (j) => ['InTime', 'Late', 'Failed'].includes((j as unknown as Checkpointed).Attempts[0]?.FinalCheckpoint?.Status ?? ''), 90_000)) as unknown as Checkpointed;
    expect(interrupted.Attempts[0]?.FinalCheckpoint?.DeadlineTime).toBeGreaterThan(0);
    expect(interrupted.Attempts[0]?.FinalCheckpoint?.DurationInSeconds).toBeGreaterThanOrEqual(0);
    expect(interrupted.LatestCheckpoint?.Trigger).toBe('final');
    await api().call('StopTrainingJob', { TrainingJobName: name });
  }, 240_000);

  it('shows a checkpoint that keeps failing, with its reason, as Failing', async () => {
    const name = 'describe-checkpoint-failing';
    // The script keeps a file whose S3 key would be longer than S3 allows
    const long = Array.from({ length: 4 }, (_, i) => `${String(i)}${'y'.repeat(250)}`).join('/');
    const script = join(work, 'long-names.sh');
    await writeFile(script, `mkdir -p "$SM_CHECKPOINT_DIR/${long}" && echo w > "$SM_CHECKPOINT_DIR/${long}/weights.bin" && exec node ${resolve('examples/count-steps.mjs')}\n`);
    await api().call('CreateTrainingJob', job(name, ['bash', script], { TOTAL_STEPS: '100000', STEP_MS: '20', CHECKPOINT_EVERY: '10' }));
    const failing = (await waitFor(api(), name, (j) => ((j as unknown as Checkpointed).LastCheckpointFailure?.ConsecutiveFailures ?? 0) >= 2, 90_000)) as unknown as Checkpointed;
    expect(failing.LastCheckpointFailure?.Reason).toMatch(/CheckpointKeyTooLongError: LocalPath file '0y{250}\/.*weights\.bin'/);
    expect(failing.CheckpointHealth).toMatchObject({ Status: 'Failing' });
    expect(failing.LatestCheckpoint).toBeUndefined();
    await api().call('StopTrainingJob', { TrainingJobName: name });
  }, 240_000);
});
