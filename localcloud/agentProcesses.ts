import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Ec2Simulator } from './ec2Simulator.js';
import { startFakeImds, type FakeImds } from './fakeImds.js';
import type { LocalCloudSettings } from './settings.js';

/**
 * The real agent (agent/main.ts) as a process per simulated instance: its disk is a folder of
 * the data directory (it survives a stop), its instance metadata a simulated IMDS, its S3 the
 * local cloud's. When the instance shuts down or stops, the agent gets SIGTERM and a shutdown
 * window, as systemd gives it on EC2. Its training output goes to the local CloudWatch Logs
 * (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS in `env`).
 */
export interface AgentProcessesOptions {
  simulator: Ec2Simulator;
  settings: LocalCloudSettings;
  dataDir: string;
  controlBucket: string;
  /** Endpoints and credentials for the agent's AWS clients. */
  env: Record<string, string>;
  log?: (entry: Record<string, unknown>) => void;
}

const TAG_JOB = 'spot-training:job';
const TAG_ATTEMPT = 'spot-training:attempt';
const AGENT_MAIN = resolve(new URL('../agent/main.ts', import.meta.url).pathname);

export class AgentProcesses {
  private readonly agents = new Map<string, { child: ChildProcess; imds: FakeImds; exited: Promise<void> }>();

  constructor(private readonly options: AgentProcessesOptions) {}

  private scaled(simulatedSeconds: number): number {
    return simulatedSeconds / this.options.settings.timeScale;
  }

  async instanceRunning(instanceId: string): Promise<void> {
    if (this.agents.has(instanceId)) return;
    const instance = this.options.simulator.instance(instanceId);
    const job = instance?.tags[TAG_JOB];
    if (!instance || !job) return;
    const world = this.options.settings.instanceTypes[instance.instanceType];
    const root = join(this.options.dataDir, 'instances', instanceId);
    await mkdir(root, { recursive: true });
    const imds = await startFakeImds(instanceId, () => this.options.simulator.interruptionNotice(instanceId));
    const child = spawn(process.execPath, ['--import', 'tsx', AGENT_MAIN], {
      env: {
        ...process.env,
        ...this.options.env,
        SPOT_TRAINING_JOB: job,
        SPOT_TRAINING_ATTEMPT: instance.tags[TAG_ATTEMPT] ?? '1',
        SPOT_TRAINING_CONTROL_BUCKET: this.options.controlBucket,
        SPOT_TRAINING_ROOT: root,
        SPOT_TRAINING_POLL_SECONDS: String(Math.max(0.05, this.scaled(5))),
        SPOT_TRAINING_SYNC_SECONDS: String(Math.max(0.1, this.scaled(world?.checkpointEverySeconds ?? 300))),
        SPOT_TRAINING_STOP_GRACE_SECONDS: String(Math.max(1, this.scaled(120))),
        SPOT_TRAINING_INTERRUPT_GRACE_SECONDS: String(Math.max(1, this.scaled(90))),
        // No container engine here: the job's ContainerEntrypoint runs as a process, /opt/ml a folder of the instance's.
        SPOT_TRAINING_CONTAINER_RUNTIME: 'process',
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      },
      // From the repository, so that `--import tsx` resolves.
      cwd: resolve(new URL('..', import.meta.url).pathname),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const exited = new Promise<void>((done) =>
      child.on('exit', (code) => {
        if (code) this.options.log?.({ level: 'warn', msg: 'agent exited with an error', instanceId, code, stderr });
        this.agents.delete(instanceId);
        void imds.close().finally(done);
      }),
    );
    this.agents.set(instanceId, { child, imds, exited });
  }

  /** The instance is shutting down or stopping: SIGTERM, then the end of the shutdown window. */
  async instanceGoing(instanceId: string): Promise<void> {
    const agent = this.agents.get(instanceId);
    if (!agent) return;
    agent.child.kill('SIGTERM');
    const timer = setTimeout(() => agent.child.kill('SIGKILL'), Math.max(3000, this.scaled(300) * 1000));
    await agent.exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.keys()].map((id) => this.instanceGoing(id)));
  }
}
