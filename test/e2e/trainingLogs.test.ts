import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasAwsCli } from '../support/awsCli.js';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import { waitFor } from '../../localcloud/demo.js';
import { LOCAL_CREDENTIALS, startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import type { LocalCloudSettings } from '../../localcloud/settings.js';
import { spotctl, userEnv } from '../cli/harness.js';
import { jobRequest } from '../support/jobHarness.js';

/**
 * A job's training output on the local cloud is where SageMaker puts it, and the clients that
 * read SageMaker's read it there: the AWS CLI's `aws logs` (describe-log-streams with the job's
 * prefix, as the SageMaker Python SDK's logs_for_job discovers streams, and get-log-events) and
 * `spotctl logs`.
 */
const FAST: LocalCloudSettings = {
  timeScale: 40,
  sweepIntervalSeconds: 0.5,
  instanceTypes: {
    'g5.xlarge': { launchDelaySeconds: 20, spotCapacity: true, spotPrice: 0.4, onDemandPrice: 1.0, downloadSeconds: 10, trainingSeconds: 200, uploadSeconds: 5, checkpointEverySeconds: 20 },
  },
};
const GROUP = '/aws/sagemaker/TrainingJobs';
const JOB = 'logs-two-hosts';
const STEPS = 60;


let cloud: LocalCloud;
let api: TrainingJobsClient;

beforeAll(async () => {
  cloud = await startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 }, settings: FAST, agent: 'simulated', log: () => undefined });
  api = new TrainingJobsClient(cloud.endpoints.api);
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
}, 60_000);

/** `aws logs …` as a user runs it against the local cloud: CLI v1 wants AWS_DEFAULT_REGION, and no user configuration. */
function awsLogs(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: tmpdir(),
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  };
  return new Promise((resolve) => {
    execFile('aws', ['logs', ...args, '--endpoint-url', cloud.endpoints.logs, '--output', 'json'], { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function streamsOf(job: string): Promise<string[]> {
  const listed = await awsLogs(['describe-log-streams', '--log-group-name', GROUP, '--log-stream-name-prefix', `${job}/`, '--order-by', 'LogStreamName']);
  expect(listed.stderr).toBe('');
  return (JSON.parse(listed.stdout) as { logStreams: { logStreamName: string }[] }).logStreams.map((s) => s.logStreamName);
}

async function messagesOf(stream: string): Promise<string[]> {
  const got = await awsLogs(['get-log-events', '--log-group-name', GROUP, '--log-stream-name', stream, '--start-from-head']);
  expect(got.stderr).toBe('');
  return (JSON.parse(got.stdout) as { events: { message: string }[] }).events.map((e) => e.message);
}

describe.skipIf(!hasAwsCli)("a job's training output, read as SageMaker's is read", () => {
  it('is in /aws/sagemaker/TrainingJobs, a stream <job>/algo-<n>-<epoch> per instance, for aws logs and spotctl logs alike', async () => {
    // Given a two-instance job that ran to the end
    const before = Math.floor(Date.now() / 1000);
    await api.call('CreateTrainingJob', jobRequest(JOB, { ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 2, VolumeSizeInGB: 50 }, HyperParameters: { sim_training_seconds: String(STEPS) } }));
    const done = await waitFor(api, JOB, (j) => ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus), 90_000);
    expect(done.TrainingJobStatus).toBe('Completed');
    // Each instance ships its last line as it ends, the second host possibly after the job is Completed
    await expect
      .poll(async () => Promise.all((await streamsOf(JOB)).map(async (s) => (await messagesOf(s)).at(-1))), { timeout: 30_000, interval: 250 })
      .toEqual([`training completed after ${STEPS} steps`, `training completed after ${STEPS} steps`]);

    // When the AWS CLI lists the job's streams as the SageMaker Python SDK does
    const streams = await streamsOf(JOB);
    // Then there is one per instance, host 1 and 2, named with the second each was started
    expect(streams).toHaveLength(2);
    const parsed = streams.map((s) => /^logs-two-hosts\/algo-(\d)-(\d{10})$/.exec(s));
    expect(parsed.map((m) => m?.[1])).toEqual(['1', '2']);
    for (const m of parsed) expect(Number(m?.[2])).toBeGreaterThanOrEqual(before);
    // And another job's prefix does not reach them
    expect(await streamsOf('logs-two')).toEqual([]);

    // When get-log-events reads each from its head, then each has its instance's whole output, in order
    for (const stream of streams) {
      const messages = await messagesOf(stream);
      expect(messages[0]).toBe('no checkpoint to restore; starting from step 0');
      expect(messages.filter((m) => /^step \d+\/\d+$/.test(m))).toEqual(Array.from({ length: STEPS }, (_, i) => `step ${i + 1}/${STEPS}`));
    }

    // When spotctl logs reads the job, then both streams come interleaved by time, every line once
    const shown = await spotctl(['logs', JOB], userEnv(cloud));
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.trimEnd().split('\n').map((l) => /^\[(algo-\d-\d{10})\] (\S+) (.*)$/.exec(l));
    expect(lines.every(Boolean)).toBe(true);
    const labels = streams.map((s) => s.slice(JOB.length + 1));
    for (const label of labels) {
      expect(lines.filter((l) => l?.[1] === label && /^step \d+\//.test(l[3] ?? ''))).toHaveLength(STEPS);
    }
    const times = lines.map((l) => Date.parse(l?.[2] ?? ''));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(lines.map((l) => l?.[1]))).toEqual(new Set(labels));
  }, 180_000);
});
