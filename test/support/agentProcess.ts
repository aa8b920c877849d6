import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { FakeImds } from '../../localcloud/fakeImds.js';
import { LOCAL_CREDENTIALS, type LocalCloud } from '../../localcloud/localCloud.js';
import { restoreKey, type RestoreInstruction } from '../../shared/protocol.js';

export interface AgentRun {
  /** The agent's exit code. */
  exit: Promise<number>;
  /** What it printed so far, stdout and stderr together. */
  output: () => string;
}

/**
 * The agent (agent/main.ts) as a real process of a simulated instance: its restore instruction
 * in the cloud's control bucket, its root a fresh folder, the local cloud's S3, CloudWatch Logs
 * and CloudWatch, the given instance metadata service, the command run as a process, and fast
 * polls. `env` adds to or overrides that environment.
 */
export async function spawnAgent(cloud: LocalCloud, s3: S3Client, imds: FakeImds, instruction: RestoreInstruction, env: Record<string, string> = {}): Promise<AgentRun> {
  const control = cloud.env.CONTROL_BUCKET ?? '';
  await s3.send(new PutObjectCommand({ Bucket: control, Key: restoreKey(instruction.TrainingJobName, instruction.Attempt), Body: JSON.stringify(instruction) }));
  const root = await mkdtemp(join(tmpdir(), 'instance-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'agent/main.ts'], {
    env: {
      ...process.env,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: cloud.endpoints.s3,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: cloud.endpoints.logs,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloud.endpoints.cloudwatch,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      SPOT_TRAINING_JOB: instruction.TrainingJobName,
      SPOT_TRAINING_ATTEMPT: String(instruction.Attempt),
      SPOT_TRAINING_CONTROL_BUCKET: control,
      SPOT_TRAINING_ROOT: root,
      SPOT_TRAINING_POLL_SECONDS: '0.1',
      SPOT_TRAINING_STOP_GRACE_SECONDS: '5',
      // No container engine here: the command runs as a process of the instance.
      SPOT_TRAINING_CONTAINER_RUNTIME: 'process',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return { exit: new Promise((r) => child.on('exit', (code) => r(code ?? 1))), output: () => output };
}
