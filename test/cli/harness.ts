import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import type { JobView } from '../../cli/job.js';
import { startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import type { LocalCloudSettings } from '../../localcloud/settings.js';

/** spotctl as a real child process against a fast local cloud started by the test. */
export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const SPOTCTL = join(ROOT, 'bin', 'spotctl.mjs');

export const FAST: LocalCloudSettings = {
  timeScale: 40,
  sweepIntervalSeconds: 0.5,
  instanceTypes: {
    'g5.xlarge': { launchDelaySeconds: 20, spotCapacity: true, spotPrice: 0.4, onDemandPrice: 1.0, downloadSeconds: 10, trainingSeconds: 200, uploadSeconds: 5, checkpointEverySeconds: 20 },
    'p3.2xlarge': { launchDelaySeconds: 20, spotCapacity: false, spotPrice: 0.9, onDemandPrice: 3.06, downloadSeconds: 10, trainingSeconds: 200, uploadSeconds: 5, checkpointEverySeconds: 20 },
  },
};

/** For the real agent as a process: the simulated phases take a second, the agent's own work takes the time. */
export const REAL_AGENT: LocalCloudSettings = {
  timeScale: 40,
  sweepIntervalSeconds: 0.5,
  instanceTypes: {
    'g5.xlarge': { launchDelaySeconds: 20, spotCapacity: true, spotPrice: 0.4, onDemandPrice: 1.0, downloadSeconds: 1, trainingSeconds: 1, uploadSeconds: 1, checkpointEverySeconds: 20 },
  },
};

export async function startCloud(): Promise<LocalCloud> {
  return startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 }, settings: FAST, log: () => undefined });
}

/**
 * What a user's shell would have: the endpoints only. No credentials (spotctl falls back to the
 * local cloud's for local endpoints), no control bucket (spotctl finds it).
 */
export function userEnv(cloud: LocalCloud): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SPOT_TRAINING_ENDPOINT: cloud.endpoints.api,
    AWS_ENDPOINT_URL_EVENTBRIDGE: cloud.endpoints.events,
    AWS_ENDPOINT_URL_S3: cloud.endpoints.s3,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: cloud.endpoints.logs,
    // No shared config or credentials files of the machine's user.
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function spotctl(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, [SPOTCTL, ...args], { env, cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** The same job request as every other test's. */
export { jobRequest } from '../support/jobHarness.js';

/** Polls the API directly: the tests' own eyes, not a spotctl command under test. */
export async function until(api: TrainingJobsClient, name: string, done: (job: JobView) => boolean, timeoutMs = 30_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await api.call<JobView>('DescribeTrainingJob', { TrainingJobName: name });
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`${name} is still ${job.TrainingJobStatus}/${job.SecondaryStatus} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
