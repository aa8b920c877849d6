import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { EpochMillis } from '../shared/lifecycle/job.js';
import { metricsReportBody, metricsReportKey, type RestoreInstruction } from '../shared/protocol.js';
import { MetricScanner } from './metrics.js';
import { metricsHost, MetricsPublisher } from './metricsPublisher.js';

/**
 * One attempt's MetricDefinitions at work on one instance: the training output's lines go to
 * the scanner, its values to CloudWatch (when the agent has a CloudWatch client), and the final
 * values to the control plane in the leader's reports: in each phase report's body, and in a
 * report of their own when a stop or an interruption ends the attempt (no phase report comes
 * then). Nothing is written per line; the job record changes once per report.
 */
export interface AttemptMetricsOptions {
  restore: Pick<RestoreInstruction, 'TrainingJobName' | 'Attempt' | 'InstanceIds' | 'AlgorithmSpecification'>;
  instanceId: string;
  /** Only the leader reports; every instance puts its own values to CloudWatch under its Host. */
  leader: boolean;
  s3: S3Client;
  controlBucket: string;
  cloudwatch?: CloudWatchClient;
  say?: (text: string) => void | Promise<void>;
}

export class AttemptMetrics {
  readonly scanner: MetricScanner;
  private readonly publisher?: MetricsPublisher;

  constructor(private readonly options: AttemptMetricsOptions) {
    const { restore, instanceId, cloudwatch, say } = options;
    this.scanner = new MetricScanner(restore.AlgorithmSpecification?.MetricDefinitions ?? []);
    for (const problem of this.scanner.problems) void say?.(problem);
    if (cloudwatch && this.scanner.active) {
      this.publisher = new MetricsPublisher({
        client: cloudwatch,
        scanner: this.scanner,
        jobName: restore.TrainingJobName,
        host: metricsHost(restore.TrainingJobName, restore.InstanceIds, instanceId),
        ...(say ? { say } : {}),
      });
    }
  }

  /** A line of the training command's output, when it was read. */
  line(text: string, time: EpochMillis = Date.now()): void {
    this.scanner.scan(text, time);
  }

  /** What a phase report's body carries: `{ FinalMetricDataList }`, or nothing before any value. */
  reportBody(): ReturnType<typeof metricsReportBody> {
    return metricsReportBody(this.scanner.final());
  }

  /** The values found since the last flush, to CloudWatch; never throws. */
  flush(): Promise<void> {
    return this.publisher?.flush() ?? Promise.resolve();
  }

  /** The attempt ends by a stop or an interruption: its final values, in a report of their own (the leader's). */
  async reportEnded(time: EpochMillis = Date.now()): Promise<void> {
    const body = this.reportBody();
    const { leader, s3, controlBucket, restore, instanceId } = this.options;
    if (!leader || !body.FinalMetricDataList) return;
    await s3.send(
      new PutObjectCommand({
        Bucket: controlBucket,
        Key: metricsReportKey(restore.TrainingJobName, restore.Attempt),
        Body: JSON.stringify({ Time: new Date(time).toISOString(), InstanceId: instanceId, ...body }),
        ContentType: 'application/json',
      }),
    );
  }
}
