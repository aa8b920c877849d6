import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseRequestKey, parseRestoreKey, reportKey, requestsPrefix, restoreKey, restoresPrefix, type AgentPhase, type RestoreInstruction } from '../shared/protocol.js';
import { DownloadProgressReport } from './downloadProgress.js';
import { DEFAULT_TRANSFER, type TransferSettings } from './checkpoint/settings.js';
import { Checkpointer, type CheckpointSettings, type SyncRequest } from './checkpoint/sync.js';
import { failureReason, uploadModel, uploadOutputData } from './container/artifacts.js';
import { downloadChannels } from './container/channels.js';
import { pullImage, type Run } from './container/ecrLogin.js';
import { TensorBoardSync } from './container/tensorBoard.js';
import { detectHardware, type Hardware } from './container/hardware.js';
import { prepareWorkspace, trainingCommand, workspaceOf, type ContainerRuntime, type TrainingCommand, type Workspace } from './container/runner.js';
import type { Imds } from './imds.js';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { AttemptMetrics } from './attemptMetrics.js';
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
  /** How long the training process has to exit after SIGTERM before it is killed (SageMaker: 120 s). */
  stopGraceMs: number;
  /** The same at a spot interruption, which leaves two minutes in all for it and the final checkpoint. */
  interruptGraceMs?: number;
  /** The training image in a container, or the job's ContainerEntrypoint as a process (agent/container/runner.ts). */
  runtime: ContainerRuntime;
  region: string;
  /** CPUs and GPUs as the instance has them; found with nvidia-smi when not given. */
  hardware?: Hardware;
  /** The private addresses of the attempt's instances (algo-<n>), for a container on several instances. */
  hostAddresses?: (instanceIds: string[]) => Promise<Map<string, string>>;
  /** Pulls the training image (ECR login first); docker's own by default. */
  pullImage?: (image: string) => Promise<void>;
  /** Training output goes to this CloudWatch Logs group (agent/logs.ts). */
  logs: { client: CloudWatchLogsClient; group: string };
  /** Part size, concurrency, retention, deadlines of checkpoints; defaults in agent/checkpoint/sync.ts. */
  checkpoints?: CheckpointSettings;
  /** Where MetricDefinitions' values go besides the reports; none: reports only. */
  cloudwatch?: CloudWatchClient;
  print?: (line: string) => void;
}

/** How the attempt ends; `endsAt`: when the instance goes (an interruption notice's time), which the final checkpoint races. */
type Ending = { kind: 'interrupted'; source: string; endsAt?: number } | { kind: 'stopped'; source: string };

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Runs a command to its end, its input from `stdin`, keeping the end of its output for errors. */
const runQuietly: Run = (file, args, stdin) =>
  new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2048));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => resolve({ code: 127, output: error.message }));
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
    child.stdin.end(stdin ?? '');
  });

/** EC2 gives two minutes between the interruption warning and the instance's end. */
const SPOT_NOTICE_MS = 120_000;

export class Agent {
  private training?: ChildProcess;
  private ending?: Ending;
  private readonly seenRequests = new Set<string>();
  private metrics?: AttemptMetrics;

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
    const hostIndex = Math.max(0, restore.InstanceIds.indexOf(instanceId));
    const log = new TrainingLog({ ...config.logs, jobName: config.jobName, host: hostIndex + 1, ...(config.print ? { print: config.print } : {}) });
    const say = async (text: string) => log.line(`[agent] ${text}`);
    const metrics = (this.metrics = new AttemptMetrics({ restore, instanceId, leader, s3: config.s3, controlBucket: config.controlBucket, ...(config.cloudwatch ? { cloudwatch: config.cloudwatch } : {}), say }));
    const report = async (phase: AgentPhase, body: Record<string, unknown> = {}) => {
      if (!leader) return;
      await config.s3.send(
        new PutObjectCommand({
          Bucket: config.controlBucket,
          Key: reportKey(config.jobName, attempt, phase),
          Body: JSON.stringify({ Time: new Date().toISOString(), InstanceId: instanceId, ...metrics.reportBody(), ...body }),
          ContentType: 'application/json',
        }),
      );
    };
    const fail = async (reason: string, exitCode?: number) => {
      await say(reason);
      await report('failed', { Reason: reason, ...(exitCode !== undefined ? { ExitCode: exitCode } : {}) });
      await log.flush().catch(() => undefined);
      return 1;
    };

    // The training contract: /opt/ml as SageMaker lays it out, the config files, the environment.
    const workspace = workspaceOf(config.root, restore);
    const transfer = config.checkpoints?.transfer ?? DEFAULT_TRANSFER;
    let command: TrainingCommand;
    try {
      const hosts = config.runtime === 'docker' && restore.InstanceIds.length > 1 && config.hostAddresses ? await config.hostAddresses(restore.InstanceIds) : undefined;
      command = trainingCommand({
        ...(hosts ? { hosts } : {}),
        runtime: config.runtime,
        instruction: restore,
        instanceId,
        workspace,
        hardware: config.hardware ?? (await detectHardware()),
        region: config.region,
        baseEnv: process.env as Record<string, string>,
      });
      await prepareWorkspace(workspace, command.contract);
    } catch (error) {
      return fail(`ClientError: ${error instanceof Error ? error.message : String(error)}`);
    }
    await say(`${command.contract.currentHost} of ${command.contract.hosts.length} (${instanceId}), attempt ${attempt}`);

    const checkpoints = new Checkpointer({
      s3: config.s3,
      controlBucket: config.controlBucket,
      instruction: restore,
      instanceId,
      localPath: workspace.checkpointFolder,
      leader,
      ...(config.checkpoints ? { settings: config.checkpoints } : {}),
      say,
    });
    // Downloading: the latest complete checkpoint (or, if it is damaged, the newest intact one
    // before it) and the input channels, side by side.
    const restoring = (async () => {
      if (!restore.Checkpoint) {
        await checkpoints.restore();
        await say('no checkpoint to restore: starting from scratch');
        return;
      }
      try {
        const restored = await checkpoints.restore();
        const manifest = restored?.manifest;
        await say(
          `restored checkpoint ${manifest?.CheckpointId} (${manifest?.Files.length} files, ${restored?.bytes} bytes in ${((restored?.durationMs ?? 0) / 1000).toFixed(1)} s) into ${restore.CheckpointLocalPath}`,
        );
      } catch (error) {
        throw new Error(`CheckpointRestoreError: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    })();
    const downloading = this.downloadChannels(restore, hostIndex, workspace, transfer, say, leader);
    const [restored, downloaded] = await Promise.allSettled([restoring, downloading]);
    for (const outcome of [restored, downloaded]) {
      if (outcome.status === 'rejected') return fail(outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason));
    }
    await report('downloaded');

    // Training.
    const image = restore.AlgorithmSpecification?.TrainingImage ?? restore.TrainingImage;
    if (config.runtime === 'docker' && image) {
      try {
        await say(`pulling ${image}`);
        await (config.pullImage ?? ((name: string) => pullImage(name, runQuietly)))(image);
      } catch (error) {
        return fail(`ClientError: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const tensorBoard =
      restore.TensorBoardOutputConfig && workspace.tensorBoardFolder && leader
        ? new TensorBoardSync(config.s3, workspace.tensorBoardFolder, restore.TensorBoardOutputConfig, restore.TrainingJobName, restore.OutputDataConfig ?? { S3OutputPath: restore.OutputS3Uri }, transfer)
        : undefined;
    const sync = async (request: SyncRequest) => {
      await Promise.all([checkpoints.sync(request), tensorBoard?.sync().catch((error: unknown) => say(`TensorBoard output not copied: ${String(error)}`))]);
    };
    const exit = this.startTraining(command, log);
    let ended: Promise<void> | undefined;
    const end = (ending: Ending): Promise<void> => {
      ended ??= (async () => {
        this.ending = ending;
        await say(`${ending.kind === 'interrupted' ? 'spot interruption' : 'stop requested'} (${ending.source}): stopping training for a final checkpoint`);
        this.training?.kill('SIGTERM');
        // A stopped job's container has SageMaker's 120 seconds; an interrupted one less, so that the final checkpoint makes it.
        const grace = ending.kind === 'stopped' ? config.stopGraceMs : Math.min(config.stopGraceMs, config.interruptGraceMs ?? config.stopGraceMs);
        const killer = setTimeout(() => this.training?.kill('SIGKILL'), grace);
        await exit;
        clearTimeout(killer);
        await metrics.reportEnded().catch((error: unknown) => say(`metrics report failed: ${String(error)}`));
        const deadline = ending.kind === 'interrupted' && ending.endsAt !== undefined ? checkpoints.deadlineFor(ending.endsAt) : undefined;
        const finalCheckpoint = sync({ trigger: 'final', why: `final, ${ending.kind}`, ...(deadline !== undefined ? { deadline } : {}) }).catch((error: unknown) =>
          say(`final checkpoint failed: ${String(error)}`),
        );
        // As SageMaker does, a stopped job (by request or at MaxRuntime) still delivers its model.
        const artifacts = ending.kind === 'stopped' && leader ? this.uploadArtifacts(restore, workspace, transfer, say).catch((error: unknown) => say(`model upload failed: ${String(error)}`)) : undefined;
        await Promise.all([finalCheckpoint, artifacts]);
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
    const flusher = setInterval(() => void Promise.all([log.flush().catch(() => undefined), metrics.flush()]), Math.max(1000, config.pollIntervalMs));
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
        // SageMaker's FailureReason is what the algorithm wrote to /opt/ml/output/failure, else the end of its output.
        const written = await failureReason(workspace.failureFile);
        await say(`training command exited with code ${code}`);
        await report('failed', { ExitCode: code, Reason: written ?? log.lastLines() });
        return 1;
      }
      await report('uploading');
      await tensorBoard?.sync();
      if (leader) await this.uploadArtifacts(restore, workspace, transfer, say);
      await say('model uploaded; training job completed');
      await report('completed');
      return 0;
    } finally {
      await Promise.all([log.flush().catch(() => undefined), metrics.flush()]);
    }
  }

  /** File-mode channels into /opt/ml/input/data/<channel>, with progress in the log every few seconds. */
  private async downloadChannels(restore: RestoreInstruction, hostIndex: number, workspace: Workspace, transfer: TransferSettings, say: (text: string) => Promise<void>, leader: boolean): Promise<void> {
    const channels = restore.InputDataConfig ?? [];
    if (!channels.length) return;
    let lastSaid = 0;
    // The leader's progress is the job's: its Downloading StatusMessage says how much is left.
    const { s3, controlBucket, jobName, pollIntervalMs } = this.config;
    const progress = leader ? new DownloadProgressReport({ s3, controlBucket, jobName, attempt: restore.Attempt, intervalMs: pollIntervalMs, say }) : undefined;
    const result = await downloadChannels({
      s3,
      channels,
      hostIndex,
      hostCount: restore.ResourceConfig?.InstanceCount ?? restore.InstanceIds.length,
      channelDir: workspace.channelFolder,
      stateFile: this.path(`/var/lib/spot-training/${this.config.jobName}.channels.json`),
      transfer,
      onProgress: (p) => {
        progress?.update(p);
        if (Date.now() - lastSaid < 5000 || p.files === p.totalFiles) return;
        lastSaid = Date.now();
        void say(`downloading input data: ${p.files} of ${p.totalFiles} files, ${mib(p.bytes)} of ${mib(p.totalBytes)} MiB`);
      },
    }).catch((error: unknown) => {
      throw new Error(`ClientError: Data download failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    await progress?.finish();
    await say(
      `input data downloaded: ${result.totalFiles} files, ${mib(result.totalBytes)} MiB in ${(result.durationMs / 1000).toFixed(1)} s` +
        (result.keptFiles ? ` (${result.keptFiles} already on this instance)` : ''),
    );
  }

  /** /opt/ml/model and /opt/ml/output/data where SageMaker puts them. */
  private async uploadArtifacts(restore: RestoreInstruction, workspace: Workspace, transfer: TransferSettings, say: (text: string) => Promise<void>): Promise<void> {
    const target = { s3: this.config.s3, output: restore.OutputDataConfig ?? { S3OutputPath: restore.OutputS3Uri }, jobName: restore.TrainingJobName, transfer };
    const model = await uploadModel(target, workspace.modelFolder);
    await say(`model artifacts: ${model}`);
    const output = await uploadOutputData(target, workspace.outputDataFolder);
    if (output) await say(`output data: ${output}`);
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

  private startTraining(command: TrainingCommand, log: TrainingLog): Promise<number> {
    const child = spawn(command.file, command.args, { env: command.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.training = child;
    const forward = (stream: NodeJS.ReadableStream | null) => {
      let rest = '';
      stream?.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          this.metrics?.line(line);
          void log.line(line);
        }
      });
      stream?.on('end', () => {
        if (!rest) return;
        this.metrics?.line(rest);
        void log.line(rest);
      });
    };
    forward(child.stdout);
    forward(child.stderr);
    return new Promise((resolve) => {
      child.on('error', (error) => {
        void log.line(`[agent] cannot start ${command.file}: ${error.message}`);
        resolve(127);
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
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
