import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  checkpointFolder,
  MANIFEST_NAME,
  parseRequestKey,
  parseRestoreKey,
  reportKey,
  requestsPrefix,
  restoreKey,
  restoresPrefix,
  type AgentPhase,
  type RestoreInstruction,
} from '../shared/protocol.js';
import { parseS3Uri } from '../shared/s3uri.js';
import { TRAINING_LOG_GROUP } from '../shared/trainingLogs.js';
import { TrainingLog } from '../agent/logs.js';
import type { Ec2Simulator } from './ec2Simulator.js';
import type { LocalCloudSettings } from './settings.js';
import { SpotTrainingError } from '../shared/errors.js';
import { AttemptMetrics } from '../agent/attemptMetrics.js';
import { DEFAULT_TRANSFER } from '../agent/checkpoint/settings.js';
import { channelObjects } from '../agent/container/channels.js';
import { DownloadProgressReport } from '../agent/downloadProgress.js';

/**
 * The local cloud's stand-in for the agent on a training instance: it speaks the agent's S3
 * protocol (protocol.ts) exactly, but "trains" by counting simulated seconds as steps.
 *
 * Per job, HyperParameters can shape the run: `sim_training_seconds` (length of training),
 * `sim_fail_exit_code` with `sim_fail_at_step` (the command fails there).
 *
 * Each step also prints a line of metrics, `metrics: step=<n> loss=<l> accuracy=<a>` (loss falls
 * and accuracy rises with the step), which the job's MetricDefinitions pick up as the real
 * agent's do: its final values reach the job record through the same reports.
 */
export interface SimulatedAgentsOptions {
  s3: S3Client;
  /** Where the MetricDefinitions' values go, as the real agent puts them; none: the reports only. */
  cloudwatch?: CloudWatchClient;
  /**
   * The training output goes to CloudWatch Logs as the real agent sends it (agent/logs.ts): group
   * /aws/sagemaker/TrainingJobs, stream <job>/algo-<host>-<epoch seconds>, shipped every second,
   * at every checkpoint and at the end.
   */
  logs: CloudWatchLogsClient;
  controlBucket: string;
  settings: LocalCloudSettings;
  simulator: Ec2Simulator;
  log?: (entry: Record<string, unknown>) => void;
}

const TAG_JOB = 'spot-training:job';
const TAG_ATTEMPT = 'spot-training:attempt';

class AgentStopped extends SpotTrainingError {
  constructor(
    message: string,
    /** The instance is stopping or shutting down (the agent gets SIGTERM), not gone or closed. */
    readonly shuttingDown = false,
  ) {
    super(message);
  }
}

export class SimulatedAgents {
  private readonly running = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: SimulatedAgentsOptions) {}

  /** The instance booted: start its agent (once per boot). */
  instanceRunning(instanceId: string): void {
    if (this.closed || this.running.has(instanceId)) return;
    const instance = this.options.simulator.instance(instanceId);
    const job = instance?.tags[TAG_JOB];
    if (!instance || !job) return;
    const run = this.run(instanceId, job, Number(instance.tags[TAG_ATTEMPT] ?? 1))
      .catch((error: unknown) => {
        if (!(error instanceof AgentStopped)) this.log({ level: 'error', msg: 'simulated agent failed', instanceId, error: String(error) });
      })
      .finally(() => this.running.delete(instanceId));
    this.running.set(instanceId, run);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running.values()]);
  }

  private log(entry: Record<string, unknown>): void {
    this.options.log?.(entry);
  }

  private get tickMs(): number {
    return Math.max(5, 1000 / this.options.settings.timeScale);
  }

  /** One simulated second; stops the agent when its instance is no longer running. */
  private async tick(instanceId: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.tickMs));
    const state = this.options.simulator.instance(instanceId)?.state;
    if (this.closed || state !== 'running') throw new AgentStopped(`instance ${instanceId} is ${state ?? 'gone'}`, !this.closed && (state === 'shutting-down' || state === 'stopping'));
  }

  private async run(instanceId: string, job: string, launchedAttempt: number): Promise<void> {
    const restore = await this.awaitRestore(instanceId, job, launchedAttempt);
    const attempt = restore.Attempt;
    const leader = restore.InstanceIds[0] === instanceId;
    const type = this.options.simulator.instance(instanceId)?.instanceType ?? '';
    const world = this.options.settings.instanceTypes[type];
    if (!world) throw new Error(`no simulated behaviour for instance type ${type}`);
    const log = new TrainingLog({ client: this.options.logs, group: TRAINING_LOG_GROUP, jobName: job, host: restore.InstanceIds.indexOf(instanceId) + 1 });
    const metrics = new AttemptMetrics({ restore, instanceId, leader, s3: this.options.s3, controlBucket: this.options.controlBucket, ...(this.options.cloudwatch ? { cloudwatch: this.options.cloudwatch } : {}) });
    const say = async (line: string) => {
      metrics.line(line);
      log.line(line);
    };
    // A failed shipment is logged and never stops training; the lines wait for the next one.
    const shipLog = () => {
      void metrics.flush();
      return log.flush().catch((error: unknown) => this.log({ level: 'warn', msg: 'simulated agent could not ship its log', instanceId, error: String(error) }));
    };
    const shipper = setInterval(() => void shipLog(), 1000);
    try {
      await this.train(instanceId, job, restore, leader, world, say, shipLog, metrics);
    } finally {
      // Also when the instance went away mid-step: what was written is kept, as the real agent ships it on SIGTERM.
      clearInterval(shipper);
      await shipLog();
    }
  }

  private async train(
    instanceId: string,
    job: string,
    restore: RestoreInstruction,
    leader: boolean,
    world: NonNullable<LocalCloudSettings['instanceTypes'][string]>,
    say: (line: string) => Promise<void>,
    shipLog: () => Promise<void>,
    metrics: AttemptMetrics,
  ): Promise<void> {
    const { s3, controlBucket } = this.options;
    const attempt = restore.Attempt;
    const report = async (phase: AgentPhase, body: Record<string, unknown> = {}) => {
      if (!leader) return;
      await s3.send(
        new PutObjectCommand({
          Bucket: controlBucket,
          Key: reportKey(job, attempt, phase),
          Body: JSON.stringify({ Time: new Date().toISOString(), InstanceId: instanceId, ...metrics.reportBody(), ...body }),
        }),
      );
    };

    // Downloading: restore the latest complete checkpoint named by the control plane.
    let step = 0;
    if (restore.Checkpoint) {
      const manifest = await this.readJson(restore.Checkpoint.ManifestUri);
      step = Number(manifest.Step ?? 0);
      await say(`restored checkpoint ${restore.Checkpoint.Id} at step ${step}`);
    } else {
      await say('no checkpoint to restore; starting from step 0');
    }
    await shipLog();
    // The job's input channels, listed as the agent lists them, "arrive" evenly over the download
    // time; the leader reports how far it has come, as the agent does, every five seconds.
    const input = leader && restore.InputDataConfig?.length
      ? await channelObjects({ s3, channels: restore.InputDataConfig, hostIndex: 0, hostCount: restore.InstanceIds.length, transfer: DEFAULT_TRANSFER }).catch(async (error: unknown) => {
          await say(`input data not listed: ${String(error)}`);
          return [];
        })
      : [];
    const progress = input.length
      ? new DownloadProgressReport({ s3, controlBucket, jobName: job, attempt, intervalMs: 5 * this.tickMs, say })
      : undefined;
    const totalBytes = input.reduce((n, o) => n + o.size, 0);
    for (let s = 0; s < world.downloadSeconds; s++) {
      await this.tick(instanceId);
      const files = Math.floor((input.length * (s + 1)) / world.downloadSeconds);
      progress?.update({ files, totalFiles: input.length, bytes: input.slice(0, files).reduce((n, o) => n + o.size, 0), totalBytes });
    }
    await progress?.finish();
    await report('downloaded');

    // Training: a step per simulated second, checkpoints every so often and when asked.
    const hyper = restore.HyperParameters;
    const totalSteps = Number(hyper.sim_training_seconds ?? world.trainingSeconds);
    const failAt = hyper.sim_fail_exit_code === undefined ? undefined : Number(hyper.sim_fail_at_step ?? 1);
    const seen = new Set<string>();
    let lastCheckpoint = step;
    while (step < totalSteps) {
      await this.tick(instanceId).catch(async (error: unknown) => {
        // The OS shutting down sends the agent SIGTERM: as the real agent does, the leader takes
        // a final checkpoint and reports the attempt's final metric values before it goes.
        if (error instanceof AgentStopped && error.shuttingDown && leader) {
          if (step > lastCheckpoint) await this.checkpoint(restore, step, say).catch(() => undefined);
          await metrics.reportEnded().catch(() => undefined);
        }
        throw error;
      });
      step += 1;
      await say(`step ${step}/${totalSteps}`);
      await say(simulatedMetrics(step));
      if (failAt !== undefined && step >= failAt) {
        await say(`training failed at step ${step}`);
        await shipLog();
        await report('failed', { ExitCode: Number(hyper.sim_fail_exit_code), Reason: `simulated failure at step ${step}` });
        return;
      }
      const requests = leader ? await this.newRequests(job, attempt, seen) : [];
      // On an interruption the instance is going away: a final checkpoint, then training stops.
      const stop = requests.some((key) => {
        const request = parseRequestKey(key);
        return request.ok && request.value.kind !== 'checkpoint';
      });
      if (leader && (stop || requests.length || step - lastCheckpoint >= world.checkpointEverySeconds)) {
        await this.checkpoint(restore, step, say);
        lastCheckpoint = step;
        await shipLog();
      } else if (!leader && step - lastCheckpoint >= world.checkpointEverySeconds) {
        lastCheckpoint = step;
        await shipLog();
      }
      if (stop) {
        await say('stop or interruption: final checkpoint written, training stopped');
        await metrics.reportEnded();
        return;
      }
    }

    // Uploading, then done.
    await report('uploading');
    for (let s = 0; s < world.uploadSeconds; s++) await this.tick(instanceId);
    if (leader) {
      const output = parseS3Uri(restore.OutputS3Uri);
      await s3.send(new PutObjectCommand({ Bucket: output.bucket, Key: `${output.prefix}${job}/output/model.tar.gz`, Body: `model of ${job} after ${step} steps` }));
    }
    await say(`training completed after ${step} steps`);
    await shipLog();
    await report('completed');
  }

  /** The newest restore instruction that names this instance; a returning instance finds its new attempt's. */
  private async awaitRestore(instanceId: string, job: string, launchedAttempt: number): Promise<RestoreInstruction> {
    for (;;) {
      const listed = await this.options.s3.send(
        new ListObjectsV2Command({ Bucket: this.options.controlBucket, Prefix: restoresPrefix(job) }),
      );
      const attempts = (listed.Contents ?? [])
        .map((o) => parseRestoreKey(o.Key ?? ''))
        .flatMap((parsed) => (parsed.ok ? [parsed.value.attempt] : []))
        .filter((n) => n >= launchedAttempt)
        .sort((a, b) => b - a);
      for (const attempt of attempts) {
        const instruction = (await this.readJson(`s3://${this.options.controlBucket}/${restoreKey(job, attempt)}`)) as unknown as RestoreInstruction;
        // Per instance: every instance of a multi-instance attempt runs it once.
        const run = `${instanceId}/${job}/${attempt}`;
        if (instruction.InstanceIds.includes(instanceId) && !this.finished.has(run)) {
          this.finished.add(run);
          return instruction;
        }
      }
      await this.tick(instanceId);
    }
  }

  /** Attempts each instance already ran (`<instance>/<job>/<attempt>`), so that a reboot does not rerun one. */
  private readonly finished = new Set<string>();

  private async newRequests(job: string, attempt: number, seen: Set<string>): Promise<string[]> {
    const listed = await this.options.s3.send(new ListObjectsV2Command({ Bucket: this.options.controlBucket, Prefix: requestsPrefix(job, attempt) }));
    const fresh = (listed.Contents ?? []).map((o) => o.Key ?? '').filter((key) => key && !seen.has(key));
    for (const key of fresh) seen.add(key);
    return fresh;
  }

  /** Data files first, the manifest last: a checkpoint cut off halfway has no manifest. */
  private async checkpoint(restore: RestoreInstruction, step: number, say: (line: string) => Promise<void>): Promise<void> {
    if (!restore.CheckpointS3Uri) return;
    const { bucket, prefix } = parseS3Uri(restore.CheckpointS3Uri);
    const folder = checkpointFolder(prefix, restore.TrainingJobName, `step=${step}`);
    const data = `weights at step ${step}`;
    await this.options.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}model.ckpt`, Body: data }));
    const manifest = { Step: step, Files: [{ Path: 'model.ckpt', Size: Buffer.byteLength(data) }], CreatedAt: new Date().toISOString() };
    await this.options.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}${MANIFEST_NAME}`, Body: JSON.stringify(manifest) }));
    await say(`checkpoint step=${step} uploaded`);
  }

  private async readJson(uri: string): Promise<Record<string, unknown>> {
    const { bucket, prefix } = parseS3Uri(uri);
    const object = await this.options.s3.send(new GetObjectCommand({ Bucket: bucket, Key: prefix.replace(/\/$/, '') }));
    return JSON.parse((await object.Body?.transformToString()) ?? '{}') as Record<string, unknown>;
  }
}

/** A training curve: loss falls from 2 towards 0, accuracy rises from 0 towards 1. */
export function simulatedMetrics(step: number): string {
  const loss = 2 / (1 + 0.1 * step);
  return `metrics: step=${step} loss=${loss.toFixed(4)} accuracy=${(1 - loss / 2).toFixed(4)}`;
}
