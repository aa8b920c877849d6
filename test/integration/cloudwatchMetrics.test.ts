import { CloudWatchClient, GetMetricStatisticsCommand, InvalidParameterValueException, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricScanner } from '../../agent/metrics.js';
import { metricsHost, MetricsPublisher, TRAINING_JOB_METRICS_NAMESPACE } from '../../agent/metricsPublisher.js';
import type { ListeningServer } from '../../localcloud/awsJsonServer.js';
import { CloudWatchMetrics } from '../../localcloud/cloudwatchMetrics.js';
import { LOCAL_CREDENTIALS } from '../../localcloud/localCloud.js';

/**
 * The agent's metrics through the AWS SDK's own CloudWatch client to the local cloud's
 * CloudWatch: put where SageMaker puts them, read back as the SageMaker Python SDK's
 * TrainingJobAnalytics and the CloudWatch console read them.
 */
const T = Date.UTC(2026, 11, 2, 12, 0, 0);
let server: ListeningServer;
let client: CloudWatchClient;

beforeAll(async () => {
  server = await new CloudWatchMetrics().listen(0);
  client = new CloudWatchClient({ endpoint: server.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
});

const statistics = (dimension: { Name: string; Value: string }, metric = 'train:loss') =>
  client.send(
    new GetMetricStatisticsCommand({
      Namespace: TRAINING_JOB_METRICS_NAMESPACE,
      MetricName: metric,
      Dimensions: [dimension],
      StartTime: new Date(T - 60_000),
      EndTime: new Date(T + 600_000),
      Period: 60,
      Statistics: ['Average', 'SampleCount', 'Minimum', 'Maximum'],
    }),
  );

describe('metrics to CloudWatch', () => {
  it('puts each value under Host <job>/algo-<n> and under TrainingJobName, per minute as CloudWatch aggregates them', async () => {
    // Given a scanner that read 1200 values (more than one PutMetricData holds) on algo-2 of a job
    const scanner = new MetricScanner([{ Name: 'train:loss', Regex: 'loss=([0-9.]+)' }]);
    for (let i = 0; i < 1200; i++) scanner.scan(`step ${i} loss=${(i % 2 === 0 ? 0.5 : 1.5).toFixed(1)}`, T + i * 100);
    const host = metricsHost('cw-job', ['i-01', 'i-02'], 'i-02');
    expect(host).toBe('cw-job/algo-2');
    // When the publisher flushes
    await new MetricsPublisher({ client, scanner, jobName: 'cw-job', host }).flush();
    // Then CloudWatch has them per host and per job
    for (const dimension of [{ Name: 'Host', Value: 'cw-job/algo-2' }, { Name: 'TrainingJobName', Value: 'cw-job' }]) {
      const { Datapoints = [] } = await statistics(dimension);
      expect(Datapoints.reduce((n, d) => n + (d.SampleCount ?? 0), 0), dimension.Name).toBe(1200);
      expect(Datapoints.map((d) => [d.Average, d.Minimum, d.Maximum])).toEqual(Datapoints.map(() => [1, 0.5, 1.5]));
      expect(Datapoints[0]?.Timestamp).toBeInstanceOf(Date);
    }
    const listed = await client.send(new ListMetricsCommand({ Namespace: TRAINING_JOB_METRICS_NAMESPACE, Dimensions: [{ Name: 'Host', Value: 'cw-job/algo-2' }] }));
    expect(listed.Metrics).toEqual([{ Namespace: TRAINING_JOB_METRICS_NAMESPACE, MetricName: 'train:loss', Dimensions: [{ Name: 'Host', Value: 'cw-job/algo-2' }] }]);
    // And nothing is left to send
    expect(scanner.takeSeries().samples).toEqual([]);
  });

  it('refuses what CloudWatch refuses, with its errors', async () => {
    const put = (input: Partial<ConstructorParameters<typeof PutMetricDataCommand>[0]>) =>
      client.send(new PutMetricDataCommand({ Namespace: 'Test', MetricData: [{ MetricName: 'm', Value: 1 }], ...input }));
    await expect(put({ Namespace: 'AWS/EC2' })).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(put({ MetricData: Array.from({ length: 1001 }, () => ({ MetricName: 'm', Value: 1 })) })).rejects.toBeInstanceOf(InvalidParameterValueException);
    await expect(put({ MetricData: [{ MetricName: 'm', Value: 2 ** 361 }] })).rejects.toThrow(/invalid/);
    // A refused request keeps nothing of itself
    await expect(put({ MetricData: [{ MetricName: 'kept-not', Value: 1 }, { MetricName: 'bad', Value: 2 ** 361 }] })).rejects.toThrow();
    expect((await client.send(new ListMetricsCommand({ Namespace: 'Test', MetricName: 'kept-not' }))).Metrics).toEqual([]);
  });

  it('keeps values it could not send for the next flush, and says so once', async () => {
    const closed = await new CloudWatchMetrics().listen(0);
    await closed.close();
    const unreachable = new CloudWatchClient({ endpoint: closed.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const scanner = new MetricScanner([{ Name: 'train:loss', Regex: 'loss=([0-9.]+)' }]);
    scanner.scan('loss=0.5', T);
    const said: string[] = [];
    const publisher = new MetricsPublisher({ client: unreachable, scanner, jobName: 'cw-down', host: 'cw-down/algo-1', say: (t) => void said.push(t) });
    await publisher.flush();
    await publisher.flush();
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/PutMetricData failed.*sending again later/);
    expect(scanner.takeSeries().samples.map((s) => s.Value)).toEqual([0.5]);
    unreachable.destroy();
  });
});
