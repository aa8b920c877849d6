import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import { waitFor } from '../../localcloud/demo.js';
import { startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import type { LocalCloudSettings } from '../../localcloud/settings.js';
import { jobRequest } from '../support/jobHarness.js';
import { readTrainingLogs } from '../support/trainingLogs.js';

const SETTINGS: LocalCloudSettings = {
  timeScale: 40,
  sweepIntervalSeconds: 0.5,
  instanceTypes: {
    'g5.xlarge': { launchDelaySeconds: 20, spotCapacity: true, spotPrice: 0.4, onDemandPrice: 1.0, downloadSeconds: 10, trainingSeconds: 200, uploadSeconds: 5, checkpointEverySeconds: 20 },
  },
};
const ports = { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 };
let cloud: LocalCloud | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await cloud?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('the local cloud restarted mid-job with a data directory', () => {
  it('loses nothing: the job, its checkpoints and its transitions survive, and it finishes', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'spot-training-restart-'));
    cloud = await startLocalCloud({ dataDir, ports, settings: SETTINGS, agent: 'simulated', log: () => undefined });
    let api = new TrainingJobsClient(cloud.endpoints.api);
    await api.call('CreateTrainingJob', jobRequest('survives-restart', { HyperParameters: { sim_training_seconds: '300' } }));
    const before = await waitFor(api, 'survives-restart', (j) => j.SecondaryStatus === 'Training' && j.LatestCheckpoint !== undefined, 60_000);
    await cloud.stop();

    cloud = await startLocalCloud({ dataDir, ports, settings: SETTINGS, agent: 'simulated', log: () => undefined });
    api = new TrainingJobsClient(cloud.endpoints.api);
    const after = await api.call<typeof before>('DescribeTrainingJob', { TrainingJobName: 'survives-restart' });
    expect(after.SecondaryStatusTransitions.slice(0, before.SecondaryStatusTransitions.length)).toEqual(before.SecondaryStatusTransitions);
    const done = await waitFor(api, 'survives-restart', (j) => ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus), 90_000);
    expect(done.TrainingJobStatus).toBe('Completed');
    // The instance lost with the first process counts as an interruption; the job resumed from its checkpoint
    expect(done.SecondaryStatusTransitions.map((t) => t.Status)).toEqual([
      'Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed',
    ]);
    expect(done.SecondaryStatusTransitions[5]?.StatusMessage).toMatch(/Restoring the latest checkpoint/);
    // The training output of the first process's attempt is still in CloudWatch Logs, beside the second's
    const streams = await readTrainingLogs(cloud.endpoints.logs, 'survives-restart');
    expect(streams).toHaveLength(2);
    expect(streams[0]?.messages[0]).toBe('no checkpoint to restore; starting from step 0');
    expect(streams[1]?.messages[0]).toMatch(/^restored checkpoint step=\d+ at step \d+$/);
    expect(streams[1]?.messages.at(-1)).toBe('training completed after 300 steps');
  }, 240_000);
});
