import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperations, type Operations } from '../../shared/api/operations.js';
import { ApiError } from '../../shared/errors.js';
import { nextDeadline } from '../../shared/lifecycle/deadlines.js';
import { jobRequest, JobHarness, StoreBackend, T0, TEST_CONFIG } from '../support/jobHarness.js';
import { createTestTable, type TestTable } from '../support/testTable.js';

let table: TestTable;
let ops: Operations;
let clock = T0;

beforeAll(async () => {
  table = await createTestTable();
  ops = createOperations({ store: table.store, config: TEST_CONFIG, now: () => clock });
});
afterAll(async () => {
  await table?.drop();
});

/** The error an operation throws, for assertions on its type and message. */
async function rejection(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the operation to be rejected');
}

async function expectNothingWritten(name: string) {
  const error = await rejection(ops.DescribeTrainingJob({ TrainingJobName: name }));
  expect(error.type).toBe('ValidationException');
  expect(error.message).toMatch(/^Requested resource not found/);
}

describe("CreateTrainingJob validation, as SageMaker's", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a name longer than 63 characters', { TrainingJobName: 'a'.repeat(64) }, /at 'trainingJobName' .*length less than or equal to 63/],
    ['a name with an underscore', { TrainingJobName: 'bad_name' }, /at 'trainingJobName' .*regular expression pattern/],
    ['a name starting with a hyphen', { TrainingJobName: '-lead' }, /at 'trainingJobName'/],
    ['an empty name', { TrainingJobName: '' }, /at 'trainingJobName' .*length greater than or equal to 1/],
    ['MaxRuntimeInSeconds below 1', { StoppingCondition: { MaxRuntimeInSeconds: 0, MaxWaitTimeInSeconds: 10 } }, /at 'stoppingCondition.maxRuntimeInSeconds' .*greater than or equal to 1/],
    ['MaxRuntimeInSeconds above 28 days', { StoppingCondition: { MaxRuntimeInSeconds: 2419201, MaxWaitTimeInSeconds: 2419201 } }, /at 'stoppingCondition.maxRuntimeInSeconds' .*less than or equal to 2419200/],
    ['a spot job without MaxWaitTimeInSeconds', { StoppingCondition: { MaxRuntimeInSeconds: 100 } }, /Invalid MaxWaitTimeInSeconds. It must be present/],
    ['MaxWaitTimeInSeconds below MaxRuntimeInSeconds', { StoppingCondition: { MaxRuntimeInSeconds: 100, MaxWaitTimeInSeconds: 99 } }, /Invalid MaxWaitTimeInSeconds 99.*greater than or equal to MaxRuntimeInSeconds/],
    [
      'MaxWaitTimeInSeconds without managed spot',
      { EnableManagedSpotTraining: false, StoppingCondition: { MaxRuntimeInSeconds: 100, MaxWaitTimeInSeconds: 200 } },
      /^1 validation error detected: Invalid MaxWaitTimeInSeconds. It is only supported when EnableManagedSpotTraining is set to true$/,
    ],
    [
      'a spot job without checkpoints waiting longer than 3600 s',
      { CheckpointConfig: undefined, StoppingCondition: { MaxRuntimeInSeconds: 100, MaxWaitTimeInSeconds: 3601 } },
      /Without CheckpointConfig .* limited to 3600 seconds/,
    ],
    ['a checkpoint URI that is not s3://', { CheckpointConfig: { S3Uri: 'https://example.com/x' } }, /at 'checkpointConfig.s3Uri' .*look like s3:\/\/bucket\/prefix/],
    ['a checkpoint URI in a bucket the deployment does not allow', { CheckpointConfig: { S3Uri: 's3://someone-elses-bucket/ckpt' } }, /CheckpointConfig.S3Uri .* someone-elses-bucket, which this deployment does not allow/],
    ['path traversal in the checkpoint URI', { CheckpointConfig: { S3Uri: 's3://spot-training-data/a/../../b' } }, /at 'checkpointConfig.s3Uri' .*"\.\." path segment/],
    ['a relative LocalPath', { CheckpointConfig: { S3Uri: 's3://spot-training-data/c', LocalPath: 'ckpt' } }, /at 'checkpointConfig.localPath'/],
    ['more than 100 environment variables', { Environment: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`V${i}`, 'x'])) }, /at 'environment' .*less than or equal to 100/],
    ['an environment variable key with a dash', { Environment: { 'BAD-KEY': '1' } }, /Value 'BAD-KEY' at 'environment' failed to satisfy constraint: Map keys must satisfy constraint: \[Member must satisfy regular expression pattern/],
    ['more than 50 tags', { Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }, /at 'tags' .*less than or equal to 50/],
    ['an InstanceCount of 0', { ResourceConfig: { InstanceType: 'g5.xlarge', InstanceCount: 0 } }, /at 'resourceConfig.instanceCount' .*greater than or equal to 1/],
    ['a string where a number belongs', { ResourceConfig: { InstanceType: 'g5.xlarge', InstanceCount: '2' } }, /at 'resourceConfig.instanceCount' .*be an integer/],
    ['a field SageMaker does not have', { InputDataConfig: [{ ChannelName: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://spot-training-data/data/' } }, Foo: 1 }] }, /Unknown field 'InputDataConfig\[0\]\.Foo'/],
    [
      'more than a job record can keep (SageMaker-valid HyperParameters and Environment at their limits)',
      {
        HyperParameters: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`h${i}`.padEnd(256, 'x'), 'v'.repeat(2500)])),
        Environment: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`E${i}`.padEnd(512, 'X'), 'v'.repeat(512)])),
      },
      /the job would keep \d+ bytes of its request; at most 327680 can be kept for one job \(largest, in bytes: HyperParameters \d+, Environment \d+/,
    ],
    ['RetryStrategy beyond 30 attempts', { RetryStrategy: { MaximumRetryAttempts: 31 } }, /at 'retryStrategy.maximumRetryAttempts'/],
  ];

  for (const [what, overrides, message] of cases) {
    it(`rejects ${what} with a ValidationException naming the field, and writes nothing`, async () => {
      const name = `invalid-${what.replace(/[^a-zA-Z0-9]+/g, '-').slice(0, 40).replace(/-+$/, '')}`;
      const error = await rejection(ops.CreateTrainingJob(jobRequest(name, overrides)));
      expect(error.type).toBe('ValidationException');
      expect(error.message).toMatch(message);
      if (/^[a-zA-Z0-9-]{1,63}$/.test(String((overrides as { TrainingJobName?: string }).TrainingJobName ?? name))) await expectNothingWritten(name);
    });
  }

  it('reports every problem of a request at once', async () => {
    const error = await rejection(
      ops.CreateTrainingJob(jobRequest('bad_name', { RetryStrategy: { MaximumRetryAttempts: 0 }, Tags: 'x' })),
    );
    expect(error.message).toMatch(/^3 validation errors detected: /);
  });

  it('accepts a spot job without checkpoints waiting exactly 3600 s, and echoes the instance type as submitted', async () => {
    await ops.CreateTrainingJob(jobRequest('no-checkpoints', { CheckpointConfig: undefined, StoppingCondition: { MaxRuntimeInSeconds: 600, MaxWaitTimeInSeconds: 3600 } }));
    const { response } = await ops.DescribeTrainingJob({ TrainingJobName: 'no-checkpoints' });
    expect(response).toMatchObject({ ResourceConfig: { InstanceType: 'ml.g5.xlarge' }, TrainingJobStatus: 'InProgress', SecondaryStatus: 'Starting' });
  });

  it('refuses more instances than the deployment allows with ResourceLimitExceeded', async () => {
    const error = await rejection(ops.CreateTrainingJob(jobRequest('too-many', { ResourceConfig: { InstanceType: 'g5.xlarge', InstanceCount: 21 } })));
    expect(error.type).toBe('ResourceLimitExceeded');
    await expectNothingWritten('too-many');
  });

  it('refuses a second job with the same name with ResourceInUse', async () => {
    const created = await ops.CreateTrainingJob(jobRequest('twice'));
    expect(created.response).toEqual({ TrainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/twice' });
    expect(created.effects).toEqual([expect.objectContaining({ type: 'launch', attempt: 1, instanceType: 'g5.xlarge', market: 'spot', count: 1 })]);
    const error = await rejection(ops.CreateTrainingJob(jobRequest('twice', { EnableManagedSpotTraining: false, StoppingCondition: { MaxRuntimeInSeconds: 5 } })));
    expect(error.type).toBe('ResourceInUse');
    // The first job is untouched
    const { response } = await ops.DescribeTrainingJob({ TrainingJobName: 'twice' });
    expect(response.EnableManagedSpotTraining).toBe(true);
  });
});

describe('DescribeTrainingJob', () => {
  it("answers SageMaker's fields and, beyond them, the attempts with their instances", async () => {
    const h = new JobHarness(new StoreBackend(table.store), 'described');
    await h.at(0).create();
    await h.at(10).launch(['i-3000000000000001']);
    await h.at(40).running('i-3000000000000001');
    await h.at(70).report('downloaded');
    await h.at(540).report('completed');
    clock = h.now;
    const { response } = await ops.DescribeTrainingJob({ TrainingJobName: 'described' });
    expect(response).toMatchObject({
      TrainingJobName: 'described',
      TrainingJobStatus: 'Completed',
      SecondaryStatus: 'Completed',
      CreationTime: T0 / 1000,
      TrainingStartTime: T0 / 1000 + 40,
      TrainingEndTime: T0 / 1000 + 540,
      TrainingTimeInSeconds: 500,
      BillableTimeInSeconds: 150,
      ModelArtifacts: { S3ModelArtifacts: 's3://spot-training-data/output/described/output/model.tar.gz' },
      Attempts: [expect.objectContaining({ AttemptNumber: 1, InstanceIds: ['i-3000000000000001'], EndReason: 'completed' })],
      Savings: { SavingsPercent: 70 },
    });
    const transitions = response.SecondaryStatusTransitions as { Status: string; StartTime: number; EndTime?: number }[];
    expect(transitions.map((t) => t.Status)).toEqual(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    // Contiguous: each ends when the next starts
    transitions.slice(0, -1).forEach((t, i) => expect(t.EndTime).toBe(transitions[i + 1]?.StartTime));
  });

  it('returns what was submitted in SageMaker\'s shapes, and the final metrics once the job has them', async () => {
    // Given a job with a channel, a VPC, metrics to watch and members that have no effect here
    await ops.CreateTrainingJob(
      jobRequest('echoed', {
        AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File', MetricDefinitions: [{ Name: 'train:loss', Regex: 'loss=([0-9.]+)' }] },
        InputDataConfig: [{ ChannelName: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://spot-training-data/data/train' } }, ContentType: 'text/csv' }],
        VpcConfig: { Subnets: ['subnet-1'], SecurityGroupIds: ['sg-1'] },
        ExperimentConfig: { ExperimentName: 'resnet' },
        StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200, MaxPendingTimeInSeconds: 7200 },
      }),
    );
    const job = (await table.store.get('echoed'))!;
    // When the job's metrics are recorded
    const metrics = [{ MetricName: 'train:loss', Value: 0.25, Timestamp: T0 + 90_000 }];
    await table.store.write(job, { job: { ...job, FinalMetricDataList: metrics, Version: job.Version + 1 }, guardStatuses: [job.SecondaryStatus], dueAt: nextDeadline(job) });
    // Then Describe returns them all as SageMaker does
    const { response } = await ops.DescribeTrainingJob({ TrainingJobName: 'echoed' });
    expect(response).toMatchObject({
      AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File', MetricDefinitions: [{ Name: 'train:loss', Regex: 'loss=([0-9.]+)' }] },
      InputDataConfig: [{ ChannelName: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://spot-training-data/data/train', S3DataDistributionType: 'FullyReplicated' } }, ContentType: 'text/csv', InputMode: 'File' }],
      VpcConfig: { Subnets: ['subnet-1'], SecurityGroupIds: ['sg-1'] },
      ExperimentConfig: { ExperimentName: 'resnet' },
      StoppingCondition: { MaxPendingTimeInSeconds: 7200 },
      ResourceConfig: { InstanceType: 'ml.g5.xlarge' },
      EnableNetworkIsolation: false,
      FinalMetricDataList: [{ MetricName: 'train:loss', Value: 0.25, Timestamp: T0 / 1000 + 90 }],
    });
    expect(response.NoEffect).toBeUndefined();
  });

  it("answers SageMaker's ValidationException 'Requested resource not found' for a job that does not exist", async () => {
    const error = await rejection(ops.DescribeTrainingJob({ TrainingJobName: 'nobody' }));
    expect(error.type).toBe('ValidationException');
    expect(error.message).toMatch(/^Requested resource not found: .*nobody/);
  });
});

describe('AddTags, ListTags and DeleteTags on a training job ARN', () => {
  it("start from CreateTrainingJob's Tags, replace a key's value, delete by key, and show in Describe", async () => {
    // Given a job created with one tag
    const { response } = await ops.CreateTrainingJob(jobRequest('tagged', { Tags: [{ Key: 'team', Value: 'vision' }] }));
    const ResourceArn = response.TrainingJobArn as string;
    expect((await ops.ListTags({ ResourceArn })).response).toEqual({ Tags: [{ Key: 'team', Value: 'vision' }] });
    // When tags are added (one replacing) and one deleted
    expect((await ops.AddTags({ ResourceArn, Tags: [{ Key: 'team', Value: 'nlp' }, { Key: 'cost-centre', Value: '42' }] })).response).toEqual({
      Tags: [{ Key: 'team', Value: 'nlp' }, { Key: 'cost-centre', Value: '42' }],
    });
    await ops.DeleteTags({ ResourceArn, TagKeys: ['cost-centre'] });
    // Then ListTags and Describe say the same, and the job's status is untouched
    expect((await ops.ListTags({ ResourceArn })).response).toEqual({ Tags: [{ Key: 'team', Value: 'nlp' }] });
    const described = (await ops.DescribeTrainingJob({ TrainingJobName: 'tagged' })).response;
    expect(described).toMatchObject({ Tags: [{ Key: 'team', Value: 'nlp' }], SecondaryStatus: 'Starting' });
  });

  it('refuses an ARN that names no job, more than 50 tags, and a tag against the model', async () => {
    const { response } = await ops.CreateTrainingJob(jobRequest('tag-limits'));
    const ResourceArn = response.TrainingJobArn as string;
    expect((await rejection(ops.ListTags({ ResourceArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/nobody' }))).type).toBe('ResourceNotFound');
    expect((await rejection(ops.ListTags({ ResourceArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/tag-limits' }))).type).toBe('ResourceNotFound');
    const many = Array.from({ length: 30 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await ops.AddTags({ ResourceArn, Tags: many });
    const tooMany = await rejection(ops.AddTags({ ResourceArn, Tags: many.map((t) => ({ ...t, Key: `x${t.Key}` })) }));
    expect(tooMany.message).toMatch(/would have 60 tags; a resource can have at most 50/);
    expect((await ops.ListTags({ ResourceArn })).response.Tags).toHaveLength(30);
    expect((await rejection(ops.AddTags({ ResourceArn, Tags: [{ Key: 'bad*key', Value: 'v' }] }))).message).toMatch(/at 'tags\.1\.member\.key' .*regular expression pattern/);
    expect((await rejection(ops.DeleteTags({ ResourceArn, TagKeys: [] }))).message).toMatch(/at 'tagKeys' .*length greater than or equal to 1/);
  });
});

describe('StopTrainingJob and DeleteTrainingJob', () => {
  it('stops a job in progress, refuses to stop a finished one, and deletes only finished jobs', async () => {
    await ops.CreateTrainingJob(jobRequest('stop-then-delete'));
    expect((await rejection(ops.DeleteTrainingJob({ TrainingJobName: 'stop-then-delete' }))).message).toMatch(/is InProgress; only a Completed, Failed or Stopped/);
    await ops.StopTrainingJob({ TrainingJobName: 'stop-then-delete' });
    // No instances yet: the stop completes at once
    const { response } = await ops.DescribeTrainingJob({ TrainingJobName: 'stop-then-delete' });
    expect(response).toMatchObject({ TrainingJobStatus: 'Stopped', SecondaryStatus: 'Stopped' });
    expect((await rejection(ops.StopTrainingJob({ TrainingJobName: 'stop-then-delete' }))).type).toBe('ValidationException');
    await ops.DeleteTrainingJob({ TrainingJobName: 'stop-then-delete' });
    await expectNothingWritten('stop-then-delete');
    expect((await rejection(ops.DeleteTrainingJob({ TrainingJobName: 'stop-then-delete' }))).message).toMatch(/^Requested resource not found/);
  });
});

describe('ListTrainingJobs', () => {
  let listOps: Operations;
  let listTable: TestTable;
  const names = ['alpha-1', 'bravo-2', 'charlie-3', 'delta-4', 'echo-5', 'foxtrot-6', 'golf-7'];

  beforeAll(async () => {
    listTable = await createTestTable();
    let listClock = T0;
    listOps = createOperations({ store: listTable.store, config: TEST_CONFIG, now: () => listClock });
    for (const name of [...names].reverse()) {
      listClock += 1000;
      await listOps.CreateTrainingJob(jobRequest(name));
    }
    await listOps.StopTrainingJob({ TrainingJobName: 'charlie-3' });
    await listOps.StopTrainingJob({ TrainingJobName: 'echo-5' });
  });
  afterAll(async () => {
    await listTable?.drop();
  });

  async function all(request: Record<string, unknown>): Promise<string[]> {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const { response } = await listOps.ListTrainingJobs({ ...request, ...(token ? { NextToken: token } : {}) });
      const summaries = response.TrainingJobSummaries as { TrainingJobName: string }[];
      expect(summaries.length).toBeLessThanOrEqual((request.MaxResults as number | undefined) ?? 10);
      seen.push(...summaries.map((s) => s.TrainingJobName));
      token = response.NextToken as string | undefined;
    } while (token);
    return seen;
  }

  it('pages through every job in creation order with MaxResults and NextToken', async () => {
    expect(await all({ MaxResults: 2 })).toEqual([...names].reverse());
    expect(await all({ MaxResults: 3, SortOrder: 'Descending' })).toEqual(names);
  });

  it('sorts by name and by status, and filters by status, name, creation and last modified time', async () => {
    expect(await all({ SortBy: 'Name', SortOrder: 'Descending', MaxResults: 4 })).toEqual([...names].sort().reverse());
    expect(await all({ StatusEquals: 'Stopped', MaxResults: 1 })).toEqual(['echo-5', 'charlie-3']);
    expect(await all({ SortBy: 'Status', MaxResults: 100 })).toEqual(['golf-7', 'foxtrot-6', 'delta-4', 'bravo-2', 'alpha-1', 'echo-5', 'charlie-3']);
    expect(await all({ NameContains: 'o-', MaxResults: 1 })).toEqual(['echo-5', 'bravo-2']);
    expect(await all({ SortBy: 'Name', StatusEquals: 'InProgress', NameContains: 'a', MaxResults: 2 })).toEqual(['alpha-1', 'bravo-2', 'charlie-3', 'delta-4'].filter((n) => n !== 'charlie-3'));
    // Created one second apart from T0+1s (golf-7) to T0+7s (alpha-1)
    expect(await all({ CreationTimeAfter: T0 / 1000 + 2, CreationTimeBefore: T0 / 1000 + 6 })).toEqual(['echo-5', 'delta-4', 'charlie-3']);
    expect(await all({ StatusEquals: 'InProgress', CreationTimeAfter: T0 / 1000 + 4 })).toEqual(['bravo-2', 'alpha-1']);
    // Stopping moved charlie-3 and echo-5 to T0+7s, alpha-1's creation time
    expect(await all({ LastModifiedTimeAfter: T0 / 1000 + 6 })).toEqual(['echo-5', 'charlie-3', 'alpha-1']);
    expect(await all({ SortBy: 'Name', LastModifiedTimeBefore: T0 / 1000 + 3 })).toEqual(['foxtrot-6', 'golf-7']);
  });

  it('rejects a NextToken from another query, a forged one, and MaxResults outside 1–100', async () => {
    const { response } = await listOps.ListTrainingJobs({ MaxResults: 1 });
    const token = response.NextToken as string;
    expect((await rejection(listOps.ListTrainingJobs({ MaxResults: 1, SortBy: 'Name', NextToken: token }))).message).toMatch(/Invalid NextToken/);
    expect((await rejection(listOps.ListTrainingJobs({ NextToken: 'not-a-token' }))).message).toMatch(/Invalid NextToken/);
    expect((await rejection(listOps.ListTrainingJobs({ MaxResults: 101 }))).message).toMatch(/at 'maxResults'/);
    expect((await rejection(listOps.ListTrainingJobs({ MaxResults: 0 }))).message).toMatch(/at 'maxResults'/);
    expect((await rejection(listOps.ListTrainingJobs({ SortBy: 'Size' }))).message).toMatch(/at 'sortBy' .*enum value set/);
  });
});
