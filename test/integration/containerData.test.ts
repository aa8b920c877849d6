import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureReason, uploadModel, uploadOutputData } from '../../agent/container/artifacts.js';
import { downloadChannels, type DownloadInput } from '../../agent/container/channels.js';
import { TensorBoardSync } from '../../agent/container/tensorBoard.js';
import { DEFAULT_TRANSFER } from '../../agent/checkpoint/settings.js';
import { LOCAL_CREDENTIALS, startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import type { InputChannel } from '../../shared/lifecycle/jobSpec.js';

/**
 * The data of the training contract against the local cloud's S3: input channels downloaded
 * into /opt/ml/input/data (prefixes, manifests, shards, ranged parts, what an instance keeps
 * across a stop) and the model and output delivered where SageMaker puts them.
 */
const BUCKET = 'spot-training-data';
const MiB = 1024 * 1024;
const TRANSFER = { ...DEFAULT_TRANSFER, partSizeBytes: 5 * MiB, restoreConcurrency: 4 };

let cloud: LocalCloud;
let s3: S3Client;
let work: string;
const requests: { command: string; input: Record<string, unknown> }[] = [];

beforeAll(async () => {
  cloud = await startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0, cloudwatch: 0 }, log: () => undefined });
  s3 = new S3Client({ endpoint: cloud.endpoints.s3, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      requests.push({ command: context.commandName ?? '', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordRequests' },
  );
  work = await mkdtemp(join(tmpdir(), 'container-data-'));
}, 120_000);
afterAll(async () => {
  s3?.destroy();
  await cloud?.stop();
}, 60_000);

const put = (key: string, body: string | Buffer, bucket = BUCKET) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function prefixChannel(name: string, uri: string, distribution: 'FullyReplicated' | 'ShardedByS3Key' = 'FullyReplicated'): InputChannel {
  return { ChannelName: name, DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: uri, S3DataDistributionType: distribution } }, InputMode: 'File' };
}

async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

function input(instance: string, channels: InputChannel[], over: Partial<DownloadInput> = {}): DownloadInput {
  const root = join(work, instance);
  return { s3, channels, hostIndex: 0, hostCount: 1, channelDir: (c) => join(root, 'opt/ml/input/data', c), stateFile: join(root, 'var/lib/spot-training/job.channels.json'), transfer: TRANSFER, ...over };
}

describe('input channels in File mode', () => {
  it('downloads every object under a prefix, in ranged parts, each file exactly', async () => {
    const large = randomBytes(12 * MiB + 123);
    await put('channels/a/train/large.bin', large);
    await put('channels/a/train/sub dir/naïve+file #1.csv', 'x,y\n1,2\n');
    await put('channels/a/train/empty.txt', '');
    await put('channels/a/train/folder/', '');
    await put('channels/a/trainer-not-mine.txt', 'elsewhere');
    requests.length = 0;
    const progress: number[] = [];
    const result = await downloadChannels(input('prefix', [prefixChannel('training', `s3://${BUCKET}/channels/a/train/`)], { onProgress: (p) => progress.push(p.bytes) }));
    const dir = join(work, 'prefix/opt/ml/input/data/training');
    expect(await filesIn(dir)).toEqual(['empty.txt', 'large.bin', 'sub dir/naïve+file #1.csv']);
    expect(sha(await readFile(join(dir, 'large.bin')))).toBe(sha(large));
    expect(await readFile(join(dir, 'sub dir/naïve+file #1.csv'), 'utf8')).toBe('x,y\n1,2\n');
    expect(result).toMatchObject({ totalFiles: 3, files: 3, totalBytes: large.length + 8, keptFiles: 0 });
    // 12 MiB in 5 MiB parts: three ranged GETs, never the whole object in one.
    const gets = requests.filter((r) => r.command === 'GetObjectCommand' && r.input.Key === 'channels/a/train/large.bin');
    expect(gets.map((g) => g.input.Range)).toEqual(expect.arrayContaining(['bytes=0-5242879', 'bytes=5242880-10485759', `bytes=10485760-${large.length - 1}`]));
    expect(progress.at(-1)).toBe(large.length + 8);
  });

  it('keeps what an instance already has after a stop, and fetches what changed', async () => {
    await put('channels/b/one.txt', 'one');
    await put('channels/b/two.txt', 'two');
    const channels = [prefixChannel('training', `s3://${BUCKET}/channels/b/`)];
    await downloadChannels(input('kept', channels));
    await put('channels/b/two.txt', 'two, changed');
    requests.length = 0;
    const again = await downloadChannels(input('kept', channels));
    expect(again.keptFiles).toBe(1);
    expect(requests.filter((r) => r.command === 'GetObjectCommand').map((r) => r.input.Key)).toEqual(['channels/b/two.txt']);
    expect(await readFile(join(work, 'kept/opt/ml/input/data/training/two.txt'), 'utf8')).toBe('two, changed');
  });

  it('deals ShardedByS3Key objects out to the instances, every object to exactly one', async () => {
    for (let i = 0; i < 7; i++) await put(`channels/c/part-${i}.csv`, `row ${i}\n`);
    const channels = [prefixChannel('training', `s3://${BUCKET}/channels/c/`, 'ShardedByS3Key')];
    const shards = [];
    for (const hostIndex of [0, 1, 2]) {
      await downloadChannels(input(`shard-${hostIndex}`, channels, { hostIndex, hostCount: 3 }));
      shards.push(await filesIn(join(work, `shard-${hostIndex}/opt/ml/input/data/training`)));
    }
    expect(shards.map((s) => s.length)).toEqual([3, 2, 2]);
    expect(shards.flat().sort()).toEqual(Array.from({ length: 7 }, (_, i) => `part-${i}.csv`));
    expect(shards[0]).toEqual(['part-0.csv', 'part-3.csv', 'part-6.csv']);
  });

  it('reads a ManifestFile: its prefix and the keys it lists, nothing else', async () => {
    await put('channels/d/x/1.txt', 'first');
    await put('channels/d/x/deep/2.txt', 'second');
    await put('channels/d/x/unlisted.txt', 'not listed');
    await put('channels/d/manifest.json', JSON.stringify([{ prefix: `s3://${BUCKET}/channels/d/x/` }, '1.txt', 'deep/2.txt']));
    const channel: InputChannel = { ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'ManifestFile', S3Uri: `s3://${BUCKET}/channels/d/manifest.json`, S3DataDistributionType: 'FullyReplicated' } }, InputMode: 'File' };
    await downloadChannels(input('manifest', [channel]));
    expect(await filesIn(join(work, 'manifest/opt/ml/input/data/train'))).toEqual(['1.txt', 'deep/2.txt']);
  });

  it('refuses a manifest naming another bucket, and a key listed but missing, naming the channel', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'someone-elses-bucket' })).catch(() => undefined);
    await put('channels/e/manifest.json', JSON.stringify([{ prefix: 's3://someone-elses-bucket/data/' }, 'a.txt']));
    const elsewhere: InputChannel = { ChannelName: 'train', DataSource: { S3DataSource: { S3DataType: 'ManifestFile', S3Uri: `s3://${BUCKET}/channels/e/manifest.json`, S3DataDistributionType: 'FullyReplicated' } }, InputMode: 'File' };
    await expect(downloadChannels(input('refused', [elsewhere]))).rejects.toThrow(/channel train: .*names objects in bucket someone-elses-bucket; they must be in spot-training-data/);
    await put('channels/f/manifest.json', JSON.stringify([{ prefix: `s3://${BUCKET}/channels/f/` }, 'missing.txt']));
    const missing: InputChannel = { ...elsewhere, DataSource: { S3DataSource: { ...elsewhere.DataSource.S3DataSource, S3Uri: `s3://${BUCKET}/channels/f/manifest.json` } } };
    await expect(downloadChannels(input('missing', [missing]))).rejects.toThrow(/channel train: s3:\/\/spot-training-data\/channels\/f\/missing\.txt, listed in .* cannot be read/);
  });
});

describe('the model and output, where SageMaker puts them', () => {
  const target = (over: Record<string, unknown> = {}) => ({ s3, jobName: 'artifacts-job', transfer: TRANSFER, output: { S3OutputPath: `s3://${BUCKET}/out`, ...over } });

  it('uploads /opt/ml/model as model.tar.gz and output/data as output.tar.gz, with SSE-KMS when the job names a key', async () => {
    const model = join(work, 'artifacts/model');
    const data = join(work, 'artifacts/data');
    await mkdir(join(model, 'sub'), { recursive: true });
    await mkdir(data, { recursive: true });
    await writeFile(join(model, 'weights.bin'), randomBytes(1000));
    await writeFile(join(model, 'sub/config.json'), '{}');
    requests.length = 0;
    const uri = await uploadModel(target({ KmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/abc' }), model);
    expect(uri).toBe(`s3://${BUCKET}/out/artifacts-job/output/model.tar.gz`);
    const puts = requests.filter((r) => r.command === 'PutObjectCommand' || r.command === 'CreateMultipartUploadCommand');
    expect(puts.length).toBeGreaterThan(0);
    for (const p of puts) expect(p.input).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:us-east-1:123456789012:key/abc' });
    const body = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'out/artifacts-job/output/model.tar.gz' }))).Body?.transformToByteArray();
    const listed = execFileSync('tar', ['-tz'], { input: Buffer.from(body ?? []) }).toString().split('\n').filter(Boolean).sort();
    expect(listed).toEqual(expect.arrayContaining(['./weights.bin', './sub/config.json']));

    expect(await uploadOutputData(target(), data)).toBeUndefined();
    await writeFile(join(data, 'predictions.csv'), '1\n');
    expect(await uploadOutputData(target(), data)).toBe(`s3://${BUCKET}/out/artifacts-job/output/output.tar.gz`);
  });

  it('uploads the model folder as files with CompressionType NONE', async () => {
    const model = join(work, 'artifacts-none/model');
    await mkdir(join(model, 'sub'), { recursive: true });
    await writeFile(join(model, 'a.txt'), 'a');
    await writeFile(join(model, 'sub/b.txt'), 'b');
    expect(await uploadModel(target({ CompressionType: 'NONE' }), model)).toBe(`s3://${BUCKET}/out/artifacts-job/output/model/`);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'out/artifacts-job/output/model/' }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['out/artifacts-job/output/model/a.txt', 'out/artifacts-job/output/model/sub/b.txt']);
  });

  it("takes /opt/ml/output/failure as the job's FailureReason, its first 1024 characters", async () => {
    const file = join(work, 'failure');
    expect(await failureReason(file)).toBeUndefined();
    await writeFile(file, `ValueError: bad input\n${'x'.repeat(2000)}`);
    const reason = await failureReason(file);
    expect(reason?.startsWith('ValueError: bad input')).toBe(true);
    expect(reason).toHaveLength(1024);
  });

  it('copies TensorBoard output as it grows, to <S3OutputPath>/<job>/tensorboard-output/', async () => {
    const local = join(work, 'tensorboard');
    await mkdir(join(local, 'train'), { recursive: true });
    await writeFile(join(local, 'train/events.out.tfevents.1'), 'first');
    await writeFile(join(local, 'hparams.json'), '{}');
    const sync = new TensorBoardSync(s3, local, { S3OutputPath: `s3://${BUCKET}/tb`, LocalPath: '/opt/ml/output/tensorboard' }, 'tb-job', { S3OutputPath: `s3://${BUCKET}/out` }, TRANSFER);
    expect(await sync.sync()).toBe(2);
    expect(await sync.sync()).toBe(0);
    await writeFile(join(local, 'train/events.out.tfevents.1'), 'first, then more');
    expect(await sync.sync()).toBe(1);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tb/tb-job/tensorboard-output/' }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['tb/tb-job/tensorboard-output/hparams.json', 'tb/tb-job/tensorboard-output/train/events.out.tfevents.1']);
    const body = await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'tb/tb-job/tensorboard-output/train/events.out.tfevents.1' }))).Body?.transformToString();
    expect(body).toBe('first, then more');
  });
});
