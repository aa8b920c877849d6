import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST, jobRequest, ROOT } from '../cli/harness.js';

/**
 * `serverless offline start --stage local`, started as a Serverless user starts it: serverless-
 * offline serves the HTTP API from serverless.yml, the repository's plugin the rest of the local
 * cloud. A job is driven with the AWS CLI only — created, interrupted by put-events with the
 * instance that `aws ec2 describe-instances` names, and followed to Completed.
 */
const PORTS = { http: 42410, events: 42411, s3: 42412, dynamodb: 42413, ec2: 42414, lambda: 42415, logs: 42416 };
const API = `http://127.0.0.1:${PORTS.http}`;

let child: ChildProcess | undefined;
let dir: string;
let output = '';

const run = promisify(execFile);
const aws = async (args: string[]) => JSON.parse((await run('aws', args, { env: { PATH: process.env.PATH ?? '', HOME: dir, AWS_ACCESS_KEY_ID: 'spottraining', AWS_SECRET_ACCESS_KEY: 'spottraininglocal', AWS_DEFAULT_REGION: 'us-east-1' }, timeout: 30_000 })).stdout || '{}');

async function describe_(name: string): Promise<{ TrainingJobStatus: string; SecondaryStatus: string; SecondaryStatusTransitions: { Status: string }[] }> {
  return (await aws(['sagemaker', 'describe-training-job', '--endpoint-url', API, '--training-job-name', name])) as never;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still not there after ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spot-training-offline-'));
  const world = join(dir, 'world.json');
  await writeFile(world, JSON.stringify(FAST));
  child = spawn(
    join(ROOT, 'node_modules', '.bin', 'serverless'),
    ['offline', 'start', '--stage', 'local', '--httpPort', String(PORTS.http), '--lambdaPort', String(PORTS.lambda), '--events-port', String(PORTS.events), '--s3-port', String(PORTS.s3), '--dynamodb-port', String(PORTS.dynamodb), '--ec2-port', String(PORTS.ec2), '--logs-port', String(PORTS.logs), '--agent', 'simulated', '--local-config', world],
    { cwd: ROOT, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (/Server ready: http:\/\/127\.0\.0\.1:\d+/.test(output)) {
        clearInterval(timer);
        resolve();
      }
    }, 200);
    child?.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`serverless offline exited ${code}:\n${output}`));
    });
  });
}, 180_000);

afterAll(async () => {
  if (child?.pid && child.exitCode === null) {
    const exited = new Promise((r) => child?.on('exit', r));
    // Ctrl-C, as a user stops it: serverless-offline ends, the plugin stops the local cloud.
    process.kill(-child.pid, 'SIGINT');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('serverless offline start --stage local', () => {
  it('serves the API through serverless-offline and runs a job through an interruption to Completed with the AWS CLI', async () => {
    expect(output).toContain(`POST | ${API}/`);
    const input = join(dir, 'job.json');
    await writeFile(input, JSON.stringify({ ...jobRequest('offline-job', { HyperParameters: { sim_training_seconds: '320' } }), RoleArn: 'arn:aws:iam::000000000000:role/training' }));
    const created = await aws(['sagemaker', 'create-training-job', '--endpoint-url', API, '--cli-input-json', `file://${input}`]);
    expect(created.TrainingJobArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:training-job/offline-job');

    await until(() => describe_('offline-job'), (j) => j.SecondaryStatus === 'Training', 60_000);
    const reservations = await aws(['ec2', 'describe-instances', '--endpoint-url', `http://127.0.0.1:${PORTS.ec2}`, '--filters', 'Name=tag:spot-training:job,Values=offline-job', 'Name=instance-state-name,Values=running']);
    const instances = (reservations.Reservations as { Instances: { InstanceId: string }[] }[]).flatMap((r) => r.Instances.map((i) => i.InstanceId));
    expect(instances).toHaveLength(1);

    const entries = join(dir, 'warning.json');
    await writeFile(entries, JSON.stringify([{ Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': instances[0], 'instance-action': 'terminate' }) }]));
    const put = await aws(['events', 'put-events', '--endpoint-url', `http://127.0.0.1:${PORTS.events}`, '--entries', `file://${entries}`]);
    expect(put.FailedEntryCount).toBe(0);

    const done = await until(() => describe_('offline-job'), (j) => ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus), 90_000);
    expect(done.TrainingJobStatus).toBe('Completed');
    expect(done.SecondaryStatusTransitions.map((t) => t.Status)).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    const listed = await aws(['sagemaker', 'list-training-jobs', '--endpoint-url', API, '--status-equals', 'Completed']);
    expect(listed.TrainingJobSummaries.map((s: { TrainingJobName: string }) => s.TrainingJobName)).toEqual(['offline-job']);
    // The training output of both attempts, where SageMaker puts it
    const streams = await aws(['logs', 'describe-log-streams', '--endpoint-url', `http://127.0.0.1:${PORTS.logs}`, '--log-group-name', '/aws/sagemaker/TrainingJobs', '--log-stream-name-prefix', 'offline-job/']);
    expect((streams.logStreams as { logStreamName: string }[]).map((s) => s.logStreamName)).toEqual([expect.stringMatching(/^offline-job\/algo-1-\d{10}$/), expect.stringMatching(/^offline-job\/algo-1-\d{10}$/)]);
  }, 180_000);
});
