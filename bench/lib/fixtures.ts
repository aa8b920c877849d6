import { nextDeadline } from '../../shared/lifecycle/deadlines.js';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readCreateRequest } from '../../shared/api/createRequest.js';
import { trainingJobArn } from '../../shared/api/operations.js';
import type { Capacity, LaunchRequest, LaunchResult } from '../../shared/capacity/capacity.js';
import { loadConfig, type Config } from '../../shared/config.js';
import { ControlChannel } from '../../shared/control.js';
import { decide, type JobEvent } from '../../shared/lifecycle/decide.js';
import { newJob, type EpochMillis, type JobRecord } from '../../shared/lifecycle/job.js';
import { TablePriceSource } from '../../shared/prices/tablePrices.js';
import type { AgentReportBody } from '../../shared/protocol.js';
import type { Services } from '../../shared/services.js';
import { DynamoJobStore } from '../../shared/store/dynamoJobStore.js';
import type { JobStore } from '../../shared/store/jobStore.js';
import { instanceIdOf } from './stats.js';

export const DATA_BUCKET = 'spot-training-data';
export const BENCH_PRICES = { Spot: 0.4, OnDemand: 1.006 };

export function benchConfig(tableName: string, controlBucket = 'spot-training-bench-control'): Config {
  return loadConfig({ TABLE_NAME: tableName, ALLOWED_BUCKETS: DATA_BUCKET, CONTROL_BUCKET: controlBucket, ACCOUNT_ID: '123456789012' });
}

/** A CreateTrainingJob request as a user would send it. */
export function createRequest(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File' },
    ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50 },
    EnableManagedSpotTraining: true,
    StoppingCondition: { MaxRuntimeInSeconds: 7 * 86_400, MaxWaitTimeInSeconds: 14 * 86_400 },
    CheckpointConfig: { S3Uri: `s3://${DATA_BUCKET}/checkpoints/${name}` },
    OutputDataConfig: { S3OutputPath: `s3://${DATA_BUCKET}/output` },
    HyperParameters: { sim_training_seconds: '100000' },
    ...overrides,
  };
}

export type FixtureState = 'Starting' | 'Training';

/**
 * A job record in `state`, made by the product's own pure lifecycle (newJob, then decide on the
 * events that bring it there), exactly as the store would hold it after those events.
 */
export function jobRecord(config: Config, name: string, options: { state: FixtureState; instanceId?: string; now: EpochMillis; overrides?: Record<string, unknown> }): JobRecord {
  const spec = readCreateRequest(createRequest(name, options.overrides), config);
  let job = newJob({ spec, arn: trainingJobArn(config, name), now: options.now });
  if (options.state === 'Starting') return job;
  const instanceId = options.instanceId ?? instanceIdOf(1);
  const at = options.now;
  const apply = (event: JobEvent) => {
    const decision = decide(job, event, at);
    if (decision.kind !== 'apply') throw new Error(`fixture ${name}: ${event.type} was ignored: ${decision.detail}`);
    job = { ...decision.job, Version: job.Version + 1 };
  };
  apply({ type: 'launchSucceeded', time: at, attempt: 1, launchRequest: 1, instanceIds: [instanceId], instanceType: 'g5.xlarge', market: 'spot' });
  apply({ type: 'instanceState', time: at, instanceId, instanceAttempt: 1, state: 'running', prices: BENCH_PRICES });
  apply({ type: 'agentReport', time: at, attempt: 1, phase: 'downloaded' });
  return job;
}

/** Writes a job through the store, and registers its instance. */
export async function putJob(store: JobStore, job: JobRecord, instanceId: string | undefined, now: EpochMillis): Promise<void> {
  await store.create(job, nextDeadline(job));
  if (instanceId) await store.registerInstances({ JobName: job.TrainingJobName, Attempt: job.CurrentAttempt, InstanceType: 'g5.xlarge' }, [instanceId], now);
}

/** EC2 that launches at once, a new instance id per launch; counts what it was asked. */
export class InstantCapacity implements Capacity {
  launches = 0;
  terminations = 0;
  constructor(private nextId: number) {}
  async launch(request: LaunchRequest): Promise<LaunchResult> {
    this.launches++;
    return { ok: true, instanceIds: Array.from({ length: request.count }, () => instanceIdOf(this.nextId++)) };
  }
  async terminate(): Promise<void> {
    this.terminations++;
  }
  async reclaim(): Promise<string[]> {
    return [];
  }
}

/** The control channel without S3: requests and restore instructions are counted, not written. */
export class CountingControl extends ControlChannel {
  requests = 0;
  restores = 0;
  constructor() {
    super(undefined as unknown as S3Client, 'spot-training-bench-control');
  }
  override async writeRestore(): Promise<void> {
    this.restores++;
  }
  override async request(): Promise<void> {
    this.requests++;
  }
  override async readReport(): Promise<AgentReportBody> {
    return {};
  }
}

/** The product's services by hand: the real store on `client`, EC2 and S3 stubbed. */
export function benchServices(client: DynamoDBClient, config: Config, firstInstance = 0x100000): Services & { capacity: InstantCapacity; control: CountingControl } {
  return {
    config,
    store: new DynamoJobStore(client, config.tableName),
    capacity: new InstantCapacity(firstInstance),
    control: new CountingControl(),
    prices: new TablePriceSource({ ...config.prices, 'g5.xlarge': BENCH_PRICES }),
    now: () => Date.now(),
    random: Math.random,
  };
}

/** EventBridge envelopes and S3 records as AWS delivers them. */
let eventCounter = 0;
export function ec2Event(detailType: string, detail: Record<string, unknown>, time = new Date()): Record<string, unknown> {
  return {
    version: '0',
    id: `bench-${process.pid}-${++eventCounter}`,
    'detail-type': detailType,
    source: 'aws.ec2',
    account: '123456789012',
    time: time.toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  };
}

export function s3Event(bucket: string, key: string, time = new Date()): Record<string, unknown> {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: time.toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 10 } },
      },
    ],
  };
}
