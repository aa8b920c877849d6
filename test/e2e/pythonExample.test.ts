import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient, StopTrainingJobCommand, type CreateTrainingJobCommandInput, type DescribeTrainingJobCommandOutput } from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudWithClients, type CloudWithClients } from '../support/awsClients.js';
import type { LocalCloud } from '../../localcloud/localCloud.js';
import { REAL_AGENT } from '../cli/harness.js';

/**
 * examples/linear_regression.py, a training script written against SageMaker's container
 * contract only, submitted with the body of the SageMaker Python SDK's Estimator.fit() (plus
 * `container_entry_point`, since no container engine runs here) and run end to end on the
 * local cloud by the real agent: its `training` channel of generated CSV in the local S3,
 * interrupted once and resumed from its checkpoint, its model in S3 where SageMaker puts it.
 */
const SCRIPT = resolve('examples/linear_regression.py');
const BUCKET = 'spot-training-data';
const run = promisify(execFile);

let cloud: LocalCloud;
let sagemaker: SageMakerClient;
let events: EventBridgeClient;
let s3: S3Client;
let work: string;

let aws: CloudWithClients;

beforeAll(async () => {
  aws = await startCloudWithClients({ settings: REAL_AGENT, agent: 'process' });
  ({ cloud, sagemaker, events, s3 } = aws);
  work = await mkdtemp(join(tmpdir(), 'python-example-'));
}, 120_000);
afterAll(() => aws?.stop(), 60_000);

/** spot-training's members beyond SageMaker's (attempts, checkpoint), read over plain HTTP. */
async function beyondSageMaker(name: string): Promise<{ Attempts: { InstanceIds: string[] }[]; LatestCheckpoint?: { CheckpointId: string }; SecondaryStatus: string }> {
  const response = await fetch(cloud.endpoints.api, {
    method: 'POST',
    headers: { 'x-amz-target': 'SageMaker.DescribeTrainingJob', 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify({ TrainingJobName: name }),
  });
  return (await response.json()) as Awaited<ReturnType<typeof beyondSageMaker>>;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The training channel: generated CSV in the local S3, once. */
let uploaded: Promise<void> | undefined;
function trainingData(): Promise<void> {
  uploaded ??= (async () => {
    const data = join(work, 'data');
    await run('python3', ['examples/make_linear_data.py', data, '4000', '4']);
    for (const file of await readdir(data)) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `data/linear/training/${file}`, Body: await readFile(join(data, file)) }));
    }
  })();
  return uploaded;
}

/** Estimator.fit()'s body for the example, with `container_entry_point` and the example's hyperparameters. */
function fitBody(name: string, epochSeconds: string): CreateTrainingJobCommandInput {
  const fit = JSON.parse(readFileSync('test/fixtures/sagemaker-sdk/estimator-fit-spot.json', 'utf8')) as CreateTrainingJobCommandInput;
  return {
      ...fit,
      TrainingJobName: name,
      AlgorithmSpecification: {
        ...fit.AlgorithmSpecification,
        TrainingInputMode: 'File',
        ContainerEntrypoint: ['python3', SCRIPT],
        MetricDefinitions: [{ Name: 'train:loss', Regex: 'train_loss=([0-9.]+)' }],
      },
      HyperParameters: { epochs: '40', learning_rate: '0.1', batch_size: '64', epoch_seconds: epochSeconds },
      InputDataConfig: (fit.InputDataConfig ?? []).map((c) => ({ ...c, DataSource: { S3DataSource: { ...c.DataSource!.S3DataSource!, S3Uri: `s3://${BUCKET}/data/linear/training` } } })),
      CheckpointConfig: { S3Uri: `s3://${BUCKET}/checkpoints/${name}` },
  };
}

async function modelOf(name: string): Promise<{ weights: number[]; bias: number; epochs: number; resumed_from: number[] }> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `output/${name}/output/model.tar.gz` }));
  const folder = await mkdtemp(join(work, 'model-'));
  await writeFile(join(folder, 'model.tar.gz'), await object.Body!.transformToByteArray());
  await run('tar', ['-xzf', join(folder, 'model.tar.gz'), '-C', folder]);
  return JSON.parse(await readFile(join(folder, 'model.json'), 'utf8')) as Awaited<ReturnType<typeof modelOf>>;
}

const ended = (name: string) =>
  until<DescribeTrainingJobCommandOutput>(`${name} to end`, async () => {
    const job = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    return ['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus ?? '') ? job : undefined;
  }, 180_000);

describe('the Python example, as a SageMaker user submits it', () => {
  it('downloads its channel, trains, is interrupted, resumes from its checkpoint and delivers its model', async () => {
    await trainingData();
    const name = 'linear-regression-example';
    await sagemaker.send(new CreateTrainingJobCommand(fitBody(name, '0.15')));

    // Interrupted once the first attempt has a checkpoint of its own.
    const checkpointed = await until('a checkpoint of attempt 1', async () => {
      const job = await beyondSageMaker(name);
      return job.SecondaryStatus === 'Training' && job.LatestCheckpoint ? job : undefined;
    }, 90_000);
    await events.send(
      new PutEventsCommand({
        Entries: [{ Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': checkpointed.Attempts[0]?.InstanceIds[0], 'instance-action': 'terminate' }) }],
      }),
    );
    const done = await ended(name);

    expect(done.FailureReason).toBeUndefined();
    expect(done.TrainingJobStatus).toBe('Completed');
    expect((done.SecondaryStatusTransitions ?? []).map((t) => t.Status)).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(done.InputDataConfig?.[0]?.ChannelName).toBe('training');
    expect(done.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://${BUCKET}/output/${name}/output/model.tar.gz`);

    // The model the script wrote, as the agent uploaded it: it learned the weights the data was made with.
    const model = await modelOf(name);
    expect(model.epochs).toBe(40);
    expect(model.resumed_from).toHaveLength(1);
    expect(model.resumed_from[0]).toBeGreaterThan(0);
    [3, -2, 0.5].forEach((w, i) => expect(Math.abs((model.weights[i] ?? 0) - w)).toBeLessThan(0.05));
    expect(Math.abs(model.bias - 1)).toBeLessThan(0.05);

    // Its other output, as output.tar.gz.
    const output = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `output/${name}/output/output.tar.gz` }));
    expect((await output.Body!.transformToByteArray()).length).toBeGreaterThan(0);
  }, 300_000);

  it('delivers the model it has when stopped, after its SIGTERM, as SageMaker does', async () => {
    await trainingData();
    const name = 'linear-regression-stopped';
    await sagemaker.send(new CreateTrainingJobCommand(fitBody(name, '1')));
    await until('a checkpoint', async () => ((await beyondSageMaker(name)).LatestCheckpoint ? true : undefined), 90_000);
    await sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: name }));
    const done = await ended(name);
    expect(done.TrainingJobStatus).toBe('Stopped');
    expect(done.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://${BUCKET}/output/${name}/output/model.tar.gz`);
    const model = await until('the model of the stopped job', () => modelOf(name).catch(() => undefined), 30_000);
    expect(model.epochs).toBeGreaterThan(0);
    expect(model.epochs).toBeLessThan(40);
  }, 300_000);
});
