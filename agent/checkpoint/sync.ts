import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { encryption } from '../container/artifacts.js';
import { checkpointFolder, checkpointOutcomeKey, type CheckpointOutcomeBody, type CheckpointOutcomeStatus, type RestoreInstruction } from '../../shared/protocol.js';
import { parseS3Uri } from '../../shared/s3uri.js';
import { CHECKPOINT_OVERDUE_VARIABLE, DEFAULT_CHECKPOINT_OVERDUE_SECONDS } from '../../shared/lifecycle/checkpointHealth.js';
import { checkpointId, type Manifest, type SyncTrigger } from './manifest.js';
import { restoreLatestUsable, type RestoredCheckpoint } from './restore.js';
import { applyRetention } from './retention.js';
import { DEFAULT_TRANSFER, type TransferSettings } from './settings.js';
import { fingerprint, removeSnapshot, takeSnapshot } from './snapshot.js';
import { compareWith, uploadCheckpoint } from './upload.js';

/**
 * The agent's checkpoints of one attempt: restore at the start, then each sync (periodic,
 * requested by the control plane, final) one after another, each reported to the control
 * bucket as an outcome — complete, failed, a final one started, or LocalPath still empty —
 * so that no checkpoint failure goes unseen.
 */
export interface CheckpointSettings {
  transfer: TransferSettings;
  /** Complete checkpoints kept in the job's folder; a job's Environment SPOT_TRAINING_CHECKPOINT_RETENTION overrides. */
  retention: number;
  /** LocalPath empty for longer than this is reported; a job's Environment SPOT_TRAINING_CHECKPOINT_EMPTY_SECONDS overrides. */
  emptyAfterMs: number;
  /** A final checkpoint's deadline is the notice's time less this. */
  finalMarginMs: number;
}

export const DEFAULT_CHECKPOINT_SETTINGS: CheckpointSettings = { transfer: DEFAULT_TRANSFER, retention: 3, emptyAfterMs: 30 * 60_000, finalMarginMs: 10_000 };
export const RETENTION_VARIABLE = 'SPOT_TRAINING_CHECKPOINT_RETENTION';
export const EMPTY_AFTER_VARIABLE = 'SPOT_TRAINING_CHECKPOINT_EMPTY_SECONDS';

export interface CheckpointerOptions {
  s3: S3Client;
  controlBucket: string;
  instruction: RestoreInstruction;
  instanceId: string;
  localPath: string;
  /** Only the first instance of an attempt checkpoints and reports. */
  leader: boolean;
  settings?: CheckpointSettings;
  say: (line: string) => Promise<void>;
  now?: () => number;
}

export interface SyncRequest {
  trigger: SyncTrigger;
  why: string;
  /** Epoch ms by which a final checkpoint should be complete. */
  deadline?: number;
}

const positive = (value: string | undefined) => (value !== undefined && Number.isFinite(Number(value)) && Number(value) > 0 ? Number(value) : undefined);

export class Checkpointer {
  private sequence = 0;
  private previous?: Manifest;
  private lastFingerprint = '';
  private emptySince?: number;
  /** When LocalPath last changed into something checkpointed (or was restored). */
  private unchangedSince: number;
  private readonly overdueMs: number;
  /** Bytes per second of the last sizeable upload: what a final checkpoint's estimate is based on. */
  private throughput?: number;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly settings: CheckpointSettings;
  private readonly now: () => number;
  private readonly target?: { bucket: string; jobFolder: string };

  constructor(private readonly options: CheckpointerOptions) {
    const base = options.settings ?? DEFAULT_CHECKPOINT_SETTINGS;
    const env = options.instruction.Environment;
    this.settings = {
      ...base,
      retention: Math.floor(positive(env[RETENTION_VARIABLE]) ?? base.retention),
      emptyAfterMs: (positive(env[EMPTY_AFTER_VARIABLE]) ?? base.emptyAfterMs / 1000) * 1000,
    };
    this.now = options.now ?? Date.now;
    this.unchangedSince = this.now();
    this.overdueMs = (positive(env[CHECKPOINT_OVERDUE_VARIABLE]) ?? DEFAULT_CHECKPOINT_OVERDUE_SECONDS) * 1000;
    const s3Uri = options.instruction.CheckpointS3Uri;
    if (s3Uri) {
      const { bucket, prefix } = parseS3Uri(s3Uri);
      this.target = { bucket, jobFolder: checkpointFolder(prefix, options.instruction.TrainingJobName, '').slice(0, -1) };
    }
  }

  get retention(): number {
    return this.settings.retention;
  }

  /** The deadline of a final checkpoint for a notice of the end at `endsAt`. */
  deadlineFor(endsAt: number): number {
    return endsAt - this.settings.finalMarginMs;
  }

  /** Restores the instruction's checkpoint (or the newest older one that is intact); undefined when there is none. */
  async restore(): Promise<RestoredCheckpoint | undefined> {
    const { instruction, localPath } = this.options;
    const named = instruction.Checkpoint;
    if (!named) {
      this.lastFingerprint = await fingerprint(localPath);
      return undefined;
    }
    const restored = await restoreLatestUsable(this.options.s3, named.ManifestUri, localPath, this.settings.transfer);
    for (const skipped of restored.skipped) await this.options.say(`checkpoint ${skipped.manifestUri} not restored: ${skipped.reason}`);
    // New checkpoints continue after the named one, even when an older one was restored.
    this.sequence = Math.max(named.Sequence, restored.manifest.Sequence);
    if (this.target && restored.manifestUri.startsWith(`s3://${this.target.bucket}/${this.target.jobFolder}`)) this.previous = restored.manifest;
    this.lastFingerprint = await fingerprint(localPath);
    return restored;
  }

  /** One sync, after the ones before it; its outcome is reported, its failure never thrown. */
  sync(request: SyncRequest): Promise<void> {
    const run = this.queue.then(() => this.syncNow(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async syncNow(request: SyncRequest): Promise<void> {
    const { options, target } = this;
    if (!options.leader || !target) return;
    const now = await fingerprint(options.localPath);
    if (now === '') {
      this.emptySince ??= this.now();
      if (request.trigger === 'periodic' && this.now() - this.emptySince >= this.settings.emptyAfterMs) {
        await this.report(this.sequence + 1, 'empty', { Trigger: request.trigger, StartTime: iso(this.now()), EmptySince: iso(this.emptySince) });
        await options.say(`checkpoint folder ${options.localPath} has been empty since ${iso(this.emptySince)}`);
      }
      return;
    }
    this.emptySince = undefined;
    if (now === this.lastFingerprint) {
      // Nothing changed: a final checkpoint is the last complete one, already in S3.
      if (request.trigger === 'final' && this.previous) await this.reportComplete(this.previous, request, this.now(), this.now(), 0);
      // The training script stopped writing checkpoints: said while it lasts, for the alarm.
      if (request.trigger === 'periodic' && this.now() - this.unchangedSince >= this.overdueMs) {
        await this.report(this.sequence + 1, 'stale', { Trigger: 'periodic', StartTime: iso(this.now()), UnchangedSince: iso(this.unchangedSince) });
      }
      return;
    }
    const sequence = ++this.sequence;
    const started = this.now();
    const snapshot = await takeSnapshot(options.localPath, `${options.localPath.replace(/\/$/, '')}.snapshot`);
    try {
      if (request.trigger === 'final') {
        const pending = compareWith(snapshot, this.previous).changed.reduce((sum, f) => sum + f.size, 0);
        await this.report(sequence, 'started', {
          Trigger: 'final',
          CheckpointId: checkpointId(sequence),
          StartTime: iso(started),
          UploadedBytes: 0,
          ...(request.deadline !== undefined ? { DeadlineTime: iso(request.deadline) } : {}),
          ...(this.throughput ? { EstimatedSeconds: Math.round((pending / this.throughput) * 10) / 10 } : {}),
        });
      }
      const result = await uploadCheckpoint({
        target: { s3: options.s3, ...target, encryption: encryption(options.instruction.OutputDataConfig ?? { S3OutputPath: options.instruction.OutputS3Uri }) },
        snapshot,
        sequence,
        ...(this.previous ? { previous: this.previous } : {}),
        attempt: options.instruction.Attempt,
        instanceId: options.instanceId,
        trigger: request.trigger,
        settings: this.settings.transfer,
      });
      const ended = this.now();
      this.previous = result.manifest;
      this.lastFingerprint = now;
      this.unchangedSince = ended;
      const uploaded = result.manifest.UploadedBytes;
      if (uploaded >= 8 * 1024 * 1024 && ended > started) this.throughput = uploaded / ((ended - started) / 1000);
      const late = request.deadline !== undefined && ended > request.deadline ? `, ${((ended - request.deadline) / 1000).toFixed(1)} s after its deadline` : '';
      await options.say(
        `checkpoint ${result.manifest.CheckpointId} uploaded (${result.manifest.Files.length} files, ${result.manifest.TotalBytes} bytes, ${uploaded} of them sent, ${result.reusedFiles} files unchanged${result.retakenFiles ? `, ${result.retakenFiles} rewritten while read and retaken` : ''}; ${request.why}) in ${((ended - started) / 1000).toFixed(1)} s${late}`,
      );
      await this.reportComplete(result.manifest, request, started, ended, uploaded);
      await this.retain(sequence);
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      await options.say(`checkpoint ${checkpointId(sequence)} failed (${request.why}): ${reason}`);
      await this.report(sequence, 'failed', {
        Trigger: request.trigger,
        CheckpointId: checkpointId(sequence),
        StartTime: iso(started),
        EndTime: iso(this.now()),
        Reason: reason.slice(0, 2048),
        ...(request.deadline !== undefined ? { DeadlineTime: iso(request.deadline) } : {}),
      });
    } finally {
      await removeSnapshot(snapshot);
    }
  }

  private async reportComplete(manifest: Manifest, request: SyncRequest, started: number, ended: number, uploaded: number): Promise<void> {
    const { target } = this;
    if (!target) return;
    await this.report(manifest.Sequence, 'complete', {
      Trigger: request.trigger,
      CheckpointId: manifest.CheckpointId,
      ManifestUri: `s3://${target.bucket}/${target.jobFolder}${manifest.CheckpointId}/manifest.json`,
      StartTime: iso(started),
      EndTime: iso(ended),
      SizeInBytes: manifest.TotalBytes,
      UploadedBytes: uploaded,
      FileCount: manifest.Files.length,
      ...(request.deadline !== undefined ? { DeadlineTime: iso(request.deadline) } : {}),
    });
  }

  private async retain(sequence: number): Promise<void> {
    const { target } = this;
    if (!target) return;
    try {
      const result = await applyRetention(this.options.s3, target.bucket, target.jobFolder, this.settings.retention, sequence);
      if (result.deletedCheckpoints.length || result.deletedObjects) {
        await this.options.say(`retention: kept ${result.kept.join(', ')}; deleted ${result.deletedCheckpoints.length} checkpoints, ${result.deletedObjects} objects`);
      }
    } catch (error) {
      // The checkpoint is complete; what could not be deleted now is deleted by a later sync.
      await this.options.say(`retention failed: ${String(error)}`);
    }
  }

  private async report(sequence: number, status: CheckpointOutcomeStatus, body: CheckpointOutcomeBody): Promise<void> {
    const { options } = this;
    try {
      await options.s3.send(
        new PutObjectCommand({
          Bucket: options.controlBucket,
          Key: checkpointOutcomeKey(options.instruction.TrainingJobName, options.instruction.Attempt, sequence, status),
          Body: JSON.stringify(body),
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      await options.say(`could not report checkpoint outcome ${status}: ${String(error)}`);
    }
  }
}

const iso = (t: number) => new Date(t).toISOString();
