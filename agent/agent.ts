import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseRequestKey, parseRestoreKey, reportKey, requestsPrefix, restoreKey, restoresPrefix, type AgentPhase, type RestoreInstruction } from '../shared/protocol.js';
import { parseS3Uri } from '../shared/s3uri.js';
import { Upload } from '@aws-sdk/lib-storage';
import { DEFAULT_TRANSFER } from './checkpoint/settings.js';
import { Checkpointer, type CheckpointSettings, type SyncRequest } from './checkpoint/sync.js';
import type { Imds } from './imds.js';
import { TrainingLog } from './logs.js';

/**
 * The agent on a training instance. It finds its attempt's restore instruction in the control
 * bucket, restores the latest complete checkpoint into LocalPath, runs the training command,
 * syncs LocalPath to CheckpointConfig.S3Uri periodically and whenever asked, watches for the
 * end (a control request, the spot notice in instance metadata, SIGTERM from the OS), and
 * reports each phase back. See the README ("The agent") for what a training script can rely on.
 */
export interface AgentConfig {
  jobName: string;
  /** The attempt the instance was launched for; a stopped instance that returns serves a later one. */
  launchedAttempt: number;
  controlBucket: string;
  s3: S3Client;
  imds: Imds;
  /** Prefix for the paths the job names (LocalPath, /opt/ml): `/` on an instance, a folder in tests. */
  root: string;
  pollIntervalMs: number;
  syncIntervalMs: number;
  /** How long the training process has to exit after SIGTERM before it is killed. */
  stopGraceMs: number;
  /** Training output goes to this CloudWatch Logs group (agent/logs.ts). */
  logs: { client: CloudWatchLogsClient; group: string };
  /** Part size, concurrency, retention, deadlines of checkpoints; defaults in agent/checkpoint/sync.ts. */
  checkpoints?: CheckpointSettings;
  print?: (line: string) => void;
}

/** How the attempt ends; `endsAt`: when the instance goes (an interruption notice's time), which the final checkpoint races. */
type Ending = { kind: 'interrupted'; source: string; endsAt?: number } | { kind: 'stopped'; source: string };

/** EC2 gives two minutes between the interruption warning and the instance's end. */
const SPOT_NOTICE_MS = 120_000;

export class Agent {
  private training?: ChildProcess;
  private ending?: Ending;
  private readonly seenRequests = new Set<string>();

  constructor(private readonly config: AgentConfig) {}

  private path(p: string): string {
    return join(this.config.root, p);
  }

  /** Runs one attempt to its end; resolves with the process exit code the agent should have. */
  async run(): Promise<number> {
    const { config } = this;
    const instanceId = await config.imds.instanceId();
    const restore = await this.awaitRestore(instanceId);
    const attempt = restore.Attempt;
    const leader = restore.InstanceIds[0] === instanceId;
    const log = new TrainingLog({ ...config.logs, jobName: config.jobName, host: restore.InstanceIds.indexOf(instanceId) + 1, ...(config.print ? { print: config.print } : {}) });
    const say = async (text: string) => log.line(`[agent] ${text}`);
    const report = async (phase: AgentPhase, body: Record<string, unknown> = {}) => {
      if (!leader) return;
      await config.s3.send(
        new PutObjectCommand({
          Bucket: config.controlBucket,
          Key: reportKey(config.jobName, attempt, phase),
          Body: JSON.stringify({ Time: new Date().toISOString(), InstanceId: instanceId, ...body }),
          ContentType: 'application/json',
        }),
      );
    };
    const localPath = this.path(restore.CheckpointLocalPath ?? '/opt/ml/checkpoints');
    const modelDir = this.path('/opt/ml/model');
    await mkdir(localPath, { recursive: true });
    await mkdir(modelDir, { recursive: true });

    const checkpoints = new Checkpointer({
      s3: config.s3,
      controlBucket: config.controlBucket,
      instruction: restore,
      instanceId,
      localPath,
      leader,
      ...(config.checkpoints ? { settings: config.checkpoints } : {}),
      say,
    });
    // Downloading: the latest complete checkpoint (or, if it is damaged, the newest intact one before it).
    if (restore.Checkpoint) {
      try {
        const restored = await checkpoints.restore();
        const manifest = restored?.manifest;
        await say(
          `restored checkpoint ${manifest?.CheckpointId} (${manifest?.Files.length} files, ${restored?.bytes} bytes in ${((restored?.durationMs ?? 0) / 1000).toFixed(1)} s) into ${restore.CheckpointLocalPath}`,
        );
      } catch (error) {
        await say(`restoring checkpoint ${restore.Checkpoint.Id} failed: ${String(error)}`);
        await report('failed', { Reason: `CheckpointRestoreError: ${error instanceof Error ? error.message : String(error)}` });
        await log.flush().catch(() => undefined);
        return 1;
      }
    } else {
      await checkpoints.restore();
      await say('no checkpoint to restore: starting from scratch');
    }
    await report('downloaded');

    // Training.
    const sync = (request: SyncRequest) => checkpoints.sync(request);
    const exit = this.startTraining(restore, instanceId, localPath, modelDir, log);
    let ended: Promise<void> | undefined;
    const end = (ending: Ending): Promise<void> => {
      ended ??= (async () => {
        this.ending = ending;
        await say(`${ending.kind === 'interrupted' ? 'spot interruption' : 'stop requested'} (${ending.source}): stopping training for a final checkpoint`);
        this.training?.kill('SIGTERM');
        const killer = setTimeout(() => this.training?.kill('SIGKILL'), config.stopGraceMs);
        await exit;
        clearTimeout(killer);
        const deadline = ending.kind === 'interrupted' && ending.endsAt !== undefined ? checkpoints.deadlineFor(ending.endsAt) : undefined;
        await sync({ trigger: 'final', why: `final, ${ending.kind}`, ...(deadline !== undefined ? { deadline } : {}) }).catch((error: unknown) =>
          say(`final checkpoint failed: ${String(error)}`),
        );
      })();
      return ended;
    };
    const onSignal = () => void end({ kind: 'stopped', source: 'SIGTERM' });
    process.once('SIGTERM', onSignal);
    const watcher = setInterval(() => {
      void this.watch(attempt, sync, end).catch((error: unknown) => say(`watch failed: ${String(error)}`));
    }, config.pollIntervalMs);
    // Once the attempt is ending, only the final checkpoint is taken.
    const syncer = setInterval(() => void (this.ending ? Promise.resolve() : sync({ trigger: 'periodic', why: 'periodic' })).catch((error: unknown) => say(`checkpoint failed: ${String(error)}`)), config.syncIntervalMs);
    const flusher = setInterval(() => void log.flush().catch(() => undefined), Math.max(1000, config.pollIntervalMs));
    const code = await exit;
    clearInterval(syncer);
    // An ending under way finishes its final checkpoint before anything else.
    if (ended) await ended;
    clearInterval(watcher);
    clearInterval(flusher);
    process.removeListener('SIGTERM', onSignal);

    try {
      await this.markDone(attempt);
      if (this.ending) {
        await say(`attempt ${attempt} ended: ${this.ending.kind}`);
        return 0;
      }
      if (code !== 0) {
        await say(`training command exited with code ${code}`);
        await report('failed', { ExitCode: code, Reason: log.lastLines() });
        return 1;
      }
      await report('uploading');
      await this.uploadModel(restore, modelDir);
      await say('model uploaded; training job completed');
      await report('completed');
      return 0;
    } finally {
      await log.flush().catch(() => undefined);
    }
  }

  /** The control plane's requests and the instance metadata's spot notice; the first of the two wins. */
  private async watch(attempt: number, sync: (request: SyncRequest) => Promise<void>, end: (ending: Ending) => Promise<void>): Promise<void> {
    const { config } = this;
    const listed = await config.s3.send(new ListObjectsV2Command({ Bucket: config.controlBucket, Prefix: requestsPrefix(config.jobName, attempt) }));
    for (const key of (listed.Contents ?? []).map((o) => o.Key ?? '').sort()) {
      if (!key || this.seenRequests.has(key)) continue;
      this.seenRequests.add(key);
      const request = parseRequestKey(key);
      if (!request.ok) continue;
      if (request.value.kind === 'stop') void end({ kind: 'stopped', source: 'control request' });
      // The request carries the time the warning was handled: the notice runs from about then.
      else if (request.value.kind === 'interrupt') void end({ kind: 'interrupted', source: 'control request', endsAt: request.value.time + SPOT_NOTICE_MS });
      else await sync({ trigger: 'requested', why: `requested at ${new Date(request.value.time).toISOString()}` });
    }
    const notice = await config.imds.spotInstanceAction().catch(() => undefined);
    if (notice) {
      const endsAt = Date.parse(notice.time);
      void end({ kind: 'interrupted', source: `instance metadata: ${notice.action} at ${notice.time}`, ...(Number.isFinite(endsAt) ? { endsAt } : {}) });
    }
  }

  private startTraining(restore: RestoreInstruction, instanceId: string, localPath: string, modelDir: string, log: TrainingLog): Promise<number> {
    const hosts = restore.InstanceIds;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...restore.Environment,
      // SageMaker's names, so scripts written for SageMaker find their way.
      SM_MODEL_DIR: modelDir,
      SM_OUTPUT_DATA_DIR: this.path('/opt/ml/output/data'),
      SM_CHECKPOINT_DIR: localPath,
      SM_HPS: JSON.stringify(restore.HyperParameters),
      SM_CURRENT_HOST: instanceId,
      SM_HOSTS: JSON.stringify(hosts),
      SM_NUM_HOSTS: String(hosts.length),
      SPOT_TRAINING_JOB: restore.TrainingJobName,
      SPOT_TRAINING_ATTEMPT: String(restore.Attempt),
      SPOT_TRAINING_CHECKPOINT_DIR: localPath,
      ...(restore.Checkpoint ? { SPOT_TRAINING_RESTORED_CHECKPOINT: restore.Checkpoint.Id } : {}),
    };
    for (const [k, v] of Object.entries(restore.HyperParameters)) env[`SM_HP_${k.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = v;
    const [command, ...args] = restore.Command.length
      ? restore.Command
      : ['docker', 'run', '--rm', '--network', 'host', '-v', `${localPath}:${localPath}`, '-v', `${modelDir}:/opt/ml/model`, ...Object.keys(env).filter((k) => k.startsWith('SM_') || k.startsWith('SPOT_TRAINING_')).flatMap((k) => ['-e', k]), restore.TrainingImage ?? ''];
    const child = spawn(command ?? 'true', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.training = child;
    const forward = (stream: NodeJS.ReadableStream | null) => {
      let rest = '';
      stream?.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) void log.line(line);
      });
      stream?.on('end', () => rest && void log.line(rest));
    };
    forward(child.stdout);
    forward(child.stderr);
    return new Promise((resolve) => {
      child.on('error', (error) => {
        void log.line(`[agent] cannot start ${command}: ${error.message}`);
        resolve(127);
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
  }

  /** `SM_MODEL_DIR` as model.tar.gz: tar's output streamed into a multipart upload, never on disk or whole in memory. */
  private async uploadModel(restore: RestoreInstruction, modelDir: string): Promise<void> {
    const tar = spawn('tar', ['-cz', '-C', modelDir, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-1024)));
    const exited = new Promise<number>((resolve) => {
      tar.on('exit', (c) => resolve(c ?? 1));
      tar.on('error', () => resolve(127));
    });
    const output = parseS3Uri(restore.OutputS3Uri);
    const transfer = this.config.checkpoints?.transfer ?? DEFAULT_TRANSFER;
    const upload = new Upload({
      client: this.config.s3,
      params: { Bucket: output.bucket, Key: `${output.prefix}${restore.TrainingJobName}/output/model.tar.gz`, Body: tar.stdout, ChecksumAlgorithm: 'SHA256' },
      partSize: transfer.partSizeBytes,
      queueSize: transfer.partConcurrency,
    });
    const [code] = await Promise.all([exited, upload.done()]);
    if (code !== 0) throw new Error(`tar of ${modelDir} failed with code ${code}: ${stderr.trim()}`);
  }

  /** Attempts this instance has run, kept on its disk: a stopped instance that returns must not run one again. */
  private get doneFile(): string {
    return this.path(`/var/lib/spot-training/${this.config.jobName}.attempts-done`);
  }

  private async markDone(attempt: number): Promise<void> {
    await mkdir(dirname(this.doneFile), { recursive: true });
    await appendFile(this.doneFile, `${attempt}\n`);
  }

  /** The newest restore instruction naming this instance: a returning instance serves its new attempt. */
  private async awaitRestore(instanceId: string): Promise<RestoreInstruction> {
    const { config } = this;
    const done = new Set((await readFile(this.doneFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number));
    for (;;) {
      const listed = await config.s3.send(new ListObjectsV2Command({ Bucket: config.controlBucket, Prefix: restoresPrefix(config.jobName) }));
      const attempts = (listed.Contents ?? [])
        .map((o) => parseRestoreKey(o.Key ?? ''))
        .flatMap((parsed) => (parsed.ok ? [parsed.value.attempt] : []))
        .filter((n) => n >= config.launchedAttempt && !done.has(n))
        .sort((a, b) => b - a);
      for (const attempt of attempts) {
        const object = await config.s3.send(new GetObjectCommand({ Bucket: config.controlBucket, Key: restoreKey(config.jobName, attempt) }));
        const instruction = JSON.parse((await object.Body?.transformToString()) ?? '{}') as RestoreInstruction;
        if (instruction.InstanceIds?.includes(instanceId)) return instruction;
      }
      await new Promise((r) => setTimeout(r, config.pollIntervalMs));
    }
  }
}
