import { nextDeadline } from '../../shared/lifecycle/deadlines.js';
import { loadConfig } from '../../shared/config.js';
import { applyEvent, type Outcome } from '../../shared/jobEvents/applyEvent.js';
import { readCreateRequest } from '../../shared/api/createRequest.js';
import { trainingJobArn } from '../../shared/api/operations.js';
import type { AgentPhase, Effect, JobEvent } from '../../shared/lifecycle/decide.js';
import { checkpointHome, currentAttempt, newJob, type CheckpointOutcome, type InstanceAction, type JobRecord, type MetricDatum } from '../../shared/lifecycle/job.js';
import type { InstancePrices } from '../../shared/lifecycle/money.js';
import type { JobStore } from '../../shared/store/jobStore.js';
import { MemoryJobStore } from '../../shared/store/memoryJobStore.js';

export const TEST_CONFIG = loadConfig({ ALLOWED_BUCKETS: 'spot-training-data', ACCOUNT_ID: '123456789012' });
export const PRICES: InstancePrices = { Spot: 0.3, OnDemand: 1.0 };
/** 2026-11-27T10:00:00Z: every scenario's second 0. */
export const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);

/** Where a harness keeps the job: the pure lifecycle alone, or the real store on DynamoDB. */
export interface Backend {
  create(job: JobRecord): Promise<void>;
  get(name: string): Promise<JobRecord | undefined>;
  apply(name: string, event: JobEvent, now: number): Promise<Outcome>;
  register(name: string, attempt: number, instanceIds: string[], now: number): Promise<void>;
  owner(instanceId: string): Promise<{ JobName: string; Attempt: number } | undefined>;
}

export class StoreBackend implements Backend {
  constructor(readonly store: JobStore) {}
  create(job: JobRecord) {
    return this.store.create(job, nextDeadline(job));
  }
  get(name: string) {
    return this.store.get(name);
  }
  apply(name: string, event: JobEvent, now: number) {
    return applyEvent(this.store, name, event, () => now);
  }
  register(name: string, attempt: number, ids: string[], now: number) {
    return this.store.registerInstances({ JobName: name, Attempt: attempt, InstanceType: 'g5.xlarge' }, ids, now);
  }
  async owner(id: string) {
    return this.store.instanceOwner(id);
  }
}

/** The real event flow (applyEvent) on the in-memory store: the same conditions, no database. */
export class MemoryBackend extends StoreBackend {
  constructor() {
    super(new MemoryJobStore());
  }
}

export function jobRequest(name: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File' },
    ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50 },
    EnableManagedSpotTraining: true,
    StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
    CheckpointConfig: { S3Uri: `s3://spot-training-data/checkpoints/${name}` },
    OutputDataConfig: { S3OutputPath: 's3://spot-training-data/output' },
    ...overrides,
  };
}

/**
 * Drives one job through events the way the handlers will: instance events find their job
 * and attempt through the instance lookup, agent reports name the current attempt.
 * The clock is in seconds since T0.
 */
export class JobHarness {
  private seconds = 0;
  readonly outcomes: Outcome[] = [];
  readonly effects: Effect[] = [];

  constructor(
    readonly backend: Backend,
    readonly name: string,
  ) {}

  get now(): number {
    return T0 + this.seconds * 1000;
  }

  at(seconds: number): this {
    this.seconds = seconds;
    return this;
  }

  async create(overrides: Record<string, unknown> = {}): Promise<JobRecord> {
    const spec = readCreateRequest(jobRequest(this.name, overrides), TEST_CONFIG);
    const job = newJob({ spec, arn: trainingJobArn(TEST_CONFIG, this.name), now: this.now });
    await this.backend.create(job);
    return job;
  }

  async job(): Promise<JobRecord> {
    const job = await this.backend.get(this.name);
    if (!job) throw new Error(`job ${this.name} not found`);
    return job;
  }

  async send(event: JobEvent): Promise<Outcome> {
    const outcome = await this.backend.apply(this.name, event, this.now);
    this.outcomes.push(outcome);
    if (outcome.status !== 'not-found') this.effects.push(...outcome.effects);
    return outcome;
  }

  async launch(instanceIds: string[]): Promise<Outcome> {
    const job = await this.job();
    const attempt = currentAttempt(job);
    await this.backend.register(this.name, attempt.Number, instanceIds, this.now);
    return this.send({
      type: 'launchSucceeded',
      time: this.now,
      attempt: attempt.Number,
      launchRequest: attempt.LaunchRequests,
      instanceIds,
      instanceType: attempt.InstanceType,
      market: attempt.Market,
    });
  }

  async capacityError(code = 'InsufficientInstanceCapacity', retryInSeconds = 30): Promise<Outcome> {
    const attempt = currentAttempt(await this.job());
    return this.send({
      type: 'launchFailed',
      time: this.now,
      attempt: attempt.Number,
      launchRequest: attempt.LaunchRequests,
      errorCode: code,
      message: 'There is no Spot capacity available that matches your request.',
      capacity: true,
      retryable: true,
      retryAt: this.now + retryInSeconds * 1000,
    });
  }

  private async instanceAttempt(instanceId: string): Promise<number> {
    const owner = await this.backend.owner(instanceId);
    if (!owner) throw new Error(`instance ${instanceId} is not registered`);
    return owner.Attempt;
  }

  async running(instanceId: string, prices: InstancePrices = PRICES): Promise<Outcome> {
    const instanceAttempt = await this.instanceAttempt(instanceId);
    return this.send({ type: 'instanceState', time: this.now, instanceId, instanceAttempt, state: 'running', prices });
  }

  async gone(instanceId: string, state: 'stopped' | 'shutting-down' | 'terminated' = 'terminated'): Promise<Outcome> {
    const instanceAttempt = await this.instanceAttempt(instanceId);
    return this.send({ type: 'instanceState', time: this.now, instanceId, instanceAttempt, state });
  }

  async warn(instanceId: string, action: InstanceAction = 'terminate'): Promise<Outcome> {
    const instanceAttempt = await this.instanceAttempt(instanceId);
    return this.send({ type: 'interruptionWarning', time: this.now, instanceId, instanceAttempt, action });
  }

  async rebalance(instanceId: string, key?: string): Promise<Outcome> {
    const instanceAttempt = await this.instanceAttempt(instanceId);
    return this.send({ type: 'rebalanceRecommendation', time: this.now, instanceId, instanceAttempt, ...(key ? { key } : {}) });
  }

  async report(phase: AgentPhase, extra: { exitCode?: number; reason?: string; attempt?: number; metrics?: MetricDatum[] } = {}): Promise<Outcome> {
    const attempt = extra.attempt ?? (await this.job()).CurrentAttempt;
    return this.send({ type: 'agentReport', time: this.now, attempt, phase, ...extra });
  }

  async checkpoint(sequence: number): Promise<Outcome> {
    const id = `step=${sequence}`;
    const home = checkpointHome(await this.job()) ?? `s3://spot-training-data/checkpoints/${this.name}/`;
    return this.send({
      type: 'checkpoint',
      time: this.now,
      checkpoint: { Id: id, Sequence: sequence, ManifestUri: `${home}${id}/manifest.json`, Time: this.now },
    });
  }

  /** The agent's report of one checkpoint sync (a complete one names a manifest in the job's folder). */
  async checkpointOutcome(outcome: Omit<CheckpointOutcome, 'StartTime'> & { StartTime?: number }, attempt?: number): Promise<Outcome> {
    const job = await this.job();
    const home = checkpointHome(job) ?? `s3://spot-training-data/checkpoints/${this.name}/`;
    const id = outcome.CheckpointId ?? `ckpt-${String(outcome.Sequence).padStart(9, '0')}`;
    return this.send({
      type: 'checkpointOutcome',
      time: outcome.EndTime ?? this.now,
      attempt: attempt ?? job.CurrentAttempt,
      outcome: {
        StartTime: this.now,
        ...outcome,
        ...(outcome.Status === 'complete' ? { CheckpointId: id, ManifestUri: outcome.ManifestUri ?? `${home}${id}/manifest.json` } : {}),
      },
    });
  }

  timer(): Promise<Outcome> {
    return this.send({ type: 'timer', time: this.now });
  }

  stop(): Promise<Outcome> {
    return this.send({ type: 'stopRequested', time: this.now });
  }

  /** The SecondaryStatusTransitions' statuses, in order. */
  async statuses(): Promise<string[]> {
    return (await this.job()).Transitions.map((t) => t.Status);
  }

  /** The transitions grouped by primary status, the way the README's lifecycles write them: "InProgress: Starting, Downloading". */
  async lifecycle(): Promise<string[]> {
    const { primaryStatusOf } = await import('../../shared/lifecycle/statuses.js');
    const groups: string[] = [];
    let current: { primary: string; statuses: string[] } | undefined;
    for (const t of (await this.job()).Transitions) {
      const primary = primaryStatusOf(t.Status);
      if (current?.primary !== primary) {
        if (current) groups.push(`${current.primary}: ${current.statuses.join(', ')}`);
        current = { primary, statuses: [] };
      }
      current.statuses.push(t.Status);
    }
    if (current) groups.push(`${current.primary}: ${current.statuses.join(', ')}`);
    return groups;
  }
}
