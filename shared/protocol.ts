import { z } from 'zod';
import { parsedValue, parseProblem, type Parsed } from './errors.js';
import { TRAINING_JOB_NAME, type Checkpoint, type CheckpointOutcome, type MetricDatum, type TrainingJobSpec } from './lifecycle/job.js';
import type { InputChannel, TensorBoardOutputConfig } from './lifecycle/jobSpec.js';
import { AGENT_PHASES, type AgentPhase } from './lifecycle/vocabulary.js';

/**
 * The S3 protocol between the control plane and the agent on each instance. Everything lives
 * in the control bucket, under two prefixes that S3 notifications can tell apart:
 *
 *   control/<job>/attempt-<n>/restore.json              control plane → agent: what to restore, what to run
 *   control/<job>/attempt-<n>/requests/<kind>-<t>.json  control plane → agent: checkpoint now, stop, interrupt
 *   reports/<job>/attempt-<n>/<phase>.report.json       agent → control plane: downloaded, uploading, completed, failed
 *   reports/<job>/attempt-<n>/checkpoints/<sequence>-<status>.report.json
 *                                                       agent → control plane: how a checkpoint sync went
 *   reports/<job>/attempt-<n>/metrics.report.json       agent → control plane: the final metric values of an
 *                                                       attempt that ended by a stop or an interruption
 *   reports/<job>/attempt-<n>/progress.report.json      agent → control plane: how much input data is left to
 *                                                       download (rewritten as it goes)
 *
 * The training output is not here: it goes to CloudWatch Logs, where SageMaker puts it
 * (shared/trainingLogs.ts).
 *
 * Checkpoints live under the job's CheckpointConfig.S3Uri, in a folder of the job's own (so two
 * jobs naming one S3Uri never mix their checkpoints), one folder per checkpoint, the manifest
 * written last:  <S3Uri>/<job>/<checkpoint-id>/files/<files…>  then  <S3Uri>/<job>/<checkpoint-id>/manifest.json
 * (the user's files under `files/`, so a user's own manifest.json is never taken for the checkpoint's).
 *
 * This module owns every key: each object has one builder and one parser, used by the control
 * plane (control.ts, ingest.ts), the agent and the local cloud's simulated agent alike.
 */
export const REPORT_PREFIX = 'reports/';
export const REPORT_SUFFIX = '.report.json';
export const CONTROL_PREFIX = 'control/';
/** The control bucket's own prefixes: no checkpoint, output or input location may be inside them. */
export const PROTOCOL_PREFIXES = [CONTROL_PREFIX, REPORT_PREFIX] as const;
export const MANIFEST_NAME = 'manifest.json';
export { AGENT_PHASES, type AgentPhase };

export const attemptFolder = (job: string, attempt: number) => `${job}/attempt-${attempt}/`;
export const reportKey = (job: string, attempt: number, phase: AgentPhase) => `${REPORT_PREFIX}${attemptFolder(job, attempt)}${phase}${REPORT_SUFFIX}`;

/** Where the restore instructions of every attempt of a job are: list it to find the newest. */
export const restoresPrefix = (job: string) => `${CONTROL_PREFIX}${job}/attempt-`;
export const restoreKey = (job: string, attempt: number) => `${CONTROL_PREFIX}${attemptFolder(job, attempt)}restore.json`;

/** Reads `control/<job>/attempt-<n>/restore.json`. */
export function parseRestoreKey(key: string): Parsed<{ job: string; attempt: number }> {
  const match = /^control\/([^/]+)\/attempt-(\d{1,6})\/restore\.json$/.exec(key);
  if (!match) return parseProblem(`not a restore instruction key (${CONTROL_PREFIX}<job>/attempt-<n>/restore.json)`);
  const [, job = '', attempt = ''] = match;
  if (!TRAINING_JOB_NAME.test(job)) return parseProblem(`'${job.slice(0, 80)}' is not a training job name`);
  return parsedValue({ job, attempt: Number(attempt) });
}

/**
 * What the control plane asks of an attempt's agents: a checkpoint now (a rebalance
 * recommendation, a stop about to come), to stop (the job is stopped or out of time: final
 * checkpoint, end training), or that the instance is being interrupted (the same, for a spot
 * warning: the agent also stops the training process).
 */
export const CONTROL_REQUEST_KINDS = ['checkpoint', 'stop', 'interrupt'] as const;
export type ControlRequestKind = (typeof CONTROL_REQUEST_KINDS)[number];

export const requestsPrefix = (job: string, attempt: number) => `${CONTROL_PREFIX}${attemptFolder(job, attempt)}requests/`;
/** One object per request (the time in its name), so that none overwrites another and they sort in order. */
export const requestKey = (job: string, attempt: number, kind: ControlRequestKind, at: Date) =>
  `${requestsPrefix(job, attempt)}${kind}-${String(at.getTime()).padStart(13, '0')}.json`;

export interface ParsedRequestKey {
  job: string;
  attempt: number;
  kind: ControlRequestKind;
  time: number;
}

/** Reads `control/<job>/attempt-<n>/requests/<kind>-<millis>.json`. */
export function parseRequestKey(key: string): Parsed<ParsedRequestKey> {
  const match = /^control\/([^/]+)\/attempt-(\d{1,6})\/requests\/([a-z]+)-(\d{1,15})\.json$/.exec(key);
  if (!match) return parseProblem(`not a control request key (${CONTROL_PREFIX}<job>/attempt-<n>/requests/<kind>-<millis>.json)`);
  const [, job = '', attempt = '', kind = '', time = ''] = match;
  if (!TRAINING_JOB_NAME.test(job)) return parseProblem(`'${job.slice(0, 80)}' is not a training job name`);
  if (!(CONTROL_REQUEST_KINDS as readonly string[]).includes(kind)) return parseProblem(`'${kind}' is not a control request kind (${CONTROL_REQUEST_KINDS.join(', ')})`);
  return parsedValue({ job, attempt: Number(attempt), kind: kind as ControlRequestKind, time: Number(time) });
}

/** What a new attempt's agent is told: what to restore and what to run. */
export interface RestoreInstruction {
  TrainingJobName: string;
  Attempt: number;
  /** The latest complete checkpoint; absent means start from scratch. */
  Checkpoint?: Pick<Checkpoint, 'Id' | 'Sequence' | 'ManifestUri'>;
  CheckpointS3Uri?: string;
  CheckpointLocalPath?: string;
  OutputS3Uri: string;
  TrainingImage?: string;
  Command: string[];
  Environment: Record<string, string>;
  HyperParameters: Record<string, string>;
  InstanceIds: string[];
  /**
   * The job's own members in SageMaker's shapes, for the agent to hand to the training
   * container as SageMaker does (inputdataconfig.json, resourceconfig.json, the SM_*
   * environment). Absent from instructions written before they existed.
   */
  TrainingJobArn?: string;
  AlgorithmSpecification?: Pick<TrainingJobSpec['AlgorithmSpecification'], 'TrainingImage' | 'TrainingInputMode' | 'MetricDefinitions' | 'ContainerEntrypoint' | 'ContainerArguments'>;
  /** InstanceType as submitted (`ml.g5.xlarge`), for SM_CURRENT_INSTANCE_TYPE. */
  ResourceConfig?: { InstanceType: string; InstanceCount: number; VolumeSizeInGB: number };
  InputDataConfig?: InputChannel[];
  /** KmsKeyId: write outputs and checkpoints with SSE-KMS under it; CompressionType NONE: upload the model folder as files. */
  OutputDataConfig?: TrainingJobSpec['OutputDataConfig'];
  /** Run the training container with no network. */
  EnableNetworkIsolation?: boolean;
  /** Sync LocalPath to S3OutputPath as checkpoints are. */
  TensorBoardOutputConfig?: TensorBoardOutputConfig;
}

export interface ControlRequest {
  Kind: ControlRequestKind;
  Reason: string;
  Time: string;
}

/** What an agent report says beyond its key. */
export interface AgentReportBody {
  ExitCode?: number;
  Reason?: string;
  Time?: string;
  /** The last value of each MetricDefinition the attempt's output printed so far (times as epoch milliseconds). */
  FinalMetricDataList?: MetricDatum[];
}

/**
 * An agent report's FinalMetricDataList: at most as many metrics as a job can define, each
 * named as a MetricDefinition is, with a value CloudWatch and DynamoDB can hold. On the wire
 * the timestamps are ISO 8601, as every time in a report is.
 */
export const MAX_REPORTED_METRICS = 40;
const reportedMetric = z.object({
  MetricName: z.string().min(1).max(255),
  Value: z.number().finite().min(-(2 ** 360)).max(2 ** 360),
  Timestamp: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO 8601 time'),
});
export const reportedMetrics = z.array(reportedMetric).max(MAX_REPORTED_METRICS);

/** The body fragment that carries final metric values in a report. */
export function metricsReportBody(metrics: readonly MetricDatum[]): { FinalMetricDataList?: z.infer<typeof reportedMetrics> } {
  if (!metrics.length) return {};
  return { FinalMetricDataList: metrics.slice(0, MAX_REPORTED_METRICS).map((m) => ({ MetricName: m.MetricName, Value: m.Value, Timestamp: new Date(m.Timestamp).toISOString() })) };
}

/** A report's FinalMetricDataList in the lifecycle's terms, or a message naming what is wrong with it. */
export function parseReportedMetrics(value: unknown): MetricDatum[] | string {
  const result = reportedMetrics.safeParse(value);
  if (!result.success) return result.error.issues.map((i) => `FinalMetricDataList.${i.path.join('.')}: ${i.message}`).join('; ');
  return result.data.map((m) => ({ MetricName: m.MetricName, Value: m.Value, Timestamp: Date.parse(m.Timestamp) }));
}

/** Where an attempt that ended by a stop or an interruption leaves its final metric values. */
export const metricsReportKey = (job: string, attempt: number) => `${REPORT_PREFIX}${attemptFolder(job, attempt)}metrics${REPORT_SUFFIX}`;

/** Reads `reports/<job>/attempt-<n>/metrics.report.json`. */
export const parseMetricsReportKey = (key: string) => parseNamedReportKey(key, 'metrics');

/** Where an attempt's leader says how far its File-mode input download has come; rewritten as it goes. */
export const progressReportKey = (job: string, attempt: number) => `${REPORT_PREFIX}${attemptFolder(job, attempt)}progress${REPORT_SUFFIX}`;

/** Reads `reports/<job>/attempt-<n>/progress.report.json`. */
export const parseProgressReportKey = (key: string) => parseNamedReportKey(key, 'progress');

function parseNamedReportKey(key: string, name: 'metrics' | 'progress'): Parsed<{ job: string; attempt: number }> {
  const match = /^reports\/([^/]+)\/attempt-(\d{1,6})\/([a-z]+)\.report\.json$/.exec(key);
  if (!match || match[3] !== name) return parseProblem(`not a ${name} report key (reports/<job>/attempt-<n>/${name}${REPORT_SUFFIX})`);
  const [, job = '', attempt = ''] = match;
  if (!TRAINING_JOB_NAME.test(job)) return parseProblem(`'${job.slice(0, 80)}' is not a training job name`);
  return parsedValue({ job, attempt: Number(attempt) });
}

/** A progress report's body: how much of the attempt's input data is on the instance. */
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const downloadProgressBody = z
  .object({
    Time: z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO 8601 time'),
    Files: count,
    TotalFiles: count,
    Bytes: count,
    TotalBytes: count,
  })
  .refine((b) => b.Files <= b.TotalFiles, { message: 'more files than TotalFiles', path: ['Files'] })
  .refine((b) => b.Bytes <= b.TotalBytes, { message: 'more bytes than TotalBytes', path: ['Bytes'] });
export type DownloadProgressBody = z.infer<typeof downloadProgressBody>;

export interface ParsedReportKey {
  job: string;
  attempt: number;
  phase: AgentPhase;
}

/** Reads a report key, or explains why it is not one. */
export function parseReportKey(key: string): Parsed<ParsedReportKey> {
  const match = /^reports\/([^/]+)\/attempt-(\d{1,6})\/([a-z]+)\.report\.json$/.exec(key);
  if (!match) return parseProblem(`not a report key (reports/<job>/attempt-<n>/<phase>${REPORT_SUFFIX})`);
  const [, job = '', attempt = '', phase = ''] = match;
  if (!TRAINING_JOB_NAME.test(job)) return parseProblem(`'${job.slice(0, 80)}' is not a training job name`);
  if (!(AGENT_PHASES as readonly string[]).includes(phase)) return parseProblem(`'${phase}' is not a report phase (${AGENT_PHASES.join(', ')})`);
  return parsedValue({ job, attempt: Number(attempt), phase: phase as AgentPhase });
}

/** The folder of one checkpoint of a job: `<S3Uri prefix><job>/<checkpoint-id>/`. */
export const checkpointFolder = (s3UriPrefix: string, job: string, checkpointId: string) => `${s3UriPrefix}${job}/${checkpointId}/`;

export interface ParsedManifestKey {
  /** `s3://<bucket>/<folder>/`: the CheckpointConfig.S3Uri the checkpoint was written under. */
  s3Uri: string;
  /** The job whose folder it is. */
  job: string;
  checkpointId: string;
  sequence: number;
}

/** Reads `<folder>/<job>/<checkpoint-id>/manifest.json`; the checkpoint id must carry its sequence number. */
export function parseManifestKey(bucket: string, key: string): Parsed<ParsedManifestKey> {
  if (isUserFileInCheckpoint(key)) return parseProblem(`a file inside a checkpoint's ${CHECKPOINT_FILES_FOLDER} folder, not a checkpoint's manifest`);
  const parts = key.split('/');
  if (parts.length < 3 || parts[parts.length - 1] !== MANIFEST_NAME) return parseProblem(`not a manifest key (<folder>/<job>/<checkpoint-id>/${MANIFEST_NAME})`);
  const checkpointId = parts[parts.length - 2] ?? '';
  const job = parts[parts.length - 3] ?? '';
  const folder = parts.slice(0, -3);
  if (folder.some((segment) => segment === '' || segment === '.' || segment === '..') || checkpointId === '' || checkpointId === '..') {
    return parseProblem('the key has an empty, "." or ".." path segment');
  }
  if (!TRAINING_JOB_NAME.test(job)) return parseProblem(`'${job.slice(0, 80)}' is not a training job name (<folder>/<job>/<checkpoint-id>/${MANIFEST_NAME})`);
  const digits = /(\d{1,15})(?!.*\d)/.exec(checkpointId);
  if (!digits) return parseProblem(`checkpoint folder '${checkpointId.slice(0, 80)}' carries no sequence number (e.g. step=1200 or ckpt-000042)`);
  return parsedValue({ s3Uri: `s3://${bucket}/${folder.length ? `${folder.join('/')}/` : ''}`, job, checkpointId, sequence: Number(digits[1]) });
}

/** Where the product's own checkpoints keep the user's files: `<checkpoint-id>/files/…` beside the manifest. */
export const CHECKPOINT_FILES_FOLDER = 'files/';
const PRODUCT_CHECKPOINT_FILES = /(^|\/)ckpt-\d{9,15}\/files\//;

/**
 * A user's file named manifest.json inside one of the product's checkpoints
 * (`…/ckpt-000000042/files/…/manifest.json`): data, not a checkpoint's manifest. The event
 * rules match on the name alone, so the handler tells them apart by the key.
 */
export const isUserFileInCheckpoint = (key: string) => PRODUCT_CHECKPOINT_FILES.test(key);

/**
 * How a checkpoint sync ended, as the agent reports it: `started` for a final one under way,
 * `empty` for a LocalPath that has held no file too long, `stale` for one that has not changed
 * for longer than the job's overdue time (its checkpoints stopped arriving).
 */
export const CHECKPOINT_OUTCOME_STATUSES = ['started', 'complete', 'failed', 'empty', 'stale'] as const;
export type CheckpointOutcomeStatus = (typeof CHECKPOINT_OUTCOME_STATUSES)[number];

export const checkpointOutcomeKey = (job: string, attempt: number, sequence: number, status: CheckpointOutcomeStatus) =>
  `${REPORT_PREFIX}${attemptFolder(job, attempt)}checkpoints/${String(sequence).padStart(9, '0')}-${status}${REPORT_SUFFIX}`;

export interface ParsedCheckpointOutcomeKey {
  job: string;
  attempt: number;
  sequence: number;
  status: CheckpointOutcomeStatus;
}

export function parseCheckpointOutcomeKey(key: string): Parsed<ParsedCheckpointOutcomeKey> {
  const match = /^reports\/([^/]+)\/attempt-(\d{1,6})\/checkpoints\/(\d{1,15})-([a-z]+)\.report\.json$/.exec(key);
  if (!match) return parseProblem(`not a checkpoint outcome key (reports/<job>/attempt-<n>/checkpoints/<sequence>-<status>${REPORT_SUFFIX})`);
  const [, job = '', attempt = '', sequence = '', status = ''] = match;
  if (!TRAINING_JOB_NAME.test(job)) return parseProblem(`'${job.slice(0, 80)}' is not a training job name`);
  if (!(CHECKPOINT_OUTCOME_STATUSES as readonly string[]).includes(status)) return parseProblem(`'${status}' is not a checkpoint outcome (${CHECKPOINT_OUTCOME_STATUSES.join(', ')})`);
  return parsedValue({ job, attempt: Number(attempt), sequence: Number(sequence), status: status as CheckpointOutcomeStatus });
}

const isoTime = z.string().refine((t) => !Number.isNaN(Date.parse(t)), 'an ISO 8601 time');
const bytes = z.number().int().min(0);

/** The body of a checkpoint outcome report: what the agent knows about one sync. */
export const checkpointOutcomeBody = z.object({
  Trigger: z.enum(['periodic', 'requested', 'final']),
  CheckpointId: z.string().max(64).optional(),
  ManifestUri: z.string().max(2048).optional(),
  StartTime: isoTime,
  EndTime: isoTime.optional(),
  SizeInBytes: bytes.optional(),
  UploadedBytes: bytes.optional(),
  FileCount: bytes.optional(),
  ReusedFileCount: bytes.optional(),
  /** A final checkpoint's deadline: the interruption notice's time less a margin. */
  DeadlineTime: isoTime.optional(),
  /** Before a final checkpoint: how long it should take at the throughput measured so far. */
  EstimatedSeconds: z.number().min(0).optional(),
  Reason: z.string().max(2048).optional(),
  /** Since when LocalPath has held no file. */
  EmptySince: isoTime.optional(),
  /** Since when LocalPath has not changed (the last complete checkpoint, or the restore). */
  UnchangedSince: isoTime.optional(),
});
export type CheckpointOutcomeBody = z.infer<typeof checkpointOutcomeBody>;

/** The report's body in the lifecycle's terms (times as epoch milliseconds). */
export function toCheckpointOutcome(parsed: ParsedCheckpointOutcomeKey, body: CheckpointOutcomeBody): CheckpointOutcome {
  const ms = (t: string | undefined) => (t === undefined ? undefined : Date.parse(t));
  const outcome: CheckpointOutcome = {
    Status: parsed.status,
    Trigger: body.Trigger,
    Sequence: parsed.sequence,
    StartTime: Date.parse(body.StartTime),
  };
  const optional = {
    CheckpointId: body.CheckpointId,
    ManifestUri: body.ManifestUri,
    EndTime: ms(body.EndTime),
    SizeInBytes: body.SizeInBytes,
    UploadedBytes: body.UploadedBytes,
    FileCount: body.FileCount,
    DeadlineTime: ms(body.DeadlineTime),
    EstimatedSeconds: body.EstimatedSeconds,
    Reason: body.Reason,
    EmptySince: ms(body.EmptySince),
    UnchangedSince: ms(body.UnchangedSince),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (outcome as unknown as Record<string, unknown>)[k] = v;
  return outcome;
}
