import { nextDeadline } from '../lifecycle/deadlines.js';
import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { applyEvent } from '../jobEvents/applyEvent.js';
import { ApiError, notFound, validationError } from '../errors.js';
import { effectsOnDelete, impliedEffects, type Effect } from '../lifecycle/decide.js';
import type { ControlChannel } from '../control.js';
import { newJob, TRAINING_JOB_NAME, type Checkpoint, type EpochMillis, type JobRecord } from '../lifecycle/job.js';
import { isTerminal, TRAINING_JOB_STATUSES } from '../lifecycle/statuses.js';
import { JobExistsError, JobNotFoundError, JobNotTerminalError, type JobStore, type ListSort } from '../store/jobStore.js';
import { readCreateRequest } from './createRequest.js';
import { FieldReader } from './fields.js';
import { describeView, summaryView } from './views.js';

export interface OperationDeps {
  store: JobStore;
  config: Config;
  now: () => EpochMillis;
  /** Reads checkpoint folders, for a job that starts from a finished job's checkpoints; without it, none does. */
  checkpoints?: Pick<ControlChannel, 'checkpointJobs' | 'latestCheckpoint'>;
}

/** What an operation answers, and the effects (launches, terminations) its write calls for. */
export interface OperationResult {
  response: Record<string, unknown>;
  effects: Effect[];
  /** The job as the operation left it, when there are effects to carry out for it. */
  job?: JobRecord;
}

export const OPERATIONS = ['CreateTrainingJob', 'DescribeTrainingJob', 'ListTrainingJobs', 'StopTrainingJob', 'DeleteTrainingJob'] as const;
export type OperationName = (typeof OPERATIONS)[number];

export function trainingJobArn(config: Config, name: string): string {
  // SageMaker lower-cases the name in the ARN.
  return `arn:aws:sagemaker:${config.region}:${config.accountId}:training-job/${name.toLowerCase()}`;
}

function readJobName(input: unknown): string {
  const r = new FieldReader();
  const body = r.object(input, 'request body', true);
  if (body) r.onlyKnown(body, '', ['TrainingJobName']);
  const name = r.string(body, 'TrainingJobName', 'trainingJobName', { required: true, min: 1, max: 63, pattern: TRAINING_JOB_NAME });
  r.throwIfInvalid();
  return name as string;
}

export function createOperations({ store, config, now, checkpoints }: OperationDeps) {
  /**
   * A job whose checkpoint folder already holds checkpoints of finished jobs starts from the
   * latest of them, as SageMaker restores whatever its S3Uri holds. An unfinished job's
   * checkpoints stay its own: each job writes in a folder of its own under the S3Uri.
   */
  async function inheritedCheckpoint(s3Uri: string): Promise<Checkpoint | undefined> {
    let latest: Checkpoint | undefined;
    if (!checkpoints) return undefined;
    for (const name of await checkpoints.checkpointJobs(s3Uri)) {
      const owner = await store.get(name);
      if (owner && !isTerminal(owner.SecondaryStatus)) continue;
      const checkpoint = await checkpoints.latestCheckpoint(s3Uri, name);
      if (checkpoint && (!latest || checkpoint.Time > latest.Time)) latest = checkpoint;
    }
    return latest;
  }

  async function createTrainingJob(input: unknown): Promise<OperationResult> {
    const spec = readCreateRequest(input, config);
    const arn = trainingJobArn(config, spec.TrainingJobName);
    const checkpoint = spec.CheckpointConfig ? await inheritedCheckpoint(spec.CheckpointConfig.S3Uri) : undefined;
    const job = newJob({ spec, arn, now: now(), ...(checkpoint ? { checkpoint } : {}) });
    try {
      await store.create(job, nextDeadline(job));
    } catch (error) {
      if (error instanceof JobExistsError) {
        throw new ApiError(
          'ResourceInUse',
          `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${arn})`,
        );
      }
      throw error;
    }
    return { response: { TrainingJobArn: arn }, effects: impliedEffects(job), job };
  }

  async function describeTrainingJob(input: unknown): Promise<OperationResult> {
    const name = readJobName(input);
    const job = await store.get(name);
    if (!job) throw notFound(name);
    return { response: describeView(job, now()), effects: [] };
  }

  async function listTrainingJobs(input: unknown): Promise<OperationResult> {
    const r = new FieldReader();
    const body = r.object(input ?? {}, 'request body', false) ?? {};
    r.onlyKnown(body, '', ['MaxResults', 'NextToken', 'SortBy', 'SortOrder', 'StatusEquals', 'NameContains', 'CreationTimeAfter', 'CreationTimeBefore']);
    const limit = r.integer(body, 'MaxResults', 'maxResults', { min: 1, max: 100 }) ?? 10;
    const sortBy = (r.string(body, 'SortBy', 'sortBy', { max: 16, oneOf: ['Name', 'CreationTime', 'Status'] }) ?? 'CreationTime') as ListSort;
    const order = r.string(body, 'SortOrder', 'sortOrder', { max: 16, oneOf: ['Ascending', 'Descending'] }) ?? 'Ascending';
    const statusEquals = r.string(body, 'StatusEquals', 'statusEquals', { max: 16, oneOf: TRAINING_JOB_STATUSES });
    const nameContains = r.string(body, 'NameContains', 'nameContains', { min: 1, max: 63, pattern: /^[a-zA-Z0-9-]+$/ });
    const creationTimeAfter = r.timestamp(body, 'CreationTimeAfter', 'creationTimeAfter');
    const creationTimeBefore = r.timestamp(body, 'CreationTimeBefore', 'creationTimeBefore');
    const token = r.string(body, 'NextToken', 'nextToken', { max: 8192, pattern: /^[A-Za-z0-9_-]+$/ });
    r.throwIfInvalid();
    const query = { sortBy, ascending: order === 'Ascending', limit, statusEquals, nameContains, creationTimeAfter, creationTimeBefore };
    // A token continues one query only: it carries a digest of the query it came from.
    const queryDigest = createHash('sha256').update(JSON.stringify({ ...query, limit: undefined })).digest('hex').slice(0, 16);
    const startKey = token === undefined ? undefined : readNextToken(token, queryDigest);
    const page = await store.list({
      ...query,
      ...(statusEquals ? { statusEquals } : {}),
      ...(nameContains ? { nameContains } : {}),
      ...(startKey ? { startKey } : {}),
    });
    return {
      response: {
        TrainingJobSummaries: page.jobs.map(summaryView),
        ...(page.lastKey ? { NextToken: Buffer.from(JSON.stringify({ q: queryDigest, k: page.lastKey })).toString('base64url') } : {}),
      },
      effects: [],
    };
  }

  async function stopTrainingJob(input: unknown): Promise<OperationResult> {
    const name = readJobName(input);
    const outcome = await applyEvent(store, name, { type: 'stopRequested', time: now() }, now);
    if (outcome.status === 'not-found') throw notFound(name);
    if (outcome.status === 'ignored' && outcome.reason === 'terminal') {
      throw validationError(`The training job ${name} is ${outcome.job.TrainingJobStatus}; only a job in progress can be stopped.`);
    }
    return { response: {}, effects: outcome.effects, job: outcome.job };
  }

  async function deleteTrainingJob(input: unknown): Promise<OperationResult> {
    const name = readJobName(input);
    let deleted: JobRecord;
    try {
      deleted = await store.delete(name);
    } catch (error) {
      if (error instanceof JobNotFoundError) throw notFound(name);
      if (error instanceof JobNotTerminalError) {
        throw validationError(`${error.message}; only a Completed, Failed or Stopped training job can be deleted. Stop it first.`);
      }
      throw error;
    }
    return { response: {}, effects: effectsOnDelete(deleted), job: deleted };
  }

  const byName: Record<OperationName, (input: unknown) => Promise<OperationResult>> = {
    CreateTrainingJob: createTrainingJob,
    DescribeTrainingJob: describeTrainingJob,
    ListTrainingJobs: listTrainingJobs,
    StopTrainingJob: stopTrainingJob,
    DeleteTrainingJob: deleteTrainingJob,
  };
  return byName;
}

export type Operations = ReturnType<typeof createOperations>;

function readNextToken(token: string, queryDigest: string): Record<string, unknown> {
  const invalid = () => validationError('Invalid NextToken: it does not continue this query. Repeat the request without it.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const { q, k } = (parsed ?? {}) as { q?: unknown; k?: unknown };
  if (q !== queryDigest || typeof k !== 'object' || k === null || Array.isArray(k)) throw invalid();
  const key = k as Record<string, unknown>;
  if (!Object.values(key).every((v) => typeof v === 'string' && v.length <= 256)) throw invalid();
  return key;
}
