import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCreateRequest } from '../../shared/api/createRequest.js';
import { CREATE_TRAINING_JOB_MEMBERS } from '../../shared/api/members.js';
import { SHAPES } from '../../shared/api/model/shapes.js';
import { modelPattern } from '../../shared/api/model/validate.js';
import { loadConfig } from '../../shared/config.js';
import { ApiError } from '../../shared/errors.js';
import { jobRequest, TEST_CONFIG } from '../support/jobHarness.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/sagemaker-sdk/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const CONTROL_CONFIG = loadConfig({ ALLOWED_BUCKETS: 'spot-training-data,spot-training-control', CONTROL_BUCKET: 'spot-training-control', ACCOUNT_ID: '123456789012' });

function refusal(request: unknown, config = TEST_CONFIG): string {
  try {
    readCreateRequest(request, config);
  } catch (error) {
    if (error instanceof ApiError && error.type === 'ValidationException') return error.message;
    throw error;
  }
  throw new Error('expected a ValidationException');
}

const channel = (overrides: Record<string, unknown> = {}, s3: Record<string, unknown> = {}) => ({
  ChannelName: 'training',
  DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://spot-training-data/data/training', ...s3 } },
  ...overrides,
});

/** A valid value for every member the product takes, so that each can be tried alone. */
const SAMPLES: Record<string, unknown> = {
  VpcConfig: { SecurityGroupIds: ['sg-0123456789abcdef0'], Subnets: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'] },
  EnableNetworkIsolation: false,
  EnableInterContainerTrafficEncryption: true,
  InputDataConfig: [channel()],
  TensorBoardOutputConfig: { S3OutputPath: 's3://spot-training-data/tensorboard' },
  ExperimentConfig: { ExperimentName: 'resnet', TrialName: 'trial-1', RunName: 'run-1' },
  DebugHookConfig: { S3OutputPath: 's3://anywhere/debug', CollectionConfigurations: [{ CollectionName: 'losses', CollectionParameters: { save_interval: '100' } }] },
  DebugRuleConfigurations: [{ RuleConfigurationName: 'LossNotDecreasing', RuleEvaluatorImage: '503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest', InstanceType: 'ml.t3.medium', RuleParameters: { rule_to_invoke: 'LossNotDecreasing' } }],
  ProfilerConfig: { DisableProfiler: true },
  ProfilerRuleConfigurations: [{ RuleConfigurationName: 'ProfilerReport', RuleEvaluatorImage: '503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest' }],
  RemoteDebugConfig: { EnableRemoteDebug: false },
  InfraCheckConfig: { EnableInfraCheck: true },
  SessionChainingConfig: { EnableSessionTagChaining: false },
  MlflowConfig: { MlflowResourceArn: 'arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/main', MlflowExperimentName: 'resnet' },
  ModelPackageConfig: { ModelPackageGroupArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package-group/resnet' },
  ServerlessJobConfig: { BaseModelArn: 'arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/llama/1.0.0', JobType: 'FineTuning' },
  RoleArn: 'arn:aws:iam::123456789012:role/SageMakerExecutionRole',
  Environment: { EPOCHS: '3' },
  HyperParameters: { epochs: '3' },
  RetryStrategy: { MaximumRetryAttempts: 2 },
  Tags: [{ Key: 'team', Value: 'vision' }],
};

describe('CreateTrainingJob takes what the SageMaker Python SDK sends', () => {
  it("accepts Estimator.fit()'s body for a spot job with one channel, and keeps what it asked for", () => {
    // Given the exact body of SDK v2's fit(), When it is read, Then every member is kept
    const spec = readCreateRequest(fixture('estimator-fit-spot.json'), TEST_CONFIG);
    expect(spec.InputDataConfig).toEqual([
      { ChannelName: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://spot-training-data/data/training', S3DataDistributionType: 'FullyReplicated' } }, InputMode: 'File' },
    ]);
    expect(spec.NoEffect).toEqual({
      DebugHookConfig: { S3OutputPath: 's3://spot-training-data/output', CollectionConfigurations: [] },
      ProfilerConfig: { S3OutputPath: 's3://spot-training-data/output', DisableProfiler: false },
    });
    expect(spec.ResourceConfig).toEqual({ InstanceType: 'g5.xlarge', SubmittedInstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 });
    expect(spec.RoleArn).toBe('arn:aws:iam::123456789012:role/SageMakerExecutionRole');
  });

  it('accepts the body with the debugger and profiler turned off (ProfilerConfig {DisableProfiler: true})', () => {
    const spec = readCreateRequest(fixture('estimator-fit-spot-debugger-off.json'), TEST_CONFIG);
    expect(spec.NoEffect).toEqual({ ProfilerConfig: { DisableProfiler: true } });
  });
});

describe("every member of SageMaker's CreateTrainingJob", () => {
  const modelMembers = Object.keys(SHAPES.CreateTrainingJobRequest?.members ?? {});

  it('is in the table of what it does here, and nothing else is', () => {
    expect(CREATE_TRAINING_JOB_MEMBERS.map((m) => m.member).sort()).toEqual([...modelMembers].sort());
    expect(modelMembers.length).toBeGreaterThanOrEqual(28);
  });

  it("is in the README's table, saying the same", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const m of CREATE_TRAINING_JOB_MEMBERS) {
      const effect = m.partly ? `${m.effect}, partly ${m.partly}` : m.effect;
      expect(readme, m.member).toContain(`| \`${m.member}\` | ${effect} | ${m.what} |`);
    }
  });

  for (const { member, effect } of CREATE_TRAINING_JOB_MEMBERS.filter((m) => SAMPLES[m.member] !== undefined)) {
    it(`${member}: ${effect === 'refused' ? 'refused with the reason' : 'accepted'}`, () => {
      const request = jobRequest('every-member', { [member]: SAMPLES[member] });
      if (effect === 'refused') expect(refusal(request)).toMatch(new RegExp(`${member} is not supported here: .{20,}`));
      else expect(() => readCreateRequest(request, TEST_CONFIG)).not.toThrow();
    });
  }

  it('accepts every member it takes in one request, and keeps each for DescribeTrainingJob', () => {
    const all = Object.fromEntries(CREATE_TRAINING_JOB_MEMBERS.filter((m) => m.effect !== 'refused' && SAMPLES[m.member] !== undefined).map((m) => [m.member, SAMPLES[m.member]]));
    const spec = readCreateRequest(jobRequest('all-members', all), TEST_CONFIG);
    expect(spec.VpcConfig).toEqual(SAMPLES.VpcConfig);
    expect(spec.TensorBoardOutputConfig).toEqual({ S3OutputPath: 's3://spot-training-data/tensorboard/', LocalPath: '/opt/ml/output/tensorboard' });
    expect(Object.keys(spec.NoEffect ?? {}).sort()).toEqual(
      ['DebugHookConfig', 'DebugRuleConfigurations', 'ExperimentConfig', 'InfraCheckConfig', 'MlflowConfig', 'ModelPackageConfig', 'ProfilerConfig', 'ProfilerRuleConfigurations', 'RemoteDebugConfig', 'SessionChainingConfig'],
    );
    expect(spec.NoEffect?.DebugRuleConfigurations).toEqual(SAMPLES.DebugRuleConfigurations);
  });

  it('carries the nested members that can be honoured', () => {
    const spec = readCreateRequest(
      jobRequest('nested', {
        AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File', MetricDefinitions: [{ Name: 'loss', Regex: 'loss=([0-9.]+)' }], ContainerEntrypoint: ['python3'], ContainerArguments: ['train.py'] },
        ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50, VolumeKmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/0b4e2b7e-1111-2222-3333-444455556666' },
        OutputDataConfig: { S3OutputPath: 's3://spot-training-data/output', KmsKeyId: 'alias/training', CompressionType: 'NONE' },
        StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200, MaxPendingTimeInSeconds: 7200 },
      }),
      TEST_CONFIG,
    );
    expect(spec.AlgorithmSpecification.MetricDefinitions).toEqual([{ Name: 'loss', Regex: 'loss=([0-9.]+)' }]);
    expect(spec.ResourceConfig.VolumeKmsKeyId).toMatch(/^arn:aws:kms:/);
    expect(spec.OutputDataConfig).toEqual({ S3OutputPath: 's3://spot-training-data/output/', KmsKeyId: 'alias/training', CompressionType: 'NONE' });
    expect(spec.StoppingCondition.MaxPendingTimeInSeconds).toBe(7200);
  });

  it("keeps HyperParameters at SageMaker's own limits (100 of 256 + 2500 characters)", () => {
    const HyperParameters = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`h${i}`.padEnd(256, 'x'), 'v'.repeat(2500)]));
    expect(Object.keys(readCreateRequest(jobRequest('big-hps', { HyperParameters }), TEST_CONFIG).HyperParameters)).toHaveLength(100);
  });

  it("compiles every pattern of SageMaker's model", () => {
    for (const [name, shape] of Object.entries(SHAPES)) {
      if (shape.pattern) expect(() => modelPattern(shape.pattern as string), name).not.toThrow();
    }
  });
});

describe("validation against SageMaker's model, in its words", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a field SageMaker does not have', { Foo: 1 }, /Unknown field 'Foo'/],
    ['a nested field SageMaker does not have', { ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, Foo: 1 } }, /Unknown field 'ResourceConfig\.Foo'/],
    ['a metric without its regex', { AlgorithmSpecification: { TrainingImage: 't', MetricDefinitions: [{ Name: 'loss' }] } }, /Value null at 'algorithmSpecification\.metricDefinitions\.1\.member\.regex' failed to satisfy constraint: Member must not be null/],
    ['41 metric definitions', { AlgorithmSpecification: { TrainingImage: 't', MetricDefinitions: Array.from({ length: 41 }, (_, i) => ({ Name: `m${i}`, Regex: 'x' })) } }, /at 'algorithmSpecification\.metricDefinitions' failed to satisfy constraint: Member must have length less than or equal to 40/],
    ['an input mode SageMaker does not have', { AlgorithmSpecification: { TrainingImage: 't', TrainingInputMode: 'Stream' } }, /Value 'Stream' at 'algorithmSpecification\.trainingInputMode' failed to satisfy constraint: Member must satisfy enum value set: \[Pipe, File, FastFile\]/],
    ['a VpcConfig without subnets', { VpcConfig: { SecurityGroupIds: ['sg-1'], Subnets: [] } }, /at 'vpcConfig\.subnets' failed to satisfy constraint: Member must have length greater than or equal to 1/],
    ['a MaxPendingTimeInSeconds under two hours', { StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200, MaxPendingTimeInSeconds: 60 } }, /Value '60' at 'stoppingCondition\.maxPendingTimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 7200/],
    ['an output compression SageMaker does not have', { OutputDataConfig: { S3OutputPath: 's3://spot-training-data/o', CompressionType: 'ZIP' } }, /at 'outputDataConfig\.compressionType' .*enum value set: \[GZIP, NONE\]/],
    ['a KMS key with a space', { OutputDataConfig: { S3OutputPath: 's3://spot-training-data/o', KmsKeyId: 'my key' } }, /at 'outputDataConfig\.kmsKeyId' .*regular expression pattern: \[a-zA-Z0-9:\/_-\]\*/],
    ['an experiment name with an underscore', { ExperimentConfig: { ExperimentName: 'my_exp' } }, /at 'experimentConfig\.experimentName' .*regular expression pattern/],
    ['a profiling interval that is a string', { ProfilerConfig: { ProfilingIntervalInMilliseconds: '500' } }, /at 'profilerConfig\.profilingIntervalInMilliseconds' .*be an integer/],
    ['a rule on an instance type processing does not have', { DebugRuleConfigurations: [{ RuleConfigurationName: 'r', RuleEvaluatorImage: 'i', InstanceType: 'ml.g5.xlarge2' }] }, /at 'debugRuleConfigurations\.1\.member\.instanceType' .*enum value set/],
    ['a channel name with a space', { InputDataConfig: [channel({ ChannelName: 'my data' })] }, /at 'inputDataConfig\.1\.member\.channelName' .*regular expression pattern: \[A-Za-z0-9\\\.\\-_\]\+/],
    ['a ShuffleConfig without a seed', { InputDataConfig: [channel({ ShuffleConfig: {} })] }, /Value null at 'inputDataConfig\.1\.member\.shuffleConfig\.seed'/],
    ['a tag without a value', { Tags: [{ Key: 'team' }] }, /Value null at 'tags\.1\.member\.value'/],
    ['a hyperparameter value that is a number', { HyperParameters: { epochs: 3 } }, /at 'hyperParameters\.epochs' failed to satisfy constraint: Map value must satisfy constraint: \[Member must be a string\]/],
  ];
  for (const [what, overrides, message] of cases) {
    it(`refuses ${what}`, () => expect(refusal(jobRequest('model-check', overrides))).toMatch(message));
  }
});

describe('input channels', () => {
  const refused: [string, unknown, RegExp, typeof TEST_CONFIG?][] = [
    ['a channel in a bucket the deployment does not allow', [channel({}, { S3Uri: 's3://someone-elses-bucket/data' })], /InputDataConfig\[0\]\.DataSource\.S3DataSource\.S3Uri s3:\/\/someone-elses-bucket\/data is in bucket someone-elses-bucket, which this deployment does not allow/],
    ['a channel over the https form of S3', [channel({}, { S3Uri: 'https://spot-training-data.s3.amazonaws.com/data' })], /at 'inputDataConfig\.1\.member\.dataSource\.s3DataSource\.s3Uri' .*look like s3:\/\/bucket\/prefix/],
    ['a channel inside the control prefix', [channel({}, { S3Uri: 's3://spot-training-control/control/other-job/' })], /holds the agent protocol/, CONTROL_CONFIG],
    ['a channel inside the reports prefix', [channel({}, { S3Uri: 's3://spot-training-control/reports' })], /holds the agent protocol/, CONTROL_CONFIG],
    ['a key prefix that takes in the reports prefix', [channel({}, { S3Uri: 's3://spot-training-control/re' })], /holds the agent protocol/, CONTROL_CONFIG],
    ['the whole control bucket', [channel({}, { S3Uri: 's3://spot-training-control' })], /holds the agent protocol/, CONTROL_CONFIG],
    ['a manifest that is a folder', [channel({}, { S3DataType: 'ManifestFile', S3Uri: 's3://spot-training-data/manifests/' })], /name the manifest object, not a folder/],
    ['a file system', [{ ChannelName: 'fs', DataSource: { FileSystemDataSource: { FileSystemId: 'fs-0123456789', FileSystemAccessMode: 'ro', FileSystemType: 'EFS', DirectoryPath: '/data' } } }], /FileSystemDataSource is not supported here: EFS and FSx/],
    ['Pipe mode on a channel', [channel({ InputMode: 'Pipe' })], /InputDataConfig\[0\]\.InputMode is not supported here: Pipe mode/],
    ['an augmented manifest', [channel({}, { S3DataType: 'AugmentedManifestFile', S3Uri: 's3://spot-training-data/m.json' })], /S3DataType is not supported here: AugmentedManifestFile/],
    ['two channels with one name', [channel(), channel()], /ChannelName 'training' is used by another channel/],
  ];
  for (const [what, channels, message, config] of refused) {
    it(`refuses ${what}`, () => expect(refusal(jobRequest('channels', { InputDataConfig: channels }), config)).toMatch(message));
  }

  it('refuses FastFile for the job, saying so', () => {
    expect(refusal(jobRequest('fast', { AlgorithmSpecification: { TrainingImage: 't', TrainingInputMode: 'FastFile' } }))).toMatch(/TrainingInputMode is not supported here: FastFile mode/);
  });

  it('takes a data folder of the control bucket, a manifest, and sharding as submitted', () => {
    const spec = readCreateRequest(
      jobRequest('channels-ok', {
        InputDataConfig: [
          channel({ ContentType: 'text/csv', CompressionType: 'None', ShuffleConfig: { Seed: 7 } }, { S3Uri: 's3://spot-training-control/data/train', S3DataDistributionType: 'ShardedByS3Key' }),
          channel({ ChannelName: 'validation' }, { S3DataType: 'ManifestFile', S3Uri: 's3://spot-training-data/validation.manifest' }),
        ],
      }),
      CONTROL_CONFIG,
    );
    expect(spec.InputDataConfig?.map((c) => [c.ChannelName, c.DataSource.S3DataSource.S3Uri, c.DataSource.S3DataSource.S3DataDistributionType, c.ShuffleConfig?.Seed])).toEqual([
      ['training', 's3://spot-training-control/data/train', 'ShardedByS3Key', 7],
      ['validation', 's3://spot-training-data/validation.manifest', 'FullyReplicated', undefined],
    ]);
  });
});

describe('the refusals of what cannot be honoured here', () => {
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['an algorithm resource', { AlgorithmSpecification: { AlgorithmName: 'my-algorithm', TrainingInputMode: 'File' } }, /AlgorithmSpecification\.AlgorithmName is not supported here/],
    ['a private registry in the VPC', { AlgorithmSpecification: { TrainingImage: 't', TrainingImageConfig: { TrainingRepositoryAccessMode: 'Vpc' } } }, /TrainingRepositoryAccessMode is not supported here: Vpc/],
    ['a heterogeneous cluster', { ResourceConfig: { InstanceGroups: [{ InstanceType: 'ml.g5.xlarge', InstanceCount: 1, InstanceGroupName: 'a' }] } }, /ResourceConfig\.InstanceGroups is not supported here/],
    ['a training plan', { ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, TrainingPlanArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-plan/my-plan-for-the-quarter' } }, /ResourceConfig\.TrainingPlanArn is not supported here/],
    ['encrypted traffic between two instances', { ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 2 }, EnableInterContainerTrafficEncryption: true }, /EnableInterContainerTrafficEncryption is not supported here/],
    ['a metric regex JavaScript cannot compile', { AlgorithmSpecification: { TrainingImage: 't', MetricDefinitions: [{ Name: 'loss', Regex: 'loss=(?P<v>[0-9.]+)' }] } }, /at 'algorithmSpecification\.metricDefinitions\.1\.member\.regex' failed to satisfy constraint: Member must be a regular expression/],
    ['a TensorBoard folder in a bucket the deployment does not allow', { TensorBoardOutputConfig: { S3OutputPath: 's3://someone-elses-bucket/tb' } }, /TensorBoardOutputConfig\.S3OutputPath .* which this deployment does not allow/],
  ];
  for (const [what, overrides, message] of refused) {
    it(`refuses ${what}`, () => expect(refusal(jobRequest('refused', overrides))).toMatch(message));
  }
});
