import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import { waitFor, type Described } from '../../localcloud/demo.js';
import { LOCAL_CREDENTIALS, startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import { REAL_AGENT } from '../cli/harness.js';
import { readTrainingLogs } from '../support/trainingLogs.js';

/**
 * The real agent, as a process per simulated instance, running a real training script that
 * counts steps and checkpoints: interrupted twice, it resumes from its checkpoints and
 * finishes with the right result.
 */
const SCRIPT = resolve('examples/count-steps.mjs');

let cloud: LocalCloud;
let api: TrainingJobsClient;
let events: EventBridgeClient;
let s3: S3Client;

beforeAll(async () => {
  cloud = await startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 }, settings: REAL_AGENT, agent: 'process', log: () => undefined });
  api = new TrainingJobsClient(cloud.endpoints.api);
  events = new EventBridgeClient({ endpoint: cloud.endpoints.events, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  s3 = new S3Client({ endpoint: cloud.endpoints.s3, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
}, 120_000);

afterAll(async () => {
  events?.destroy();
  s3?.destroy();
  await cloud?.stop();
}, 60_000);

async function interrupt(instanceId: string) {
  await events.send(
    new PutEventsCommand({
      Entries: [{ Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': instanceId, 'instance-action': 'terminate' }) }],
    }),
  );
}

/** The training output of one attempt of a one-instance job: its stream is the attempt's (`<job>/algo-1-<epoch>`, in order of start). */
async function attemptLog(job: string, attempt: number): Promise<string> {
  const streams = await readTrainingLogs(cloud.endpoints.logs, job);
  expect(streams.map((s) => s.stream)).toEqual(streams.map((s) => s.stream).filter((name) => new RegExp(`^${job}/algo-1-\\d{10}$`).test(name)));
  return streams[attempt - 1]?.messages.join('\n') ?? '';
}

describe('a real training process under the real agent', () => {
  it('is interrupted twice, resumes from its checkpoints each time, and finishes with the right result', async () => {
    const name = 'agent-counts-steps';
    await api.call('CreateTrainingJob', {
      TrainingJobName: name,
      AlgorithmSpecification: { TrainingInputMode: 'File', ContainerEntrypoint: ['node', SCRIPT] },
      ResourceConfig: { InstanceType: 'g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 10 },
      EnableManagedSpotTraining: true,
      StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
      CheckpointConfig: { S3Uri: `s3://spot-training-data/checkpoints/${name}` },
      OutputDataConfig: { S3OutputPath: 's3://spot-training-data/output' },
      Environment: { TOTAL_STEPS: '200', STEP_MS: '30', CHECKPOINT_EVERY: '10' },
    });
    let restored: string | undefined;
    for (let attempt = 1; attempt <= 2; attempt++) {
      // Interrupted once the attempt has made a checkpoint of its own
      const training = await waitFor(
        api,
        name,
        (j) => j.SecondaryStatus === 'Training' && j.Attempts.length === attempt && j.LatestCheckpoint !== undefined && j.LatestCheckpoint.CheckpointId !== restored,
        60_000,
      );
      await interrupt(training.Attempts[attempt - 1]?.InstanceIds[0] ?? '');
      restored = (await waitFor(api, name, (j) => j.Attempts.length === attempt + 1 && j.SecondaryStatus === 'Training', 60_000)).LatestCheckpoint?.CheckpointId;
    }
    const done: Described = await waitFor(api, name, (j) => ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus), 90_000);
    expect(done.SecondaryStatusTransitions.map((t) => t.Status)).toEqual([
      'Starting', 'Downloading', 'Training', 'Interrupted',
      'Starting', 'Downloading', 'Training', 'Interrupted',
      'Starting', 'Downloading', 'Training', 'Uploading', 'Completed',
    ]);

    // The model the script wrote, as uploaded by the agent to OutputDataConfig.
    const object = await s3.send(new GetObjectCommand({ Bucket: 'spot-training-data', Key: `output/${name}/output/model.tar.gz` }));
    const work = await mkdtemp(join(tmpdir(), 'model-'));
    await writeFile(join(work, 'model.tar.gz'), await object.Body!.transformToByteArray());
    await promisify(execFile)('tar', ['-xzf', join(work, 'model.tar.gz'), '-C', work]);
    const result = JSON.parse(await readFile(join(work, 'result.json'), 'utf8')) as { finalStep: number; resumedFrom: number[] };
    expect(result.finalStep).toBe(200);
    expect(result.resumedFrom).toHaveLength(2);

    // Each interruption: the script got SIGTERM, saved its step, and the final checkpoint carried it: no step lost.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const log = await attemptLog(name, attempt);
      const stoppedAt = Number(/SIGTERM at step (\d+)/.exec(log)?.[1]);
      // A checkpoint went up after the script saved on SIGTERM
      expect(log.slice(log.indexOf('SIGTERM at step'))).toMatch(/checkpoint ckpt-\d+ uploaded/);
      expect(result.resumedFrom[attempt - 1]).toBe(stoppedAt);
    }
  }, 240_000);
});
