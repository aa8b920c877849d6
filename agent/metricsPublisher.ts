import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum as CloudWatchDatum } from '@aws-sdk/client-cloudwatch';
import type { MetricDatum } from '../shared/lifecycle/job.js';
import type { MetricScanner } from './metrics.js';

/**
 * The values the scanner found, put to CloudWatch where SageMaker puts a training job's
 * metrics: namespace `/aws/sagemaker/TrainingJobs`, the definition's Name as the metric name,
 * each value twice, under dimension `Host` = `<job>/algo-<n>` (what SageMaker's console and
 * CloudWatch show per instance) and under `TrainingJobName` = `<job>` (what the SageMaker Python
 * SDK's TrainingJobAnalytics reads). In batches of at most 1000 data, PutMetricData's limit,
 * one batch at a time.
 */
export const TRAINING_JOB_METRICS_NAMESPACE = '/aws/sagemaker/TrainingJobs';
const MAX_DATA_PER_REQUEST = 1000;
const DIMENSION_SETS_PER_VALUE = 2;

/** SageMaker's name for an instance of a job: `<job>/algo-<n>`, n from 1 in the order of the attempt's instances. */
export function metricsHost(jobName: string, instanceIds: readonly string[], instanceId: string): string {
  return `${jobName}/algo-${Math.max(0, instanceIds.indexOf(instanceId)) + 1}`;
}

export interface MetricsPublisherOptions {
  client: CloudWatchClient;
  scanner: MetricScanner;
  jobName: string;
  /** `<job>/algo-<n>`: see metricsHost. */
  host: string;
  say?: (text: string) => void | Promise<void>;
}

/** Throttling, a server error or no answer: worth sending again. Anything else the data itself is wrong. */
function retryable(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429 || /throttl/i.test(e.name ?? '') || e.$retryable !== undefined;
}

export class MetricsPublisher {
  private chain: Promise<void> = Promise.resolve();
  private failures = 0;
  /** Values that were dropped, and said so: the series holds only so many between flushes. */
  private dropped = 0;

  constructor(private readonly options: MetricsPublisherOptions) {}

  /** Puts what the scanner found since the last flush; never two flushes at once. Never throws. */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.publish()).catch(() => undefined);
    return this.chain;
  }

  private datums(sample: MetricDatum): CloudWatchDatum[] {
    const { jobName, host } = this.options;
    const base = { MetricName: sample.MetricName, Value: sample.Value, Timestamp: new Date(sample.Timestamp) };
    return [
      { ...base, Dimensions: [{ Name: 'Host', Value: host }] },
      { ...base, Dimensions: [{ Name: 'TrainingJobName', Value: jobName }] },
    ];
  }

  private async publish(): Promise<void> {
    const { scanner, client, say } = this.options;
    const { samples, dropped } = scanner.takeSeries();
    if (dropped) {
      this.dropped += dropped;
      await say?.(`metrics: ${dropped} values were not sent to CloudWatch (more than the agent keeps between sends; ${this.dropped} in all)`);
    }
    const perRequest = MAX_DATA_PER_REQUEST / DIMENSION_SETS_PER_VALUE;
    for (let start = 0; start < samples.length; start += perRequest) {
      const batch = samples.slice(start, start + perRequest);
      try {
        await client.send(new PutMetricDataCommand({ Namespace: TRAINING_JOB_METRICS_NAMESPACE, MetricData: batch.flatMap((s) => this.datums(s)) }));
        this.failures = 0;
      } catch (error) {
        this.failures += 1;
        const again = retryable(error);
        // The first failure of a run of them is said; the rest would only repeat it.
        if (this.failures === 1) await say?.(`metrics: PutMetricData failed (${String(error)}); ${again ? 'sending again later' : 'these values are dropped'}`);
        if (again) scanner.putBack(samples.slice(start));
        return;
      }
    }
  }
}
