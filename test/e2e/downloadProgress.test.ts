import { CreateTrainingJobCommand, DescribeTrainingJobCommand, SageMakerClient, type CreateTrainingJobCommandInput, type DescribeTrainingJobCommandOutput } from '@aws-sdk/client-sagemaker';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudWithClients, type CloudWithClients } from '../support/awsClients.js';
import { FAST, jobRequest } from '../cli/harness.js';

/**
 * The Downloading phase's StatusMessage on the local cloud: the job's input channel is listed
 * in the local S3, the leader's progress reports come back through S3 notifications, and the
 * SDK's own SageMaker client reads what is left in the Downloading transition's message.
 */
const FILES = 24;
const FILE_BYTES = 3 * 1024 * 1024;
// A download long enough to be seen: 600 simulated seconds, 15 s at the local cloud's time scale.
const SETTINGS = { ...FAST, instanceTypes: { ...FAST.instanceTypes, 'g5.xlarge': { ...FAST.instanceTypes['g5.xlarge']!, downloadSeconds: 600, trainingSeconds: 20 } } };

let aws: CloudWithClients;
let sagemaker: SageMakerClient;

beforeAll(async () => {
  aws = await startCloudWithClients({ settings: SETTINGS });
  sagemaker = aws.sagemaker;
  const { s3 } = aws;
  for (let i = 0; i < FILES; i++) {
    await s3.send(new PutObjectCommand({ Bucket: 'spot-training-data', Key: `data/progress/part-${String(i).padStart(3, '0')}.bin`, Body: Buffer.alloc(FILE_BYTES, i) }));
  }
}, 120_000);

afterAll(() => aws?.stop(), 150_000);

async function describeUntil(name: string, done: (job: DescribeTrainingJobCommandOutput) => boolean, timeoutMs = 120_000): Promise<DescribeTrainingJobCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`${name}: ${job.SecondaryStatus}, '${job.SecondaryStatusTransitions?.at(-1)?.StatusMessage}' after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const LEFT = /^Downloading input data: ([0-9.]+ (?:B|MiB)) of 72\.0 MiB left, (\d+) of 24 files\.$/;
const filesLeft = (job: DescribeTrainingJobCommandOutput) => {
  const last = job.SecondaryStatusTransitions?.at(-1);
  const match = last?.Status === 'Downloading' ? LEFT.exec(last.StatusMessage ?? '') : null;
  return match ? Number(match[2]) : undefined;
};

describe('the Downloading StatusMessage', () => {
  it('says how much of the input channel is left, less as the download goes, then the job trains', async () => {
    // Given a job with a 24-file, 72 MiB training channel in the local S3
    await sagemaker.send(
      new CreateTrainingJobCommand({
        ...(jobRequest('progress-e2e') as unknown as CreateTrainingJobCommandInput),
        InputDataConfig: [{ ChannelName: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://spot-training-data/data/progress/', S3DataDistributionType: 'FullyReplicated' } } }],
        HyperParameters: { sim_training_seconds: '20' },
      }),
    );
    // When it downloads, Describe says what is left; later, less
    const first = await describeUntil('progress-e2e', (j) => (filesLeft(j) ?? 0) > 0);
    const firstLeft = filesLeft(first)!;
    const later = await describeUntil('progress-e2e', (j) => (filesLeft(j) ?? FILES) < firstLeft);
    expect(filesLeft(later)).toBeLessThan(firstLeft);
    // Then the job moves on to Training, the Downloading transition keeping its last message
    const training = await describeUntil('progress-e2e', (j) => j.SecondaryStatus === 'Training' || j.TrainingJobStatus === 'Completed');
    const downloadingEntry = training.SecondaryStatusTransitions?.find((t) => t.Status === 'Downloading');
    expect(downloadingEntry?.StatusMessage).toMatch(LEFT);
    expect(training.SecondaryStatusTransitions?.filter((t) => t.Status === 'Downloading')).toHaveLength(1);
  }, 240_000);
});
