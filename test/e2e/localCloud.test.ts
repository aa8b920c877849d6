import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCallError, TrainingJobsClient } from '../../cli/apiClient.js';
import { waitFor, type Described } from '../../localcloud/demo.js';
import { LOCAL_CREDENTIALS, startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import type { LocalCloudSettings } from '../../localcloud/settings.js';
import { jobRequest } from '../support/jobHarness.js';

/**
 * The local cloud end to end, driven only through its public endpoints: the HTTP API,
 * EventBridge PutEvents and S3, with the SDKs and the machine's AWS CLI as clients.
 */
const FAST: LocalCloudSettings = {
  timeScale: 40,
  sweepIntervalSeconds: 0.5,
  instanceTypes: {
    'g5.xlarge': { launchDelaySeconds: 20, spotCapacity: true, spotPrice: 0.4, onDemandPrice: 1.0, downloadSeconds: 10, trainingSeconds: 200, uploadSeconds: 5, checkpointEverySeconds: 20 },
    'p3.2xlarge': { launchDelaySeconds: 20, spotCapacity: false, spotPrice: 0.9, onDemandPrice: 3.06, downloadSeconds: 10, trainingSeconds: 200, uploadSeconds: 5, checkpointEverySeconds: 20 },
  },
};

let cloud: LocalCloud;
let api: TrainingJobsClient;
let events: EventBridgeClient;

beforeAll(async () => {
  cloud = await startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 }, settings: FAST, log: () => undefined });
  api = new TrainingJobsClient(cloud.endpoints.api);
  events = new EventBridgeClient({ endpoint: cloud.endpoints.events, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
}, 120_000);

afterAll(async () => {
  events?.destroy();
  await cloud?.stop();
}, 60_000);

const job = jobRequest;

const statuses = (j: Described) => j.SecondaryStatusTransitions.map((t) => t.Status);
const finished = (j: Described) => ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus);
const currentInstance = (j: Described) => j.Attempts.at(-1)?.InstanceIds[0] ?? '';

async function putWarning(instanceId: string, action: 'terminate' | 'stop' | 'hibernate' = 'terminate', source = 'aws.ec2') {
  const result = await events.send(
    new PutEventsCommand({
      Entries: [{ Source: source, DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': instanceId, 'instance-action': action }) }],
    }),
  );
  expect(result.FailedEntryCount).toBe(0);
}

describe("SageMaker's four spot lifecycles through the public endpoints", () => {
  it.concurrent('lifecycle 1: no interruption, to Completed', async () => {
    await api.call('CreateTrainingJob', job('e2e-one', { HyperParameters: { sim_training_seconds: '60' } }));
    const done = await waitFor(api, 'e2e-one', finished, 60_000);
    expect(statuses(done)).toEqual(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(done.TrainingTimeInSeconds).toBeGreaterThan(0);
    expect(done.BillableTimeInSeconds).toBeLessThan(done.TrainingTimeInSeconds);
  });

  it.concurrent('lifecycle 2: interrupted once with a PutEvents warning, resumed from the checkpoint, Completed', async () => {
    await api.call('CreateTrainingJob', job('e2e-two', { HyperParameters: { sim_training_seconds: '200' } }));
    const training = await waitFor(api, 'e2e-two', (j) => j.SecondaryStatus === 'Training' && j.LatestCheckpoint !== undefined, 60_000);
    const first = currentInstance(training);
    await putWarning(first);
    // The same warning delivered again, late, changes nothing
    await putWarning(first);
    const done = await waitFor(api, 'e2e-two', finished, 90_000);
    expect(statuses(done)).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(done.Attempts.map((a) => a.EndReason)).toEqual(['interrupted', 'completed']);
    expect(done.SecondaryStatusTransitions[5]?.StatusMessage).toMatch(/Restoring the latest checkpoint/);
    // A warning for the older attempt's instance, after the fact: nothing moves
    await putWarning(first);
    await cloud.idle();
    expect(statuses(await api.call<Described>('DescribeTrainingJob', { TrainingJobName: 'e2e-two' }))).toEqual(statuses(done));
  }, 120_000);

  it.concurrent('lifecycle 3: interrupted twice (terminate, then stop and back), MaxWaitTimeInSeconds exceeded', async () => {
    await api.call(
      'CreateTrainingJob',
      job('e2e-three', {
        StoppingCondition: { MaxRuntimeInSeconds: 30, MaxWaitTimeInSeconds: 30 },
        SpotOptions: { InterruptionBehavior: 'stop' },
        HyperParameters: { sim_training_seconds: '100000' },
      }),
    );
    const first = await waitFor(api, 'e2e-three', (j) => j.SecondaryStatus === 'Training', 30_000);
    await putWarning(currentInstance(first), 'terminate');
    const second = await waitFor(api, 'e2e-three', (j) => j.SecondaryStatus === 'Training' && j.Attempts.length === 2, 30_000);
    await putWarning(currentInstance(second), 'stop');
    const back = await waitFor(api, 'e2e-three', (j) => j.SecondaryStatus === 'Training' && j.Attempts.length === 3, 30_000);
    expect(back.Attempts[2]?.InstanceIds).toEqual(second.Attempts[1]?.InstanceIds);
    const done = await waitFor(api, 'e2e-three', finished, 40_000);
    expect(statuses(done)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Interrupted',
      'Starting',
      'Downloading',
      'Training',
      'Interrupted',
      'Downloading',
      'Training',
      'Stopping',
      'MaxWaitTimeExceeded',
    ]);
    expect(done.TrainingJobStatus).toBe('Stopped');
  }, 120_000);

  it.concurrent('lifecycle 4: spot capacity never launched, MaxWaitTimeInSeconds exceeded', async () => {
    await api.call(
      'CreateTrainingJob',
      job('e2e-four', { ResourceConfig: { InstanceType: 'p3.2xlarge', InstanceCount: 1 }, StoppingCondition: { MaxRuntimeInSeconds: 4, MaxWaitTimeInSeconds: 4 } }),
    );
    const waiting = await api.call<Described>('DescribeTrainingJob', { TrainingJobName: 'e2e-four' });
    expect(waiting.SecondaryStatusTransitions[0]?.StatusMessage).toBe('Insufficient capacity error from EC2 while launching instances, retrying!');
    const done = await waitFor(api, 'e2e-four', finished, 30_000);
    expect(statuses(done)).toEqual(['Starting', 'Stopping', 'MaxWaitTimeExceeded']);
    expect(done.TrainingTimeInSeconds).toBe(0);
  });
});

describe('two jobs naming one checkpoint folder', () => {
  it('never mix their checkpoints, and a later job starts from the finished one\'s latest', async () => {
    const shared = { CheckpointConfig: { S3Uri: 's3://spot-training-data/ckpt/shared/' } };
    // Given job A training on a type with capacity, and job B on one without (it never runs)
    await api.call('CreateTrainingJob', job('shared-a', { ...shared, HyperParameters: { sim_training_seconds: '200' } }));
    await api.call('CreateTrainingJob', job('shared-b', { ...shared, ResourceConfig: { InstanceType: 'p3.2xlarge', InstanceCount: 1, VolumeSizeInGB: 50 } }));
    const training = await waitFor(api, 'shared-a', (j) => j.SecondaryStatus === 'Training' && j.LatestCheckpoint !== undefined, 60_000);
    // When A is interrupted and goes on
    await putWarning(currentInstance(training));
    const done = await waitFor(api, 'shared-a', finished, 90_000);
    expect(done.TrainingJobStatus).toBe('Completed');
    // Then A's checkpoints are its own, in its own folder, and B has none
    type WithCheckpoint = Described & { LatestCheckpoint?: { CheckpointId: string; ManifestUri: string } };
    const a = await api.call<WithCheckpoint>('DescribeTrainingJob', { TrainingJobName: 'shared-a' });
    const b = await api.call<WithCheckpoint>('DescribeTrainingJob', { TrainingJobName: 'shared-b' });
    expect(a.LatestCheckpoint?.ManifestUri).toMatch(/^s3:\/\/spot-training-data\/ckpt\/shared\/shared-a\//);
    expect(b.LatestCheckpoint).toBeUndefined();
    // And A's second attempt restored A's latest checkpoint, not an older one
    expect(done.SecondaryStatusTransitions[5]?.StatusMessage).toMatch(/Restoring the latest checkpoint/);
    // A new job on the same folder starts from the finished job's latest checkpoint
    await api.call('CreateTrainingJob', job('shared-c', { ...shared, ResourceConfig: { InstanceType: 'p3.2xlarge', InstanceCount: 1, VolumeSizeInGB: 50 } }));
    const c = await api.call<WithCheckpoint>('DescribeTrainingJob', { TrainingJobName: 'shared-c' });
    expect(c.LatestCheckpoint?.ManifestUri).toBe(a.LatestCheckpoint?.ManifestUri);
    await api.call('StopTrainingJob', { TrainingJobName: 'shared-b' });
    await api.call('StopTrainingJob', { TrainingJobName: 'shared-c' });
  }, 150_000);
});

describe('a request body over the limit', () => {
  it('gets its 413, not a reset connection', async () => {
    const body = JSON.stringify({ TrainingJobName: 'too-big', HyperParameters: { blob: 'x'.repeat(6 * 1024 * 1024) } });
    const response = await fetch(cloud.endpoints.api, { method: 'POST', headers: { 'x-amz-target': 'SageMaker.CreateTrainingJob', 'content-type': 'application/x-amz-json-1.1' }, body });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { __type: string }).__type).toBe('ValidationException');
  });
});

describe('events the system must shrug off', () => {
  it('an event for an unknown instance and a malformed event write nothing and are not retried', async () => {
    const before = await api.call<{ TrainingJobSummaries: unknown[] }>('ListTrainingJobs', { MaxResults: 100 });
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': 'i-0123456789abcdef0', 'instance-action': 'terminate' }) },
          { Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-action': 'explode' }) },
          { Source: 'aws.ec2', DetailType: 'EC2 Instance State-change Notification', Detail: JSON.stringify({ 'instance-id': '../../etc', state: 'running' }) },
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(0);
    await cloud.idle();
    expect(cloud.bus.deadLetters()).toEqual([]);
    const after = await api.call<{ TrainingJobSummaries: unknown[] }>('ListTrainingJobs', { MaxResults: 100 });
    expect(after.TrainingJobSummaries).toEqual(before.TrainingJobSummaries);
  });

  it('answers SageMaker-style errors over the wire', async () => {
    const error = await api.call('CreateTrainingJob', job('bad_name')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiCallError);
    expect(error).toMatchObject({ type: 'ValidationException', statusCode: 400 });
    expect((error as Error).message).toMatch(/Value 'bad_name' at 'trainingJobName'/);
    const unknown = await api.call('CreateModel', {}).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ type: 'UnknownOperationException' });
  });
});

describe('the AWS CLI as a client', () => {
  const run = promisify(execFile);
  const aws = (args: string[]) =>
    run('aws', args, {
      env: { PATH: process.env.PATH ?? '', HOME: cloud.dataDir, AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1' },
    });

  it('creates, describes, lists, interrupts (put-events) and stops a job', async () => {
    const endpoint = ['--endpoint-url', cloud.endpoints.api];
    const input = join(cloud.dataDir, 'cli-job.json');
    await writeFile(input, JSON.stringify({ ...job('e2e-cli', { HyperParameters: { sim_training_seconds: '100000' } }), RoleArn: 'arn:aws:iam::000000000000:role/training' }));
    const created = JSON.parse((await aws(['sagemaker', 'create-training-job', ...endpoint, '--cli-input-json', `file://${input}`])).stdout);
    expect(created.TrainingJobArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:training-job/e2e-cli');

    const training = await waitFor(api, 'e2e-cli', (j) => j.SecondaryStatus === 'Training', 30_000);
    const entries = join(cloud.dataDir, 'warning.json');
    await writeFile(entries, JSON.stringify([{ Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': currentInstance(training), 'instance-action': 'terminate' }) }]));
    const put = JSON.parse((await aws(['events', 'put-events', '--endpoint-url', cloud.endpoints.events, '--entries', `file://${entries}`])).stdout);
    expect(put.FailedEntryCount).toBe(0);
    await waitFor(api, 'e2e-cli', (j) => statuses(j).includes('Interrupted'), 30_000);

    const described = JSON.parse((await aws(['sagemaker', 'describe-training-job', ...endpoint, '--training-job-name', 'e2e-cli'])).stdout);
    expect(described.EnableManagedSpotTraining).toBe(true);
    expect(described.SecondaryStatusTransitions.map((t: { Status: string }) => t.Status)).toContain('Interrupted');

    const listed = JSON.parse((await aws(['sagemaker', 'list-training-jobs', ...endpoint, '--name-contains', 'e2e-cli'])).stdout);
    expect(listed.TrainingJobSummaries.map((s: { TrainingJobName: string }) => s.TrainingJobName)).toEqual(['e2e-cli']);

    await aws(['sagemaker', 'stop-training-job', ...endpoint, '--training-job-name', 'e2e-cli']);
    const stopped = await waitFor(api, 'e2e-cli', finished, 30_000);
    expect(stopped.TrainingJobStatus).toBe('Stopped');
    expect(statuses(stopped).slice(-2)).toEqual(['Stopping', 'Stopped']);

    const missing = await aws(['sagemaker', 'describe-training-job', ...endpoint, '--training-job-name', 'nobody-here']).catch((e: { stderr: string }) => e);
    expect((missing as { stderr: string }).stderr).toMatch(/\(ValidationException\).*Requested resource not found/);
  }, 90_000);
});
