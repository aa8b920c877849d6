import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperations, type Operations } from '../../shared/api/operations.js';
import { ApiError } from '../../shared/errors.js';
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
  expect(error.type).toBe('ResourceNotFound');
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

  it('answers ResourceNotFound for a job that does not exist', async () => {
    const error = await rejection(ops.DescribeTrainingJob({ TrainingJobName: 'nobody' }));
    expect(error.type).toBe('ResourceNotFound');
    expect(error.message).toMatch(/nobody/);
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
    expect((await rejection(ops.DeleteTrainingJob({ TrainingJobName: 'stop-then-delete' }))).type).toBe('ResourceNotFound');
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

  it('sorts by name and by status, and filters by status, name and creation time', async () => {
    expect(await all({ SortBy: 'Name', SortOrder: 'Descending', MaxResults: 4 })).toEqual([...names].sort().reverse());
    expect(await all({ StatusEquals: 'Stopped', MaxResults: 1 })).toEqual(['echo-5', 'charlie-3']);
    expect(await all({ SortBy: 'Status', MaxResults: 100 })).toEqual(['golf-7', 'foxtrot-6', 'delta-4', 'bravo-2', 'alpha-1', 'echo-5', 'charlie-3']);
    expect(await all({ NameContains: 'o-', MaxResults: 1 })).toEqual(['echo-5', 'bravo-2']);
    expect(await all({ SortBy: 'Name', StatusEquals: 'InProgress', NameContains: 'a', MaxResults: 2 })).toEqual(['alpha-1', 'bravo-2', 'charlie-3', 'delta-4'].filter((n) => n !== 'charlie-3'));
    // Created one second apart from T0+1s (golf-7) to T0+7s (alpha-1)
    expect(await all({ CreationTimeAfter: T0 / 1000 + 2, CreationTimeBefore: T0 / 1000 + 6 })).toEqual(['echo-5', 'delta-4', 'charlie-3']);
    expect(await all({ StatusEquals: 'InProgress', CreationTimeAfter: T0 / 1000 + 4 })).toEqual(['bravo-2', 'alpha-1']);
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
