import { parsedValue, parseProblem, type Parsed } from './errors.js';
import { TRAINING_JOB_NAME, type Checkpoint, type TrainingJobSpec } from './lifecycle/job.js';
import type { InputChannel, TensorBoardOutputConfig } from './lifecycle/jobSpec.js';
import { AGENT_PHASES, type AgentPhase } from './lifecycle/vocabulary.js';

/**
 * The S3 protocol between the control plane and the agent on each instance. Everything lives
 * in the control bucket, under two prefixes that S3 notifications can tell apart:
 *
 *   control/<job>/attempt-<n>/restore.json              control plane → agent: what to restore, what to run
 *   control/<job>/attempt-<n>/requests/<kind>-<t>.json  control plane → agent: checkpoint now, stop, interrupt
 *   reports/<job>/attempt-<n>/<phase>.report.json       agent → control plane: downloaded, uploading, completed, failed
 *   logs/<job>/attempt-<n>/<instance-id>.log            agent: the training output (locally; CloudWatch Logs on AWS)
 *
 * Checkpoints live under the job's CheckpointConfig.S3Uri, in a folder of the job's own (so two
 * jobs naming one S3Uri never mix their checkpoints), one folder per checkpoint, the manifest
 * written last:  <S3Uri>/<job>/<checkpoint-id>/<files…>  then  <S3Uri>/<job>/<checkpoint-id>/manifest.json
 *
 * This module owns every key: each object has one builder and one parser, used by the control
 * plane (control.ts, ingest.ts), the agent and the local cloud's simulated agent alike.
 */
export const REPORT_PREFIX = 'reports/';
export const REPORT_SUFFIX = '.report.json';
export const CONTROL_PREFIX = 'control/';
export const LOG_PREFIX = 'logs/';
/** The control bucket's own prefixes: no checkpoint, output or input location may be inside them. */
export const PROTOCOL_PREFIXES = [CONTROL_PREFIX, REPORT_PREFIX, LOG_PREFIX] as const;
export const MANIFEST_NAME = 'manifest.json';
export { AGENT_PHASES, type AgentPhase };

export const attemptFolder = (job: string, attempt: number) => `${job}/attempt-${attempt}/`;
export const reportKey = (job: string, attempt: number, phase: AgentPhase) => `${REPORT_PREFIX}${attemptFolder(job, attempt)}${phase}${REPORT_SUFFIX}`;
export const logKey = (job: string, attempt: number, instanceId: string) => `${LOG_PREFIX}${attemptFolder(job, attempt)}${instanceId}.log`;
/** The logs of a job, or of one of its attempts. */
export const logsPrefix = (job: string, attempt?: number) => `${LOG_PREFIX}${attempt === undefined ? `${job}/` : attemptFolder(job, attempt)}`;

/** Reads `logs/<job>/attempt-<n>/<instance-id>.log`. */
export function parseLogKey(key: string): Parsed<{ job: string; attempt: number; instanceId: string }> {
  const match = /^logs\/([^/]+)\/attempt-(\d{1,6})\/([^/]+)\.log$/.exec(key);
  if (!match) return parseProblem(`not a log key (${LOG_PREFIX}<job>/attempt-<n>/<instance-id>.log)`);
  const [, job = '', attempt = '', instanceId = ''] = match;
  return parsedValue({ job, attempt: Number(attempt), instanceId });
}

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
}

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
