import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTrainingJobCommand, SageMakerClient, StopTrainingJobCommand } from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import type { Report } from '../../cli/report.js';
import { waitFor } from '../../localcloud/demo.js';
import { simulatedMetrics } from '../../localcloud/simulatedAgent.js';
import { FAST, jobRequest, spotctl, userEnv } from '../cli/harness.js';
import { startCloudWithClients, type CloudWithClients } from '../support/awsClients.js';

/**
 * MetricDefinitions end to end on the local cloud: the simulated agent prints a training curve,
 * the job's regexes pick its values out of the output, and the final ones come back in
 * DescribeTrainingJob's FinalMetricDataList (read with the AWS SDK's own SageMaker client) and
 * in `spotctl report`, for a job that completes and for one that is stopped; every value also
 * in the local cloud's CloudWatch, where SageMaker puts a training job's metrics.
 */
const DEFINITIONS = [
  { Name: 'train:loss', Regex: 'loss=([0-9.]+)' },
  { Name: 'train:accuracy', Regex: 'accuracy=([0-9.]+)' },
  // Never printed: no value, so not in the list
  { Name: 'validation:loss', Regex: 'val_loss=([0-9.]+)' },
];
const withMetrics = (name: string, seconds: number) =>
  jobRequest(name, {
    AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File', MetricDefinitions: DEFINITIONS },
    HyperParameters: { sim_training_seconds: String(seconds) },
  });
/** What the simulated agent prints at a step, as the definitions read it. */
const valuesAt = (step: number) => {
  const line = simulatedMetrics(step);
  return { loss: Number(/loss=([0-9.]+)/.exec(line)?.[1]), accuracy: Number(/accuracy=([0-9.]+)/.exec(line)?.[1]) };
};

let aws: CloudWithClients;
let api: TrainingJobsClient;
let sagemaker: SageMakerClient;
let cloudwatch: CloudWatchClient;
let env: Record<string, string>;

beforeAll(async () => {
  aws = await startCloudWithClients({ settings: FAST });
  ({ sagemaker, cloudwatch } = aws);
  api = new TrainingJobsClient(aws.cloud.endpoints.api);
  env = userEnv(aws.cloud);
}, 120_000);

afterAll(() => aws?.stop(), 150_000);

describe('MetricDefinitions to FinalMetricDataList', () => {
  it.concurrent('a completed job has the values its last step printed, in Describe and in spotctl report', async () => {
    // Given a job with MetricDefinitions that trains 40 steps
    await api.call('CreateTrainingJob', withMetrics('metrics-e2e-completed', 40));
    // When it completes
    await waitFor(api, 'metrics-e2e-completed', (j) => j.TrainingJobStatus === 'Completed', 150_000);
    // Then the SDK's own client reads the last step's values, in the definitions' order
    const described = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'metrics-e2e-completed' }));
    const last = valuesAt(40);
    expect(described.FinalMetricDataList?.map((m) => [m.MetricName, m.Value])).toEqual([
      ['train:loss', last.loss],
      ['train:accuracy', last.accuracy],
    ]);
    for (const m of described.FinalMetricDataList ?? []) {
      expect(m.Timestamp).toBeInstanceOf(Date);
      expect(m.Timestamp!.getTime()).toBeGreaterThanOrEqual(described.TrainingStartTime!.getTime());
      expect(m.Timestamp!.getTime()).toBeLessThanOrEqual(described.TrainingEndTime!.getTime());
    }
    // And spotctl report shows them, as text and as JSON
    const text = await spotctl(['report', 'metrics-e2e-completed'], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Final metrics (FinalMetricDataList)');
    expect(text.stdout).toMatch(new RegExp(`train:loss\\s+${last.loss}\\s`));
    expect(text.stdout).toMatch(new RegExp(`train:accuracy\\s+${last.accuracy}\\s`));
    const json = await spotctl(['report', 'metrics-e2e-completed', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    expect(report.FinalMetricDataList.map((m) => [m.MetricName, m.Value])).toEqual([
      ['train:loss', last.loss],
      ['train:accuracy', last.accuracy],
    ]);
    // And CloudWatch has every step's loss, by host as SageMaker's console reads it and by job
    // as the SageMaker Python SDK's TrainingJobAnalytics reads it
    for (const dimension of [{ Name: 'Host', Value: 'metrics-e2e-completed/algo-1' }, { Name: 'TrainingJobName', Value: 'metrics-e2e-completed' }]) {
      const { Datapoints = [] } = await cloudwatch.send(
        new GetMetricStatisticsCommand({
          Namespace: '/aws/sagemaker/TrainingJobs',
          MetricName: 'train:loss',
          Dimensions: [dimension],
          StartTime: described.TrainingStartTime!,
          EndTime: new Date(described.TrainingEndTime!.getTime() + 60_000),
          Period: 1,
          Statistics: ['SampleCount', 'Minimum', 'Maximum'],
        }),
      );
      expect(Datapoints.reduce((n, d) => n + (d.SampleCount ?? 0), 0), dimension.Name).toBe(40);
      expect(Math.min(...Datapoints.map((d) => d.Minimum!)), dimension.Name).toBe(last.loss);
      expect(Math.max(...Datapoints.map((d) => d.Maximum!)), dimension.Name).toBe(valuesAt(1).loss);
    }
  }, 240_000);

  it.concurrent('a stopped job has the values printed before the stop, from the report of its ending attempt', async () => {
    // Given a long job that has trained a while
    await api.call('CreateTrainingJob', withMetrics('metrics-e2e-stopped', 2000));
    await waitFor(api, 'metrics-e2e-stopped', (j) => j.SecondaryStatus === 'Training' && j.LatestCheckpoint !== undefined, 150_000);
    // When it is stopped
    await sagemaker.send(new StopTrainingJobCommand({ TrainingJobName: 'metrics-e2e-stopped' }));
    await waitFor(api, 'metrics-e2e-stopped', (j) => j.TrainingJobStatus === 'Stopped', 150_000);
    // Then its final values are those of one step of the curve (the report may follow the status by a moment)
    const deadline = Date.now() + 60_000;
    let described = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'metrics-e2e-stopped' }));
    while (!described.FinalMetricDataList?.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      described = await sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: 'metrics-e2e-stopped' }));
    }
    const [loss, accuracy] = described.FinalMetricDataList ?? [];
    expect(loss?.MetricName).toBe('train:loss');
    expect(accuracy?.MetricName).toBe('train:accuracy');
    const step = Math.round((2 / loss!.Value! - 1) / 0.1);
    expect(step).toBeGreaterThan(0);
    expect(valuesAt(step)).toEqual({ loss: loss!.Value, accuracy: accuracy!.Value });
    expect(described.SecondaryStatus).toBe('Stopped');
  }, 360_000);
});
