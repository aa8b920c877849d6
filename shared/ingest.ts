import type { z } from 'zod';
import type { JobEvent } from './lifecycle/decide.js';
import { count, logger, seconds } from './observability.js';
import { processJobEvent } from './jobEvents/processJobEvent.js';
import type { Services } from './services.js';
import { eventKey, instanceStateChange, rebalanceRecommendation, spotInterruptionWarning } from './events/ec2Events.js';
import { MalformedEventError, parseEvent } from './events/envelope.js';
import { decodeS3Key, isEventBridgeEnvelope, KeyEncodingError, s3EventBridgeObjectCreated, s3Notification, s3Record } from './events/s3Events.js';
import { isUserFileInCheckpoint, MANIFEST_NAME, parseCheckpointOutcomeKey, parseManifestKey, parseMetricsReportKey,
  parseProgressReportKey, parseReportKey, REPORT_PREFIX, toCheckpointOutcome } from './protocol.js';

/**
 * From AWS's event shapes to the lifecycle's events: validate, find the job, apply.
 * A malformed event, or one for an instance or job this system does not own, is logged and
 * dropped: retrying it could never succeed. Anything else that fails is thrown, so that
 * the event is delivered again (and dead-lettered in the end).
 */
export type IngestResult = { status: 'processed' | 'ignored' | 'malformed'; detail?: string };

function malformed(kind: string, error: unknown, eventId?: string): IngestResult {
  count('MalformedEvent');
  const detail = error instanceof Error ? error.message : String(error);
  logger.warn(`malformed ${kind} dropped`, { reason: detail, eventId });
  return { status: 'malformed', detail };
}

function parseEc2<T extends z.ZodTypeAny>(services: Services, schema: T, raw: unknown): z.infer<T> {
  const event = parseEvent(schema, raw);
  const source = (event as { source: string }).source;
  if (source !== 'aws.ec2' && source !== services.config.syntheticSource) {
    throw new MalformedEventError(`source: '${source}' is neither aws.ec2 nor ${services.config.syntheticSource}`);
  }
  return event;
}

async function applyToInstanceOwner(
  services: Services,
  instanceId: string,
  eventId: string,
  source: string,
  build: (owner: { Attempt: number; InstanceType: string }) => Promise<JobEvent>,
): Promise<IngestResult> {
  const owner = await services.store.instanceOwner(instanceId);
  if (!owner) {
    count('UnknownInstance');
    logger.info('ignored: instance not launched by spot-training', { instanceId, eventId, source });
    return { status: 'ignored', detail: `unknown instance ${instanceId}` };
  }
  const outcome = await processJobEvent(services, owner.JobName, await build(owner), { eventId, source });
  return outcome.status === 'applied' ? { status: 'processed' } : { status: 'ignored', detail: outcome.status === 'ignored' ? outcome.reason : outcome.status };
}

export async function ingestInterruptionWarning(services: Services, raw: unknown): Promise<IngestResult> {
  let event: z.infer<typeof spotInterruptionWarning>;
  try {
    event = parseEc2(services, spotInterruptionWarning, raw);
  } catch (error) {
    if (error instanceof MalformedEventError) return malformed('spot interruption warning', error);
    throw error;
  }
  const instanceId = event.detail['instance-id'];
  return applyToInstanceOwner(services, instanceId, event.id, event.source, async (owner) => ({
    type: 'interruptionWarning',
    time: Date.parse(event.time),
    key: eventKey(event),
    instanceId,
    instanceAttempt: owner.Attempt,
    action: event.detail['instance-action'],
  }));
}

export async function ingestRebalanceRecommendation(services: Services, raw: unknown): Promise<IngestResult> {
  let event: z.infer<typeof rebalanceRecommendation>;
  try {
    event = parseEc2(services, rebalanceRecommendation, raw);
  } catch (error) {
    if (error instanceof MalformedEventError) return malformed('rebalance recommendation', error);
    throw error;
  }
  count('RebalanceRecommendation');
  const instanceId = event.detail['instance-id'];
  return applyToInstanceOwner(services, instanceId, event.id, event.source, async (owner) => ({
    type: 'rebalanceRecommendation',
    time: Date.parse(event.time),
    key: eventKey(event),
    instanceId,
    instanceAttempt: owner.Attempt,
  }));
}

export async function ingestInstanceStateChange(services: Services, raw: unknown): Promise<IngestResult> {
  let event: z.infer<typeof instanceStateChange>;
  try {
    event = parseEc2(services, instanceStateChange, raw);
  } catch (error) {
    if (error instanceof MalformedEventError) return malformed('instance state change', error);
    throw error;
  }
  const instanceId = event.detail['instance-id'];
  const state = event.detail.state;
  if (state === 'pending' || state === 'stopping') return { status: 'ignored', detail: `state ${state} changes nothing` };
  const time = Date.parse(event.time);
  return applyToInstanceOwner(services, instanceId, event.id, event.source, async (owner) => ({
    type: 'instanceState',
    time,
    instanceId,
    instanceAttempt: owner.Attempt,
    state,
    ...(event.source === 'aws.ec2' ? {} : { synthetic: true }),
    ...(state === 'running' ? await pricesOf(services, owner.InstanceType, time) : {}),
  }));
}

/** Billable time is weighed with the prices of the moment the instance starts running; without them, at on-demand. */
async function pricesOf(services: Services, instanceType: string, time: number) {
  try {
    return { prices: await services.prices.pricesAt(instanceType, time) };
  } catch (error) {
    logger.warn('no price for instance type: billable time counts at the on-demand rate', { instanceType, error: String(error) });
    return {};
  }
}

/**
 * S3 object-created events: agent reports in the control bucket, checkpoint manifests in the
 * allowed buckets. Either an S3 notification (`Records`, keys URL-encoded) or, for buckets
 * that send their events to EventBridge, one "Object Created" event (key as it is).
 */
export async function ingestS3Notification(services: Services, raw: unknown): Promise<IngestResult[]> {
  if (isEventBridgeEnvelope(raw)) return [await ingestS3EventBridge(services, raw)];
  let records: unknown[];
  try {
    records = parseEvent(s3Notification, raw).Records;
  } catch (error) {
    if (error instanceof MalformedEventError) return [malformed('S3 notification', error)];
    throw error;
  }
  const results: IngestResult[] = [];
  for (const rawRecord of records) results.push(await ingestS3Record(services, rawRecord));
  return results;
}

async function ingestS3Record(services: Services, raw: unknown): Promise<IngestResult> {
  let bucket: string;
  let key: string;
  let time: number;
  try {
    const record = parseEvent(s3Record, raw);
    bucket = record.s3.bucket.name;
    key = decodeS3Key(record.s3.object.key);
    time = Date.parse(record.eventTime);
  } catch (error) {
    if (error instanceof MalformedEventError || error instanceof KeyEncodingError) return malformed('S3 record', error);
    throw error;
  }
  return ingestS3Object(services, bucket, key, time);
}

async function ingestS3EventBridge(services: Services, raw: unknown): Promise<IngestResult> {
  let event: z.infer<typeof s3EventBridgeObjectCreated>;
  try {
    event = parseEvent(s3EventBridgeObjectCreated, raw);
  } catch (error) {
    if (error instanceof MalformedEventError) return malformed('S3 Object Created event', error);
    throw error;
  }
  return ingestS3Object(services, event.detail.bucket.name, event.detail.object.key, Date.parse(event.time));
}

/** One created object, whichever way its event came: a report, a manifest, or neither. */
async function ingestS3Object(services: Services, bucket: string, key: string, time: number): Promise<IngestResult> {
  const context = { source: `s3://${bucket}`, eventId: key };
  if (bucket === services.config.controlBucket && key.startsWith(REPORT_PREFIX) && key.includes('/checkpoints/')) {
    return ingestCheckpointOutcome(services, key, context);
  }
  const metricsReport = parseMetricsReportKey(key);
  if (bucket === services.config.controlBucket && metricsReport.ok) {
    return ingestMetricsReport(services, key, metricsReport.value, time, context);
  }
  const progressReport = parseProgressReportKey(key);
  if (bucket === services.config.controlBucket && progressReport.ok) {
    return ingestDownloadProgress(services, key, progressReport.value, time, context);
  }
  if (bucket === services.config.controlBucket && key.startsWith(REPORT_PREFIX)) {
    const report = parseReportKey(key);
    if (!report.ok) return malformed('agent report', report.problem, key);
    const parsed = report.value;
    // Every phase's body: a failure's exit code and reason, and the final metric values. Only a
    // failure needs its body; another phase moves the job on without it.
    const body: Awaited<ReturnType<typeof services.control.readReport>> = await Promise.resolve()
      .then(() => services.control.readReport(key))
      .catch((error: unknown) => {
      if (parsed.phase === 'failed') throw error;
      return { problem: `body unreadable: ${String(error)}` };
    });
    if (body.problem) logger.warn('agent report: a field was left out', { key, problem: body.problem });
    const outcome = await processJobEvent(
      services,
      parsed.job,
      {
        type: 'agentReport',
        // A failure happens when the agent says; the other phases when their report arrives.
        time: parsed.phase === 'failed' && body.Time ? Date.parse(body.Time) : time,
        attempt: parsed.attempt,
        phase: parsed.phase,
        ...(body.ExitCode !== undefined ? { exitCode: body.ExitCode } : {}),
        ...(body.Reason !== undefined ? { reason: body.Reason } : {}),
        ...(body.FinalMetricDataList?.length ? { metrics: body.FinalMetricDataList } : {}),
      },
      context,
    );
    return outcome.status === 'applied' ? { status: 'processed' } : { status: 'ignored', detail: outcome.status };
  }
  if (key.endsWith(`/${MANIFEST_NAME}`) && isUserFileInCheckpoint(key)) {
    // A training script's own manifest.json, checkpointed with its other files: data, no event.
    count('IgnoredEvent');
    return { status: 'ignored', detail: `s3://${bucket}/${key} is a file inside a checkpoint, not a checkpoint's manifest` };
  }
  if (key.endsWith(`/${MANIFEST_NAME}`)) {
    if (!services.config.allowedBuckets.includes(bucket)) return malformed('checkpoint manifest', `bucket ${bucket} is not an allowed checkpoint bucket`, key);
    const manifest = parseManifestKey(bucket, key);
    if (!manifest.ok) return malformed('checkpoint manifest', manifest.problem, key);
    const parsed = manifest.value;
    // The key names the job; the job's record says whether this is its folder.
    const outcome = await processJobEvent(
      services,
      parsed.job,
      { type: 'checkpoint', time, checkpoint: { Id: parsed.checkpointId, Sequence: parsed.sequence, ManifestUri: `s3://${bucket}/${key}`, Time: time } },
      context,
    );
    if (outcome.status === 'applied') count('CheckpointRecorded');
    return outcome.status === 'applied' ? { status: 'processed' } : { status: 'ignored', detail: outcome.status };
  }
  count('IgnoredEvent');
  return { status: 'ignored', detail: `s3://${bucket}/${key} is neither a report nor a manifest` };
}

/** The final metric values of an attempt that a stop or an interruption ended. */
async function ingestMetricsReport(services: Services, key: string, parsed: { job: string; attempt: number }, time: number, context: { source: string; eventId: string }): Promise<IngestResult> {
  const body = await services.control.readReport(key);
  if (!body.FinalMetricDataList) return malformed('metrics report', `${key}: ${body.problem ?? 'no FinalMetricDataList'}`, key);
  const outcome = await processJobEvent(
    services,
    parsed.job,
    { type: 'metricsReported', time: body.Time ? Date.parse(body.Time) : time, attempt: parsed.attempt, metrics: body.FinalMetricDataList },
    context,
  );
  return outcome.status === 'applied' ? { status: 'processed' } : { status: 'ignored', detail: outcome.status === 'ignored' ? outcome.reason : outcome.status };
}

/** How far an attempt's input download has come: the Downloading status's message. */
async function ingestDownloadProgress(services: Services, key: string, parsed: { job: string; attempt: number }, time: number, context: { source: string; eventId: string }): Promise<IngestResult> {
  const body = await services.control.readDownloadProgress(key);
  if (typeof body === 'string') return malformed('download progress report', `${key}: ${body}`, key);
  const { Files, TotalFiles, Bytes, TotalBytes } = body;
  const outcome = await processJobEvent(
    services,
    parsed.job,
    { type: 'downloadProgress', time: Math.min(Date.parse(body.Time), time), attempt: parsed.attempt, progress: { Files, TotalFiles, Bytes, TotalBytes } },
    context,
  );
  return outcome.status === 'applied' ? { status: 'processed' } : { status: 'ignored', detail: outcome.status === 'ignored' ? outcome.reason : outcome.status };
}

/** How a checkpoint sync went, as the agent reports it: recorded on the job, and counted for the alarms. */
async function ingestCheckpointOutcome(services: Services, key: string, context: { source: string; eventId: string }): Promise<IngestResult> {
  const outcomeKey = parseCheckpointOutcomeKey(key);
  if (!outcomeKey.ok) return malformed('checkpoint outcome', outcomeKey.problem, key);
  const parsed = outcomeKey.value;
  const body = await services.control.readCheckpointOutcome(key);
  if (typeof body === 'string') return malformed('checkpoint outcome', `${key}: ${body}`, key);
  const outcome = toCheckpointOutcome(parsed, body);
  const ended = outcome.EndTime ?? outcome.StartTime;
  if (outcome.Status === 'complete') {
    count('CheckpointCompleted');
    seconds('CheckpointUploadSeconds', Math.max(0, ended - outcome.StartTime) / 1000);
  }
  if (outcome.Status === 'failed') {
    count('CheckpointFailed');
    logger.warn('checkpoint failed', { job: parsed.job, attempt: parsed.attempt, sequence: parsed.sequence, trigger: outcome.Trigger, reason: outcome.Reason });
  }
  if (outcome.Trigger === 'final' && outcome.Status !== 'started' && (outcome.Status === 'failed' || (outcome.DeadlineTime !== undefined && ended > outcome.DeadlineTime))) {
    count('FinalCheckpointLate');
  }
  if (outcome.Status === 'empty') count('CheckpointFolderEmpty');
  if (outcome.Status === 'stale') count('CheckpointOverdue');
  const result = await processJobEvent(
    services,
    parsed.job,
    { type: 'checkpointOutcome', time: ended, key: `${key}@${ended}`, attempt: parsed.attempt, outcome },
    context,
  );
  return result.status === 'applied' ? { status: 'processed' } : { status: 'ignored', detail: result.status === 'ignored' ? result.reason : result.status };
}

/** The deadline sweep: every unfinished job whose next deadline has passed, from the sparse index. */
export async function sweepDeadlines(services: Services): Promise<{ due: number; changed: number }> {
  const now = services.now();
  const due = await services.store.dueJobs(now);
  let changed = 0;
  // A few at a time: a sweep after an outage may find many jobs due at once.
  const queue = [...due];
  const workers = Array.from({ length: Math.min(8, queue.length) }, async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const outcome = await processJobEvent(services, name, { type: 'timer', time: now }, { source: 'deadline-sweep' });
      if (outcome.status === 'applied') changed++;
    }
  });
  await Promise.all(workers);
  return { due: due.length, changed };
}
