import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  AddTagsCommand,
  CreateTrainingJobCommand,
  DeleteTagsCommand,
  ListTagsCommand,
  DescribeTrainingJobCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
  StopTrainingJobCommand,
  type CreateTrainingJobCommandInput,
  type DescribeTrainingJobCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudWithClients, type CloudWithClients } from '../support/awsClients.js';
import { LOCAL_CREDENTIALS, type LocalCloud } from '../../localcloud/localCloud.js';
import type { LocalCloudSettings } from '../../localcloud/settings.js';
import { restoreKey, type RestoreInstruction } from '../../shared/protocol.js';

/**
 * Real SageMaker clients judge the API: the AWS SDK for JavaScript's own SageMaker client and
 * Python's boto3 (whose botocore checks each request against its copy of SageMaker's model
 * before sending it), sending the exact bodies of the SageMaker Python SDK's Estimator.fit()
 * (test/fixtures/sagemaker-sdk) to the local cloud.
 */
const FAST: LocalCloudSettings = {
  timeScale: 40,
  sweepIntervalSeconds: 0.5,
  instanceTypes: {
    'g5.xlarge': { launchDelaySeconds: 20, spotCapacity: true, spotPrice: 0.4, onDemandPrice: 1.0, downloadSeconds: 10, trainingSeconds: 400, uploadSeconds: 5, checkpointEverySeconds: 20 },
  },
};
const fixturePath = (name: string) => fileURLToPath(new URL(`../fixtures/sagemaker-sdk/${name}`, import.meta.url));
const fitBody = (name: string, jobName: string) => ({ ...(JSON.parse(readFileSync(fixturePath(name), 'utf8')) as CreateTrainingJobCommandInput), TrainingJobName: jobName });

let cloud: LocalCloud;
let sagemaker: SageMakerClient;
let events: EventBridgeClient;
let s3: S3Client;

let aws: CloudWithClients;

beforeAll(async () => {
  aws = await startCloudWithClients({ settings: FAST });
  ({ cloud, sagemaker, events, s3 } = aws);
}, 120_000);

afterAll(() => aws?.stop(), 60_000);

const describeJob = (name: string) => sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
const statuses = (job: DescribeTrainingJobOutputLike) => (job.SecondaryStatusTransitions ?? []).map((t) => t.Status);
type DescribeTrainingJobOutputLike = Pick<DescribeTrainingJobCommandOutput, 'SecondaryStatusTransitions'>;

/** Polls DescribeTrainingJob through the SDK until the job satisfies `done`. */
async function waitUntil(name: string, done: (job: DescribeTrainingJobCommandOutput) => boolean, timeoutMs: number): Promise<DescribeTrainingJobCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await describeJob(name);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`${name} is still ${job.TrainingJobStatus}/${job.SecondaryStatus} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
const finished = (job: DescribeTrainingJobCommandOutput) => ['Completed', 'Failed', 'Stopped'].includes(job.TrainingJobStatus ?? '');

/** spot-training's members beyond SageMaker's, read over plain HTTP: the SDK drops members it does not know. */
async function beyondSageMaker(name: string): Promise<{ Attempts: { InstanceIds: string[] }[]; LatestCheckpoint?: { CheckpointId: string } }> {
  const response = await fetch(cloud.endpoints.api, {
    method: 'POST',
    headers: { 'x-amz-target': 'SageMaker.DescribeTrainingJob', 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify({ TrainingJobName: name }),
  });
  return (await response.json()) as Awaited<ReturnType<typeof beyondSageMaker>>;
}

/** The job once it has a complete checkpoint, waited for as waitUntil does. */
async function checkpointed(name: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await beyondSageMaker(name);
    if (job.LatestCheckpoint) return job;
    if (Date.now() > deadline) throw new Error(`${name} has no checkpoint after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function readRestore(name: string, attempt: number): Promise<RestoreInstruction> {
  const object = await s3.send(new GetObjectCommand({ Bucket: cloud.env.CONTROL_BUCKET, Key: restoreKey(name, attempt) }));
  return JSON.parse(await (object.Body?.transformToString() ?? '{}')) as RestoreInstruction;
}

describe('the AWS SDK for JavaScript, with the body of Estimator.fit()', () => {
  it('creates the job, which is interrupted once, resumes and completes; Describe echoes what fit() sent', async () => {
    const name = 'sdk-fit-spot';
    const body = fitBody('estimator-fit-spot.json', name);
    const created = await sagemaker.send(new CreateTrainingJobCommand(body));
    expect(created.TrainingJobArn).toBe(`arn:aws:sagemaker:us-east-1:000000000000:training-job/${name}`);

    const training = await waitUntil(name, (j) => j.SecondaryStatus === 'Training', 60_000);
    // As submitted, with SageMaker's default input mode filled in
    const channels = [{ ...body.InputDataConfig?.[0], InputMode: 'File' }];
    expect(training.InputDataConfig).toEqual(channels);
    // The agent is told the channel and the job's own members
    const restore = await readRestore(name, 1);
    expect(restore.InputDataConfig).toEqual(channels);
    expect(restore.ResourceConfig).toEqual({ InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 });
    expect(restore.TrainingJobArn).toBe(created.TrainingJobArn);

    const beforeWarning = await checkpointed(name, 60_000);
    const instance = beforeWarning.Attempts.at(-1)?.InstanceIds[0] ?? '';
    const put = await events.send(
      new PutEventsCommand({ Entries: [{ Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': instance, 'instance-action': 'terminate' }) }] }),
    );
    expect(put.FailedEntryCount).toBe(0);

    const done = await waitUntil(name, finished, 120_000);
    expect(statuses(done)).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(done).toMatchObject({
      TrainingJobStatus: 'Completed',
      RoleArn: body.RoleArn,
      ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
      AlgorithmSpecification: { TrainingImage: body.AlgorithmSpecification?.TrainingImage, TrainingInputMode: 'File' },
      StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
      InputDataConfig: channels,
      DebugHookConfig: { S3OutputPath: 's3://spot-training-data/output', CollectionConfigurations: [] },
      ProfilerConfig: { S3OutputPath: 's3://spot-training-data/output', DisableProfiler: false },
      EnableManagedSpotTraining: true,
      EnableNetworkIsolation: false,
      ModelArtifacts: { S3ModelArtifacts: `s3://spot-training-data/output/${name}/output/model.tar.gz` },
    });
    // The SDK parsed SageMaker's epoch-second timestamps into dates
    expect(done.CreationTime).toBeInstanceOf(Date);
    expect(done.TrainingEndTime?.getTime()).toBeGreaterThan(done.CreationTime?.getTime() ?? Infinity);
    expect(done.BillableTimeInSeconds).toBeLessThan(done.TrainingTimeInSeconds ?? 0);
    // The second attempt was told the same channel, and resumed from a checkpoint
    const resumed = await readRestore(name, 2);
    expect(resumed.InputDataConfig).toEqual(restore.InputDataConfig);
    expect(resumed.Checkpoint?.Id).toBeDefined();
  }, 240_000);

  it('lists, tags and stops a job, and a refused request writes nothing', async () => {
    const name = 'sdk-fit-stop';
    await sagemaker.send(new CreateTrainingJobCommand(fitBody('estimator-fit-spot-debugger-off.json', name)));
    const listed = await sagemaker.send(new ListTrainingJobsCommand({ NameContains: 'sdk-fit-stop' }));
    expect(listed.TrainingJobSummaries?.map((s) => [s.TrainingJobName, s.TrainingJobStatus])).toEqual([[name, 'InProgress']]);
    expect(listed.TrainingJobSummaries?.[0]?.CreationTime).toBeInstanceOf(Date);

    // Tags, by the job's ARN
    const ResourceArn = `arn:aws:sagemaker:us-east-1:000000000000:training-job/${name}`;
    await sagemaker.send(new AddTagsCommand({ ResourceArn, Tags: [{ Key: 'team', Value: 'vision' }, { Key: 'run', Value: '1' }] }));
    await sagemaker.send(new DeleteTagsCommand({ ResourceArn, TagKeys: ['run'] }));
    expect((await sagemaker.send(new ListTagsCommand({ ResourceArn }))).Tags).toEqual([{ Key: 'team', Value: 'vision' }]);

    await sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: name }));
    const stopped = await waitUntil(name, finished, 60_000);
    expect(stopped.TrainingJobStatus).toBe('Stopped');
    expect(stopped.ProfilerConfig).toEqual({ DisableProfiler: true });
    expect(stopped.DebugHookConfig).toBeUndefined();

    const refused = fitBody('estimator-fit-spot.json', 'sdk-refused');
    refused.InputDataConfig = [{ ChannelName: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://someone-elses-bucket/data' } } }];
    const error = await sagemaker.send(new CreateTrainingJobCommand(refused)).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/someone-elses-bucket, which this deployment does not allow/) });
    const missing = await describeJob('sdk-refused').catch((e: Error) => e);
    expect(missing).toBeInstanceOf(Error);
    expect((missing as Error).message).toMatch(/Requested resource not found/);
  }, 120_000);
});

describe('boto3', () => {
  const available = (() => {
    try {
      return promisify(execFile)('python3', ['-c', 'import boto3']).then(
        () => true,
        () => false,
      );
    } catch {
      return Promise.resolve(false);
    }
  })();
  const script = fileURLToPath(new URL('../support/boto3Client.py', import.meta.url));
  const boto3 = async <T = Record<string, unknown>>(...args: string[]): Promise<T> => {
    const { stdout } = await promisify(execFile)('python3', [script, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: cloud.dataDir,
        SPOT_TRAINING_ENDPOINT: cloud.endpoints.api,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
      },
    });
    return JSON.parse(stdout) as T;
  };

  it("sends fit()'s body past botocore's own validation, and parses every response", async (context) => {
    if (!(await available)) context.skip();
    const name = 'boto3-fit-spot';
    const bodyFile = join(cloud.dataDir, 'boto3-fit.json');
    await writeFile(bodyFile, JSON.stringify(fitBody('estimator-fit-spot.json', name)));
    expect(await boto3('create', bodyFile)).toEqual({ TrainingJobArn: `arn:aws:sagemaker:us-east-1:000000000000:training-job/${name}` });

    const done = await waitUntil(name, finished, 120_000);
    expect(done.TrainingJobStatus).toBe('Completed');
    const described = await boto3<Record<string, unknown>>('describe', name);
    expect(described).toMatchObject({
      TrainingJobName: name,
      TrainingJobStatus: 'Completed',
      ResourceConfig: { InstanceType: 'ml.g5.xlarge' },
      DebugHookConfig: { S3OutputPath: 's3://spot-training-data/output', CollectionConfigurations: [] },
      InputDataConfig: [expect.objectContaining({ ChannelName: 'training' })],
    });
    // botocore parsed the timestamps (printed back as dates, not numbers)
    expect(String(described.CreationTime)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);

    const listed = await boto3<{ TrainingJobSummaries: { TrainingJobName: string }[] }>('list', 'boto3-fit');
    expect(listed.TrainingJobSummaries.map((s) => s.TrainingJobName)).toEqual([name]);
    expect(await boto3('tags', `arn:aws:sagemaker:us-east-1:000000000000:training-job/${name}`)).toEqual({ Tags: [] });
    const stopFinished = await boto3<{ Error?: { Code: string; Message: string } }>('stop', name);
    expect(stopFinished.Error?.Code).toBe('ValidationException');
  }, 180_000);
});
