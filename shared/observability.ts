import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One logger and one metrics emitter for the whole product, as Powertools recommends.
 * Logs are JSON with the job, attempt and event id appended per event; metrics are
 * CloudWatch embedded metric format, published by each handler at the end of its work.
 */
export const logger = new Logger({ serviceName: 'spot-training' });
export const metrics = new Metrics({ namespace: 'SpotTraining', serviceName: 'spot-training' });

export type MetricName =
  | 'Transition'
  | 'Interruption'
  | 'RebalanceRecommendation'
  | 'IgnoredEvent'
  | 'MalformedEvent'
  | 'UnknownInstance'
  | 'LaunchFailed'
  | 'InstancesLaunched'
  | 'InstancesReclaimed'
  | 'CheckpointRecorded'
  | 'CheckpointCompleted'
  | 'CheckpointFailed'
  | 'FinalCheckpointLate'
  | 'CheckpointFolderEmpty'
  | 'CheckpointOverdue';

export function count(name: MetricName, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

export function seconds(name: 'CheckpointUploadSeconds' | 'CheckpointAgeSeconds', value: number): void {
  metrics.addMetric(name, MetricUnit.Seconds, value);
}
