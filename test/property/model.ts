/**
 * Model-based testing of the whole event path: randomly generated histories of everything a
 * job can see, delivered through the real code (the SageMaker API handler for create and
 * stop, the ingest functions the Lambda handlers call for EventBridge and S3 events,
 * processJobEvent for timer ticks) against DynamoDB Local, with a fake EC2 capacity and an
 * in-memory S3 behind the real ControlChannel. After every step and at the end of every
 * history the invariants below (checkRecord, checkFinal, …) are checked; a violation throws `InvariantViolation`.
 *
 * Used by test/property/histories.test.ts (CI: ≥ 1,000 histories) and scripts/soak.ts
 * (`npm run soak`, 100,000). Nothing here imports vitest.
 *
 * "No job stuck", precisely (checked at the end of every history):
 *  1. explained: the job is terminal, or it has a next deadline the sweep will act on
 *     (`nextDeadline(job)` is defined), or it is waiting for an event from a live instance of
 *     its current attempt (an instance launched for it that has not been reported gone);
 *  2. live: when the world settles — capacity is available again, EC2 reports the true state
 *     of the current attempt's instances, the clock moves past every deadline and the sweep
 *     ticks — the job reaches a terminal status within a few rounds, and no instance launched
 *     for it is left running.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { handleSageMakerRequest } from '../../shared/api/http.js';
import { secondaryStatusTransitions } from '../../shared/api/views.js';
import { classifyLaunchError, type Capacity, type LaunchRequest, type LaunchResult } from '../../shared/capacity/capacity.js';
import type { Config } from '../../shared/config.js';
import { ControlChannel } from '../../shared/control.js';
import {
  ingestInstanceStateChange,
  ingestInterruptionWarning,
  ingestRebalanceRecommendation,
  ingestS3Notification,
} from '../../shared/ingest.js';
import { nextDeadline, RECLAIM_MAX_CHECKS, runtimeSpent, waitDeadline } from '../../shared/lifecycle/deadlines.js';
import type { AgentPhase } from '../../shared/lifecycle/decide.js';
import { currentAttempt, liveInstanceIds, type JobRecord } from '../../shared/lifecycle/job.js';
import { costReport } from '../../shared/lifecycle/money.js';
import { TablePriceSource } from '../../shared/prices/tablePrices.js';
import { isTerminal, primaryStatusOf } from '../../shared/lifecycle/statuses.js';
import { isLegal } from '../../shared/lifecycle/transitions.js';
import { processJobEvent } from '../../shared/jobEvents/processJobEvent.js';
import type { Services } from '../../shared/services.js';
import { checkpointOutcomeKey, progressReportKey, reportKey } from '../../shared/protocol.js';
import type { JobStore } from '../../shared/store/jobStore.js';

export const DATA_BUCKET = 'spot-training-data';
/** 2026-11-27T10:00:00Z */
export const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);

// ---------------------------------------------------------------------------------------------
// Histories

export type Sel = 'current' | 'old' | 'unknown';
export type Cmd =
  | { k: 'advance'; s: number }
  | { k: 'capacity'; available: boolean }
  | { k: 'crash'; when: 'before' | 'after' }
  /**
   * From now on, looks by tag miss instances launched less than 90 s before: DescribeInstances
   * lagging behind RunInstances. Shorter than the 2 minutes between looks, as EC2's lag is.
   */
  | { k: 'lag' }
  /** `late`: the instance's first `running` delivered again, with its first time; EC2's truth does not move. */
  | { k: 'running'; sel: Sel; idx: number; delay: boolean; late?: boolean }
  /** `forged`: sent with the synthetic source by anyone allowed to call PutEvents; EC2's truth does not move. */
  | { k: 'gone'; sel: Sel; idx: number; state: 'stopped' | 'shutting-down' | 'terminated'; delay: boolean; forged?: boolean }
  /** The local cloud restarts: every instance is lost, and reported terminated as EC2 would. */
  | { k: 'restart' }
  | { k: 'warn'; sel: Sel; idx: number; action: 'terminate' | 'stop' | 'hibernate'; delay: boolean }
  | { k: 'rebalance'; sel: Sel; idx: number; delay: boolean }
  | { k: 'report'; off: -1 | 0 | 1; phase: AgentPhase; exitCode: number; delay: boolean }
  | { k: 'checkpoint'; seq: number; delay: boolean }
  /** The leader's input download progress (`files` of 8 done), for the Downloading StatusMessage; never a status change. */
  | { k: 'progress'; off: -1 | 0 | 1; files: number; delay: boolean }
  /**
   * The agent's report of a checkpoint sync: complete, failed, or a final one started; a final
   * one `late` finished after its deadline. The record must report each one it took.
   */
  | { k: 'outcome'; off: -1 | 0 | 1; status: 'complete' | 'failed' | 'started'; final: boolean; late: boolean; seq: number; delay: boolean }
  | { k: 'timer'; s: number }
  | { k: 'stop' }
  | { k: 'redeliver'; pick: number }
  | { k: 'flush'; pick: number }
  | { k: 'together'; cmds: Cmd[] };

export interface JobShape {
  spot: boolean;
  count: 1 | 2;
  maxRuntime: number;
  /** Extra seconds of MaxWaitTimeInSeconds over MaxRuntimeInSeconds (spot only). */
  waitSlack: number;
  retries: 0 | 1 | 2;
  behavior: 'terminate' | 'stop';
  fallback: boolean;
  checkpoints: boolean;
  onDemandAfter?: number;
  capacityAtStart: boolean;
  /** The first launch reaches EC2 and its response is lost (absent in histories kept from before). */
  firstLaunchLost?: boolean;
  /** A second job, which never gets capacity, names the same CheckpointConfig.S3Uri. */
  sharedFolder?: boolean;
}

export interface History {
  job: JobShape;
  seed: number;
  cmds: Cmd[];
}

const sel = fc.constantFrom<Sel>('current', 'current', 'current', 'old', 'unknown');
const idx = fc.nat({ max: 3 });
const delay = fc.boolean();
const step = fc.constantFrom(0, 1, 5, 30, 120, 400);

const leaf: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ k: fc.constant('advance' as const), s: step }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('capacity' as const), available: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('crash' as const), when: fc.constantFrom<'before' | 'after'>('before', 'after') }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('lag' as const) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('running' as const), sel, idx, delay, late: fc.constantFrom(false, false, false, true) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('gone' as const),
      sel,
      idx,
      state: fc.constantFrom<'stopped' | 'shutting-down' | 'terminated'>('stopped', 'shutting-down', 'terminated'),
      delay,
      forged: fc.constantFrom(false, false, false, true),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('restart' as const) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('warn' as const), sel, idx, action: fc.constantFrom<'terminate' | 'stop' | 'hibernate'>('terminate', 'stop', 'hibernate'), delay }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('rebalance' as const), sel, idx, delay }) },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('report' as const),
      off: fc.constantFrom<-1 | 0 | 1>(0, 0, 0, 0, -1, 1),
      phase: fc.constantFrom<AgentPhase>('downloaded', 'uploading', 'completed', 'failed', 'downloaded', 'uploading'),
      exitCode: fc.integer({ min: 0, max: 255 }),
      delay,
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('checkpoint' as const), seq: fc.integer({ min: 1, max: 40 }), delay }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('progress' as const), off: fc.constantFrom<-1 | 0 | 1>(0, 0, 0, -1, 1), files: fc.integer({ min: 0, max: 8 }), delay }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('outcome' as const),
      off: fc.constantFrom<-1 | 0 | 1>(0, 0, 0, -1, 1),
      status: fc.constantFrom<'complete' | 'failed' | 'started'>('complete', 'failed', 'failed', 'started'),
      final: fc.boolean(),
      late: fc.boolean(),
      seq: fc.integer({ min: 1, max: 40 }),
      delay,
    }),
  },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('timer' as const), s: step }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('stop' as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('redeliver' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('flush' as const), pick: fc.nat() }) },
);

export const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 9, arbitrary: leaf },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('together' as const), cmds: fc.array(leaf, { minLength: 2, maxLength: 6 }) }) },
);

export const jobShapeArb: fc.Arbitrary<JobShape> = fc
  .record({
    spot: fc.constantFrom(true, true, true, false),
    count: fc.constantFrom<1 | 2>(1, 1, 2),
    maxRuntime: fc.constantFrom(60, 300, 900),
    waitSlack: fc.constantFrom(0, 120, 900),
    retries: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    behavior: fc.constantFrom<'terminate' | 'stop'>('terminate', 'stop'),
    fallback: fc.boolean(),
    checkpoints: fc.constantFrom(true, true, false),
    onDemandAfter: fc.option(fc.constantFrom(0, 60, 600), { nil: undefined, freq: 4 }),
    capacityAtStart: fc.constantFrom(true, true, false),
    firstLaunchLost: fc.constantFrom(false, false, false, true),
    sharedFolder: fc.constantFrom(false, false, false, true),
  })
  // InterruptionBehavior stop needs InstanceCount 1 (the API refuses it otherwise).
  .map((shape) => (shape.count === 2 ? { ...shape, behavior: 'terminate' as const } : shape));

export function historyArb(maxCommands = 25): fc.Arbitrary<History> {
  return fc.record({ job: jobShapeArb, seed: fc.integer(), cmds: fc.array(cmdArb, { minLength: 1, maxLength: maxCommands }) });
}

// ---------------------------------------------------------------------------------------------
// The world around the code under test

export class InvariantViolation extends Error {}

function violation(job: string, message: string): never {
  throw new InvariantViolation(`${job}: ${message}`);
}

/** How long after its launch a `lag` hides an instance from a look by tag. */
const LAG_MS = 90_000;

let instanceCounter = 0;
const processPrefix = Math.floor(Math.random() * 0xfffff);
/** Unique, valid 17-digit EC2 instance ids. */
export function freshInstanceId(): string {
  instanceCounter += 1;
  return `i-${processPrefix.toString(16).padStart(5, '0')}${instanceCounter.toString(16).padStart(12, '0')}`;
}

interface TokenRecord {
  jobName: string;
  attempt: number;
  launchRequest: number;
  /** Times instances were created for this token: the invariant says at most once. */
  creations: number;
  calls: number;
  result?: LaunchResult;
}

/**
 * EC2 as the capacity sees it: RunInstances idempotent by client token (the same token answers
 * with the same instances), InsufficientInstanceCapacity while capacity is off, and a crash
 * switch that makes the next call throw once, before or after the instances were created
 * (a handler killed between its write and its side effect, or a lost response).
 */
export class FakeCapacity implements Capacity {
  readonly tokens = new Map<string, TokenRecord>();
  /** `returns`: times EC2 really started the instance again after it stopped. */
  readonly instances = new Map<string, { attempt: number; token: string; state: 'running' | 'stopped' | 'terminated'; launched: number; returns: number }>();
  available = true;
  crash: 'none' | 'before' | 'after' = 'none';
  /** Whether a reclaim misses instances launched less than LAG_MS before it (the model's clock). */
  lagging = false;
  now: () => number = () => 0;
  terminateCalls = 0;

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    if (this.crash === 'before') {
      this.crash = 'none';
      throw new Error('simulated crash before RunInstances');
    }
    let record = this.tokens.get(request.clientToken);
    if (!record) {
      record = { jobName: request.jobName, attempt: request.attempt, launchRequest: request.launchRequest, creations: 0, calls: 0 };
      this.tokens.set(request.clientToken, record);
    } else if (record.attempt !== request.attempt || record.launchRequest !== request.launchRequest || record.jobName !== request.jobName) {
      throw new InvariantViolation(
        `${request.jobName}: client token ${request.clientToken} reused for attempt ${request.attempt}/${request.launchRequest}, first used for ${record.attempt}/${record.launchRequest}`,
      );
    }
    record.calls += 1;
    if (!record.result?.ok) {
      if (this.available) {
        const ids = Array.from({ length: request.count }, () => freshInstanceId());
        record.creations += 1;
        for (const id of ids) this.instances.set(id, { attempt: request.attempt, token: request.clientToken, state: 'running', launched: this.now(), returns: 0 });
        record.result = { ok: true, instanceIds: ids };
      } else {
        record.result = classifyLaunchError('InsufficientInstanceCapacity', 'There is no Spot capacity available that matches your request.');
      }
    }
    if (this.crash === 'after') {
      this.crash = 'none';
      throw new Error('simulated crash after RunInstances: the response was lost');
    }
    // As EC2 answers a repeated client token: the instances first launched, in their state now.
    const result = record.result;
    if (!result.ok) return result;
    return { ...result, states: Object.fromEntries(result.instanceIds.map((id) => [id, this.instances.get(id)?.state ?? 'running'])) };
  }

  async terminate(instanceIds: string[]): Promise<void> {
    this.terminateCalls += 1;
    for (const id of instanceIds) {
      const instance = this.instances.get(id);
      if (instance) instance.state = 'terminated';
    }
  }

  /** Finds instances the way a tag filter does: by the job and attempt they were launched for. */
  async reclaim(jobName: string, attempt: number): Promise<string[]> {
    const ids = [...this.instances]
      .filter(([, i]) => i.attempt === attempt && i.state !== 'terminated' && this.tokens.get(i.token)?.jobName === jobName)
      .filter(([, i]) => !this.lagging || this.now() - i.launched >= LAG_MS)
      .map(([id]) => id);
    await this.terminate(ids);
    return ids;
  }
}

/** S3 as the ControlChannel uses it: PutObject and GetObject, in memory. */
export class MemoryS3 {
  readonly objects = new Map<string, string>();
  readonly modified = new Map<string, number>();
  /** The time objects are written at (the model's clock). */
  now: () => number = () => Date.now();
  async send(command: unknown): Promise<unknown> {
    if (command instanceof PutObjectCommand) {
      const { Bucket, Key, Body } = command.input;
      this.objects.set(`${Bucket}/${Key}`, String(Body));
      this.modified.set(`${Bucket}/${Key}`, this.now());
      return {};
    }
    if (command instanceof GetObjectCommand) {
      const { Bucket, Key } = command.input;
      const body = this.objects.get(`${Bucket}/${Key}`);
      if (body === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
      return { ContentLength: Buffer.byteLength(body), Body: { transformToString: async () => body } };
    }
    if (command instanceof HeadObjectCommand) {
      const { Bucket, Key } = command.input;
      if (!this.objects.has(`${Bucket}/${Key}`)) throw Object.assign(new Error('Not Found'), { name: 'NotFound' });
      return { LastModified: new Date(this.modified.get(`${Bucket}/${Key}`) ?? 0) };
    }
    if (command instanceof ListObjectsV2Command) {
      // One page, folders by the delimiter: enough for the checkpoint folders the API looks at.
      const { Bucket, Prefix = '', Delimiter } = command.input;
      const keys = [...this.objects.keys()].filter((k) => k.startsWith(`${Bucket}/${Prefix}`)).map((k) => k.slice(`${Bucket}/`.length));
      const folders = new Set<string>();
      const contents: { Key: string }[] = [];
      for (const key of keys.sort()) {
        const cut = Delimiter ? key.indexOf(Delimiter, Prefix.length) : -1;
        if (cut >= 0) folders.add(key.slice(0, cut + 1));
        else contents.push({ Key: key });
      }
      return { Contents: contents, CommonPrefixes: [...folders].map((Prefix) => ({ Prefix })), IsTruncated: false };
    }
    throw new Error(`MemoryS3: unsupported command ${(command as { constructor: { name: string } }).constructor.name}`);
  }
  asClient(): S3Client {
    return this as unknown as S3Client;
  }
}

/** A small deterministic generator for the services' `random`. */
function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export interface RunStats {
  histories: number;
  events: number;
  terminalAtEnd: number;
  byFinalStatus: Record<string, number>;
}

export function emptyStats(): RunStats {
  return { histories: 0, events: 0, terminalAtEnd: 0, byFinalStatus: {} };
}

let jobCounter = 0;

interface Delivery {
  label: string;
  run: () => Promise<unknown>;
}

/**
 * Runs one history for a new job against `store` and checks every invariant.
 * Throws InvariantViolation (or whatever escaped the code under test) on failure.
 */
export async function runHistory(store: JobStore, config: Config, history: History, stats: RunStats, lane = 0): Promise<void> {
  jobCounter += 1;
  const name = `h${processPrefix.toString(36)}-${lane}-${jobCounter}`;
  let clock = T0;
  const capacity = new FakeCapacity();
  capacity.now = () => clock;
  capacity.available = history.job.capacityAtStart;
  if (history.job.firstLaunchLost) capacity.crash = 'after';
  const s3 = new MemoryS3();
  const services: Services = {
    config,
    store,
    capacity,
    control: new ControlChannel(s3.asClient(), config.controlBucket),
    prices: new TablePriceSource(config.prices),
    now: () => clock,
    random: lcg(history.seed),
  };
  const uploaded = new Set<string>();
  /** Checkpoint outcomes the handler took (it answered processed): the record must report them. */
  const takenOutcomes: TakenOutcome[] = [];
  const sentFailures = new Set<string>();
  const sentOutcomes: TakenOutcome[] = [];
  const delivered: Delivery[] = [];
  const pending: Delivery[] = [];
  let eventCounter = 0;
  let localEvents = 0;
  const checkpointFolder = `ck/${name}`;

  // -- creation through the API
  const shape = history.job;
  const request: Record<string, unknown> = {
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File' },
    ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: shape.count, VolumeSizeInGB: 50 },
    EnableManagedSpotTraining: shape.spot,
    StoppingCondition: { MaxRuntimeInSeconds: shape.maxRuntime, ...(shape.spot ? { MaxWaitTimeInSeconds: shape.maxRuntime + shape.waitSlack } : {}) },
    ...(shape.checkpoints ? { CheckpointConfig: { S3Uri: `s3://${DATA_BUCKET}/${checkpointFolder}` } } : {}),
    OutputDataConfig: { S3OutputPath: `s3://${DATA_BUCKET}/output` },
    ...(shape.retries ? { RetryStrategy: { MaximumRetryAttempts: shape.retries } } : {}),
    ...(shape.spot
      ? {
          SpotOptions: {
            InterruptionBehavior: shape.behavior,
            ...(shape.fallback ? { FallbackInstanceTypes: ['g4dn.xlarge'] } : {}),
            ...(shape.onDemandAfter !== undefined ? { OnDemandFallbackAfterSeconds: shape.onDemandAfter } : {}),
          },
        }
      : {}),
  };
  const api = (operation: string, body: unknown) =>
    handleSageMakerRequest(services, { method: 'POST', headers: { 'x-amz-target': `SageMaker.${operation}` }, body: JSON.stringify(body) });
  const created = await api('CreateTrainingJob', request);
  if (created.statusCode !== 200) violation(name, `CreateTrainingJob answered ${created.statusCode}: ${created.body}`);
  // A second job on the same checkpoint folder, which never gets capacity: it must never see the first's checkpoints.
  const neighbour = shape.sharedFolder && shape.checkpoints ? `${name}-n` : undefined;
  if (neighbour) {
    const noCapacity = new FakeCapacity();
    noCapacity.available = false;
    const answer = await handleSageMakerRequest(
      { ...services, capacity: noCapacity },
      { method: 'POST', headers: { 'x-amz-target': 'SageMaker.CreateTrainingJob' }, body: JSON.stringify({ ...request, TrainingJobName: neighbour }) },
    );
    if (answer.statusCode !== 200) violation(name, `CreateTrainingJob of ${neighbour} answered ${answer.statusCode}: ${answer.body}`);
  }
  /** Instances EC2 itself reported terminated or shutting down to the job. */
  const reportedGone = new Set<string>();

  const read = async (): Promise<JobRecord> => {
    const job = await store.get(name);
    if (!job) violation(name, 'the job record disappeared');
    return job;
  };
  let snapshot = await read();
  checkRecord(name, snapshot, uploaded, clock);

  // -- delivering events the way Lambda does: a handler that throws gets the event again
  const deliver = async (d: Delivery): Promise<void> => {
    localEvents += 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await d.run();
        return;
      } catch (error) {
        if (error instanceof InvariantViolation) throw error;
        // Lambda's async invoke retries twice; the crash switch fires once, so the third fails only on a bug.
        if (attempt >= 3) violation(name, `${d.label} failed on every delivery: ${String(error)}`);
      }
    }
  };
  const send = async (d: Delivery, later: boolean) => {
    if (later) {
      pending.push(d);
      return;
    }
    delivered.push(d);
    await deliver(d);
  };
  const iso = (t: number) => new Date(Math.floor(t / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ec2Event = (detailType: string, detail: Record<string, unknown>, options: { source?: string; time?: number } = {}) => ({
    version: '0',
    id: `${name}-e${++eventCounter}`,
    'detail-type': detailType,
    source: options.source ?? 'aws.ec2',
    account: '123456789012',
    time: iso(options.time ?? clock),
    region: 'us-east-1',
    resources: [],
    detail,
  });
  const s3Event = (bucket: string, key: string) => ({
    Records: [
      {
        eventSource: 'aws:s3',
        eventTime: new Date(clock).toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/') } },
      },
    ],
  });
  const pickInstance = (job: JobRecord, which: Sel, i: number): string | undefined => {
    if (which === 'unknown') return freshInstanceId();
    const current = currentAttempt(job).InstanceIds;
    const launched = [...capacity.instances.keys()];
    const pool =
      which === 'current'
        ? current.length
          ? current
          : launched.filter((id) => capacity.instances.get(id)?.attempt === job.CurrentAttempt)
        : launched.filter((id) => !current.includes(id));
    return pool.length ? pool[i % pool.length] : undefined;
  };

  const execute = async (cmd: Cmd): Promise<void> => {
    switch (cmd.k) {
      case 'advance':
        clock += cmd.s * 1000;
        return;
      case 'capacity':
        capacity.available = cmd.available;
        return;
      case 'crash':
        capacity.crash = cmd.when;
        return;
      case 'lag':
        capacity.lagging = true;
        return;
      case 'restart': {
        // The simulated instances die with the process; the restarted local cloud reports the
        // current attempt's instances terminated.
        for (const instance of capacity.instances.values()) instance.state = 'terminated';
        for (const id of snapshot.CurrentInstanceIds) {
          const raw = ec2Event('EC2 Instance State-change Notification', { 'instance-id': id, state: 'terminated' });
          await send(
            {
              label: `restart: terminated ${id}`,
              run: async () => {
                await ingestInstanceStateChange(services, raw);
                reportedGone.add(id);
              },
            },
            false,
          );
        }
        return;
      }
      case 'running':
      case 'gone':
      case 'warn':
      case 'rebalance': {
        const id = pickInstance(snapshot, cmd.sel, cmd.idx);
        if (!id) return;
        if (cmd.k === 'running' && cmd.late) {
          // The instance's first running event once more, with its first time: nothing happened in EC2.
          const launched = capacity.instances.get(id)?.launched ?? clock;
          const raw = ec2Event('EC2 Instance State-change Notification', { 'instance-id': id, state: 'running' }, { time: launched });
          await send({ label: `late running ${id}`, run: () => ingestInstanceStateChange(services, raw) }, cmd.delay);
        } else if (cmd.k === 'running') {
          const instance = capacity.instances.get(id);
          // Only a persistent spot request brings a stopped instance back; otherwise this is a late event.
          const persistent = shape.spot && shape.behavior !== 'terminate' && shape.count === 1;
          if (instance?.state === 'stopped' && persistent) {
            instance.state = 'running';
            instance.returns += 1;
          }
          // EC2 says `running` only of an instance that runs: of any other, it is an old event delivered again, with its old time.
          const old = instance !== undefined && instance.state !== 'running';
          const raw = ec2Event('EC2 Instance State-change Notification', { 'instance-id': id, state: 'running' }, old ? { time: instance.launched } : {});
          await send({ label: `${old ? 'late ' : ''}running ${id}`, run: () => ingestInstanceStateChange(services, raw) }, cmd.delay);
        } else if (cmd.k === 'gone' && cmd.forged) {
          // Anyone allowed to call PutEvents can claim this: EC2's truth does not move.
          const raw = ec2Event('EC2 Instance State-change Notification', { 'instance-id': id, state: cmd.state }, { source: config.syntheticSource });
          await send({ label: `forged ${cmd.state} ${id}`, run: () => ingestInstanceStateChange(services, raw) }, cmd.delay);
        } else if (cmd.k === 'gone') {
          // EC2 emits this when the instance really went: the fake EC2's truth follows.
          const instance = capacity.instances.get(id);
          if (instance) instance.state = cmd.state === 'stopped' && instance.state !== 'terminated' ? 'stopped' : 'terminated';
          const raw = ec2Event('EC2 Instance State-change Notification', { 'instance-id': id, state: cmd.state });
          const gone = cmd.state !== 'stopped';
          await send(
            {
              label: `${cmd.state} ${id}`,
              run: async () => {
                await ingestInstanceStateChange(services, raw);
                if (gone) reportedGone.add(id);
              },
            },
            cmd.delay,
          );
        } else if (cmd.k === 'warn') {
          // The warning is EC2's notice: two minutes later the instance is terminated or stopped.
          const instance = capacity.instances.get(id);
          if (instance && instance.state !== 'terminated') instance.state = cmd.action === 'terminate' ? 'terminated' : 'stopped';
          const raw = ec2Event('EC2 Spot Instance Interruption Warning', { 'instance-id': id, 'instance-action': cmd.action });
          await send({ label: `warning ${cmd.action} ${id}`, run: () => ingestInterruptionWarning(services, raw) }, cmd.delay);
        } else {
          const raw = ec2Event('EC2 Instance Rebalance Recommendation', { 'instance-id': id });
          await send({ label: `rebalance ${id}`, run: () => ingestRebalanceRecommendation(services, raw) }, cmd.delay);
        }
        return;
      }
      case 'report': {
        const attempt = Math.max(1, snapshot.CurrentAttempt + cmd.off);
        const key = reportKey(name, attempt, cmd.phase);
        s3.objects.set(`${config.controlBucket}/${key}`, JSON.stringify({ ExitCode: cmd.exitCode, Reason: 'model says so', Time: new Date(clock).toISOString() }));
        const raw = s3Event(config.controlBucket, key);
        await send({ label: `report ${cmd.phase} attempt ${attempt}`, run: () => ingestS3Notification(services, raw) }, cmd.delay);
        return;
      }
      case 'progress': {
        const attempt = Math.max(1, snapshot.CurrentAttempt + cmd.off);
        const key = progressReportKey(name, attempt);
        const body = { Time: new Date(clock).toISOString(), Files: cmd.files, TotalFiles: 8, Bytes: cmd.files * 1000, TotalBytes: 8000 };
        s3.objects.set(`${config.controlBucket}/${key}`, JSON.stringify(body));
        const raw = s3Event(config.controlBucket, key);
        await send({ label: `progress ${cmd.files}/8 attempt ${attempt}`, run: () => ingestS3Notification(services, raw) }, cmd.delay);
        return;
      }
      case 'checkpoint': {
        // The agent writes the checkpoint's files, then its manifest: only then is there an event.
        const key = `${checkpointFolder}/${name}/step=${cmd.seq}/manifest.json`;
        uploaded.add(`s3://${DATA_BUCKET}/${key}`);
        const raw = s3Event(DATA_BUCKET, key);
        await send({ label: `manifest step=${cmd.seq}`, run: () => ingestS3Notification(services, raw) }, cmd.delay);
        return;
      }
      case 'outcome': {
        const attempt = Math.max(1, snapshot.CurrentAttempt + cmd.off);
        const trigger = cmd.final ? 'final' : 'periodic';
        const status = cmd.status === 'started' && !cmd.final ? 'failed' : cmd.status;
        const id = `ckpt-${String(cmd.seq).padStart(9, '0')}`;
        const manifestUri = `s3://${DATA_BUCKET}/${checkpointFolder}/${name}/${id}/manifest.json`;
        const reason = `model failure ${++eventCounter}`;
        const deadline = cmd.final ? clock + (cmd.late ? -1000 : 60_000) : undefined;
        const body = {
          Trigger: trigger,
          CheckpointId: id,
          StartTime: new Date(clock - 5000).toISOString(),
          ...(status === 'started' ? {} : { EndTime: new Date(clock).toISOString() }),
          ...(status === 'complete' ? { ManifestUri: manifestUri, SizeInBytes: 1000, UploadedBytes: 10, FileCount: 2 } : {}),
          ...(status === 'failed' ? { Reason: reason } : {}),
          ...(deadline !== undefined ? { DeadlineTime: new Date(deadline).toISOString() } : {}),
        };
        // The manifest is in S3 before the agent reports the checkpoint complete.
        if (status === 'complete') uploaded.add(manifestUri);
        if (status === 'failed') sentFailures.add(reason);
        const key = checkpointOutcomeKey(name, attempt, cmd.seq, status);
        s3.objects.set(`${config.controlBucket}/${key}`, JSON.stringify(body));
        const raw = s3Event(config.controlBucket, key);
        const taken: TakenOutcome = { attempt, status, final: cmd.final, late: deadline !== undefined && deadline < clock, time: clock, reason };
        sentOutcomes.push(taken);
        await send(
          {
            label: `checkpoint ${status} ${trigger} attempt ${attempt}`,
            run: async () => {
              const [result] = await ingestS3Notification(services, raw);
              if (result?.status === 'processed') takenOutcomes.push(taken);
            },
          },
          cmd.delay,
        );
        return;
      }
      case 'timer': {
        clock += cmd.s * 1000;
        // What the deadline sweep does for each due job (the sweep itself queries the whole table).
        await deliver({ label: 'timer', run: () => processJobEvent(services, name, { type: 'timer', time: clock }, { source: 'deadline-sweep' }) });
        return;
      }
      case 'stop': {
        localEvents += 1;
        const answer = await api('StopTrainingJob', { TrainingJobName: name });
        if (answer.statusCode !== 200 && !answer.body.includes('ValidationException')) violation(name, `StopTrainingJob answered ${answer.statusCode}: ${answer.body}`);
        return;
      }
      case 'redeliver': {
        const d = delivered[cmd.pick % Math.max(1, delivered.length)];
        if (d) await deliver(d);
        return;
      }
      case 'flush': {
        if (!pending.length) return;
        const [d] = pending.splice(cmd.pick % pending.length, 1);
        if (d) await send(d, false);
        return;
      }
      case 'together':
        // Concurrent deliveries: all at once, as Lambda runs concurrent invocations.
        await Promise.all(cmd.cmds.map((c) => execute(c)));
        return;
    }
  };

  const touchesStore = (cmd: Cmd): boolean => !['advance', 'capacity', 'crash', 'lag'].includes(cmd.k) && (cmd.k !== 'together' || cmd.cmds.some(touchesStore));
  for (const cmd of history.cmds) {
    const before = localEvents;
    await execute(cmd);
    if (!touchesStore(cmd) || (localEvents === before && cmd.k !== 'together')) continue;
    const next = await read();
    checkStep(name, snapshot, next, uploaded, clock);
    checkReturns(name, next, capacity);
    checkCheckpointOutcomes(name, next, takenOutcomes, sentOutcomes, sentFailures);
    if (cmd.k === 'timer') checkLimitsAfterTick(name, next, clock);
    snapshot = next;
  }
  // Whatever is still in flight arrives late.
  for (const d of pending.splice(0)) await send(d, false);
  {
    const next = await read();
    checkStep(name, snapshot, next, uploaded, clock);
    checkReturns(name, next, capacity);
    snapshot = next;
  }
  checkExplained(name, snapshot);
  checkNotWaitingForGone(name, snapshot, reportedGone);
  if (neighbour) {
    const other = await store.get(neighbour);
    if (other?.LatestCheckpoint) violation(name, `${neighbour}, which never ran, shows ${other.LatestCheckpoint.ManifestUri} as its checkpoint`);
  }

  // -- the world settles: liveness
  /** The clock moves to `at` and the deadline sweep comes for the job. */
  const sweepAt = async (at: number, label: string): Promise<void> => {
    clock = at;
    await deliver({ label, run: () => processJobEvent(services, name, { type: 'timer', time: clock }, { source: 'deadline-sweep' }) });
    const next = await read();
    checkStep(name, snapshot, next, uploaded, clock);
    checkReturns(name, next, capacity);
    snapshot = next;
  };
  capacity.available = true;
  capacity.crash = 'none';
  for (let round = 0; round < 10 && !isTerminal(snapshot.SecondaryStatus); round++) {
    const attempt = currentAttempt(snapshot);
    const ids = new Set([...attempt.InstanceIds, ...[...capacity.instances].filter(([, i]) => i.attempt === attempt.Number).map(([id]) => id)]);
    for (const id of ids) {
      const state = capacity.instances.get(id)?.state ?? 'terminated';
      // Only what the record does not already reflect: saves requests, changes nothing.
      if (state === 'running' ? attempt.RunningInstanceIds.includes(id) && snapshot.SecondaryStatus !== 'Starting' : attempt.GoneInstanceIds.includes(id)) continue;
      const raw = ec2Event('EC2 Instance State-change Notification', { 'instance-id': id, state });
      await deliver({ label: `settle ${state} ${id}`, run: () => ingestInstanceStateChange(services, raw) });
    }
    const due = nextDeadline(ids.size ? await read() : snapshot);
    await sweepAt(Math.max(clock + 1000, (due ?? clock) + 1000), 'settle timer');
  }
  if (!isTerminal(snapshot.SecondaryStatus)) violation(name, `stuck: still ${snapshot.SecondaryStatus} after the world settled (${JSON.stringify(summary(snapshot))})`);
  // A finished job still watching for a lost launch's instances: the sweep's looks, until the watch ends.
  for (let look = 0; look <= RECLAIM_MAX_CHECKS && snapshot.PendingReclaim; look++) {
    await sweepAt(Math.max(clock, snapshot.PendingReclaim.DueTime) + 1000, 'settle look');
  }
  if (snapshot.PendingReclaim) violation(name, `the watch for attempt ${snapshot.PendingReclaim.Attempt}'s lost launch never ended`);
  checkLaunches(name, snapshot, capacity);
  stats.histories += 1;
  stats.events += localEvents;
  stats.terminalAtEnd += 1;
  stats.byFinalStatus[snapshot.SecondaryStatus] = (stats.byFinalStatus[snapshot.SecondaryStatus] ?? 0) + 1;
}

function summary(job: JobRecord) {
  return {
    status: job.SecondaryStatus,
    transitions: job.Transitions.map((t) => t.Status),
    attempts: job.Attempts.map((a) => ({ n: a.Number, ids: a.InstanceIds, gone: a.GoneInstanceIds, end: a.EndReason, req: a.LaunchRequests })),
    next: job.NextLaunchTime,
  };
}

// ---------------------------------------------------------------------------------------------
// The invariants

/** What must hold of any single record. */
export function checkRecord(name: string, job: JobRecord, uploaded: ReadonlySet<string>, now: number): void {
  const t = job.Transitions;
  if (t[0]?.Status !== 'Starting') violation(name, `first transition is ${t[0]?.Status}, not Starting`);
  for (let i = 1; i < t.length; i++) {
    const from = t[i - 1]!;
    const to = t[i]!;
    if (!isLegal(from.Status, to.Status)) violation(name, `illegal transition ${from.Status} → ${to.Status} (${t.map((x) => x.Status).join(', ')})`);
    if (to.StartTime < from.StartTime) violation(name, `transition ${to.Status} starts at ${to.StartTime}, before ${from.Status} at ${from.StartTime}`);
  }
  for (const x of t) {
    if (x.StatusMessage.startsWith('Downloading input data') && x.Status !== 'Downloading') violation(name, `a ${x.Status} transition says '${x.StatusMessage}'`);
  }
  const view = secondaryStatusTransitions(job);
  for (let i = 0; i + 1 < view.length; i++) {
    if (view[i]!.EndTime !== view[i + 1]!.StartTime) violation(name, `transition ${i} (${view[i]!.Status}) ends at ${view[i]!.EndTime}, the next starts at ${view[i + 1]!.StartTime}`);
  }
  const last = t[t.length - 1]!;
  if (job.SecondaryStatus !== last.Status) violation(name, `SecondaryStatus ${job.SecondaryStatus} but the last transition is ${last.Status}`);
  if (job.TrainingJobStatus !== primaryStatusOf(job.SecondaryStatus)) violation(name, `TrainingJobStatus ${job.TrainingJobStatus} with SecondaryStatus ${job.SecondaryStatus}`);
  if (isTerminal(job.SecondaryStatus)) {
    if (job.TrainingEndTime === undefined) violation(name, `terminal ${job.SecondaryStatus} without TrainingEndTime`);
    if (currentAttempt(job).EndTime === undefined) violation(name, `terminal ${job.SecondaryStatus} with attempt ${job.CurrentAttempt} not ended`);
  }
  job.Attempts.forEach((a, i) => {
    if (a.Number !== i + 1) violation(name, `attempt ${i} is numbered ${a.Number}`);
    if (a.EndTime !== undefined && a.RunningTime !== undefined && a.EndTime < a.RunningTime) violation(name, `attempt ${a.Number} ends before it ran`);
    // Attempts' running times never overlap: no second is counted (and billed) twice.
    const before = job.Attempts[i - 1];
    if (before?.EndTime !== undefined && a.RunningTime !== undefined && a.RunningTime < before.EndTime) {
      violation(name, `attempt ${a.Number} runs from ${a.RunningTime}, before attempt ${before.Number} ended at ${before.EndTime}`);
    }
  });
  if (job.CurrentAttempt !== job.Attempts.length) violation(name, `CurrentAttempt ${job.CurrentAttempt} of ${job.Attempts.length} attempts`);
  if (job.LatestCheckpoint && !uploaded.has(job.LatestCheckpoint.ManifestUri)) {
    violation(name, `LatestCheckpoint names ${job.LatestCheckpoint.ManifestUri}, which was never uploaded`);
  }
  const cost = costReport(job, now);
  if (!(cost.TrainingTimeInSeconds >= cost.BillableTimeInSeconds && cost.BillableTimeInSeconds >= 0)) {
    violation(name, `TrainingTimeInSeconds ${cost.TrainingTimeInSeconds}, BillableTimeInSeconds ${cost.BillableTimeInSeconds}`);
  }
}

export interface TakenOutcome {
  attempt: number;
  status: 'complete' | 'failed' | 'started';
  final: boolean;
  late: boolean;
  time: number;
  reason: string;
}

/**
 * No checkpoint failure is silent, and none is invented: the record's last failure is one the
 * agent reported, at least as recent as every failure the handler took; an attempt whose final
 * checkpoint was reported shows how it went, and a final checkpoint that only ever came late or
 * failed is shown late or failed.
 */
export function checkCheckpointOutcomes(name: string, job: JobRecord, taken: readonly TakenOutcome[], sent: readonly TakenOutcome[], sentFailures: ReadonlySet<string>): void {
  const failure = job.LastCheckpointFailure;
  if (failure && !sentFailures.has(failure.Reason)) violation(name, `LastCheckpointFailure '${failure.Reason}' was never reported`);
  const newest = Math.max(-Infinity, ...taken.filter((o) => o.status === 'failed').map((o) => o.time));
  if (Number.isFinite(newest) && !(failure && failure.Time >= newest)) {
    violation(name, `a checkpoint failure at ${newest} was taken, but the record's last failure is ${failure ? `at ${failure.Time}` : 'none'}`);
  }
  const expected = (o: TakenOutcome) => (o.status === 'started' ? 'Started' : o.status === 'failed' ? 'Failed' : o.late ? 'Late' : 'InTime');
  for (const attempt of job.Attempts) {
    // What the record shows was reported (a delivery the handler took before a crash counts,
    // though its retry answered 'duplicate'); it shows something once the handler took one.
    const shown = attempt.FinalCheckpoint?.Status;
    const possible = new Set(sent.filter((o) => o.final && o.attempt === attempt.Number).map(expected));
    const tookOne = taken.some((o) => o.final && o.attempt === attempt.Number);
    if ((shown && !possible.has(shown)) || (tookOne && !shown)) violation(name, `attempt ${attempt.Number} shows its final checkpoint ${shown ?? 'not at all'}; the agent reported ${[...possible].join(', ')}`);
  }
}

/** What must hold between two consecutive reads of one record. */
export function checkStep(name: string, before: JobRecord, after: JobRecord, uploaded: ReadonlySet<string>, now: number): void {
  checkRecord(name, after, uploaded, now);
  if (after.Version < before.Version) violation(name, `Version went back from ${before.Version} to ${after.Version}`);
  // Transitions are only ever appended: nothing written is lost or rewritten.
  before.Transitions.forEach((t, i) => {
    const same = after.Transitions[i];
    if (!same || same.Status !== t.Status || same.StartTime !== t.StartTime) {
      violation(name, `transition ${i} (${t.Status} at ${t.StartTime}) was rewritten or lost: now ${same?.Status} at ${same?.StartTime}`);
    }
  });
  if (isTerminal(before.SecondaryStatus)) {
    // Nothing changes once the job is over (its status, transitions, times and so what it is
    // billed); only the watch for a lost launch's instances moves.
    const watched = new Set(['PendingReclaim', 'Version']);
    const fields = new Set([...Object.keys(before), ...Object.keys(after)].filter((k) => !watched.has(k)));
    const field = (job: JobRecord, k: string) => canonical((job as unknown as Record<string, unknown>)[k]);
    const changed = [...fields].filter((k) => field(before, k) !== field(after, k));
    if (changed.length) {
      violation(name, `terminal ${before.SecondaryStatus} job changed: ${changed.map((k) => `${k} ${field(before, k)} → ${field(after, k)}`).join('; ')}`);
    }
  }
  const was = before.LatestCheckpoint?.Sequence ?? -1;
  const is = after.LatestCheckpoint?.Sequence ?? -1;
  if (is < was) violation(name, `LatestCheckpoint moved back from ${was} to ${is}`);
}

/** JSON with every object's keys sorted: records read back from DynamoDB come in any order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

/** A job resumes on a returning instance only as often as EC2 really started that instance again. */
export function checkReturns(name: string, job: JobRecord, capacity: FakeCapacity): void {
  const resumes = new Map<string, number>();
  for (const attempt of job.Attempts) {
    if (attempt.ResumedFromAttempt === undefined) continue;
    for (const id of attempt.InstanceIds) resumes.set(id, (resumes.get(id) ?? 0) + 1);
  }
  for (const [id, count] of resumes) {
    const returns = capacity.instances.get(id)?.returns ?? 0;
    if (count > returns) violation(name, `resumed ${count} time(s) on instance ${id}, which EC2 started again ${returns} time(s)`);
  }
}

/** A job waiting for its stopped instance to come back must not wait for one EC2 reported gone. */
export function checkNotWaitingForGone(name: string, job: JobRecord, reportedGone: ReadonlySet<string>): void {
  const attempt = currentAttempt(job);
  if (job.SecondaryStatus !== 'Interrupted' || attempt.EndTime === undefined || !attempt.InstanceIds.length) return;
  if (attempt.InstanceIds.every((id) => reportedGone.has(id))) {
    violation(name, `waits in Interrupted for instance(s) ${attempt.InstanceIds.join(', ')} of attempt ${attempt.Number}, which EC2 reported terminated`);
  }
}

/** After a timer tick at `now`: a job past a time limit is Stopping or finished. */
export function checkLimitsAfterTick(name: string, job: JobRecord, now: number): void {
  if (isTerminal(job.SecondaryStatus) || job.SecondaryStatus === 'Stopping') return;
  const wait = waitDeadline(job);
  if (wait !== undefined && now >= wait) violation(name, `past MaxWaitTimeInSeconds after a tick, still ${job.SecondaryStatus}`);
  if (runtimeSpent(job, now)) violation(name, `past MaxRuntimeInSeconds after a tick, still ${job.SecondaryStatus}`);
}

/**
 * "Stuck", part 1: an unfinished job must have a deadline the sweep acts on, or be waiting for
 * EC2 to report on an instance it launched for the current attempt and has not seen go (EC2
 * sends a state change for every instance that changes state).
 */
export function checkExplained(name: string, job: JobRecord): void {
  if (isTerminal(job.SecondaryStatus)) return;
  if (nextDeadline(job) !== undefined) return;
  if (liveInstanceIds(currentAttempt(job)).length) return;
  violation(name, `stuck: ${job.SecondaryStatus} with no deadline and no instance to hear from (${JSON.stringify(summary(job))})`);
}

/** "No attempt launched twice for one decision", and nothing left running. */
export function checkLaunches(name: string, job: JobRecord, capacity: FakeCapacity): void {
  const byRequest = new Map<string, string>();
  const successfulTokens = new Map<number, Set<string>>();
  for (const [token, record] of capacity.tokens) {
    if (record.creations > 1) violation(name, `client token ${token} launched instances ${record.creations} times`);
    const key = `${record.attempt}/${record.launchRequest}`;
    const other = byRequest.get(key);
    if (other && other !== token) violation(name, `launch request ${key} was sent with two client tokens (${other}, ${token})`);
    byRequest.set(key, token);
    const attempt = job.Attempts.find((a) => a.Number === record.attempt);
    if (!attempt) violation(name, `a launch for attempt ${record.attempt}, which the job does not have`);
    if (record.launchRequest > attempt.LaunchRequests) violation(name, `launch request ${key} beyond the attempt's ${attempt.LaunchRequests}`);
    if (record.result?.ok) {
      const set = successfulTokens.get(record.attempt) ?? new Set<string>();
      set.add(token);
      successfulTokens.set(record.attempt, set);
    }
  }
  for (const [attempt, tokens] of successfulTokens) {
    if (tokens.size > 1) violation(name, `attempt ${attempt} got instances from ${tokens.size} launches`);
  }
  if (isTerminal(job.SecondaryStatus)) {
    // Running instances cost money; a stopped one (EBS only) is terminated when it comes back (a stray).
    const leaked = [...capacity.instances].filter(([, i]) => i.state === 'running').map(([id]) => id);
    const known = new Set(job.Attempts.flatMap((a) => a.InstanceIds));
    const leakedKnown = leaked.filter((id) => known.has(id));
    if (leakedKnown.length) violation(name, `job is ${job.SecondaryStatus} but its instances ${leakedKnown.join(', ')} were never terminated`);
    // Instances whose launch response was lost (a crash after RunInstances): the job never
    // learned their ids, and must have reclaimed them by tag when the attempt ended.
    const unrecorded = leaked.filter((id) => !known.has(id));
    if (unrecorded.length) violation(name, `job is ${job.SecondaryStatus} but instances ${unrecorded.join(', ')}, launched for it and never recorded, are still running`);
  }
}
