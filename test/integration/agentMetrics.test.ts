import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeImds } from '../../localcloud/fakeImds.js';
import { LOCAL_CREDENTIALS, startLocalCloud, type LocalCloud } from '../../localcloud/localCloud.js';
import { metricsReportKey, reportKey, type RestoreInstruction } from '../../shared/protocol.js';
import { spawnAgent } from '../support/agentProcess.js';

/**
 * The real agent as a process, its training command printing metrics: the final values in the
 * leader's reports (each phase's, or the metrics report of an attempt a spot notice ends), and
 * every value in CloudWatch under the instance's Host.
 */
const BUCKET = 'spot-training-data';
const DEFINITIONS = [
  { Name: 'train:loss', Regex: 'loss=([0-9.]+)' },
  { Name: 'train:acc', Regex: 'acc=([0-9.]+)' },
];
/** Prints `epoch <i> loss=<1/i> acc=<1-1/i>` every few ms; on SIGTERM a last line, then exit 0. */
const TRAIN = `
let i = 0;
const total = Number(process.env.EPOCHS);
process.on('SIGTERM', () => { console.log('stopping at epoch ' + i + ' loss=0.001'); process.exit(0); });
const t = setInterval(() => {
  i += 1;
  console.log('epoch ' + i + ' loss=' + (1 / i).toFixed(4) + ' acc=' + (1 - 1 / i).toFixed(4));
  if (i >= total) { clearInterval(t); }
}, 5);
`;

let cloud: LocalCloud;
let s3: S3Client;
let cloudwatch: CloudWatchClient;
let control: string;

beforeAll(async () => {
  cloud = await startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0, cloudwatch: 0 }, log: () => undefined });
  s3 = new S3Client({ endpoint: cloud.endpoints.s3, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  cloudwatch = new CloudWatchClient({ endpoint: cloud.endpoints.cloudwatch, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  control = cloud.env.CONTROL_BUCKET ?? '';
}, 120_000);
afterAll(async () => {
  s3?.destroy();
  cloudwatch?.destroy();
  await cloud?.stop();
}, 60_000);

async function body(key: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse((await (await s3.send(new GetObjectCommand({ Bucket: control, Key: key }))).Body?.transformToString()) ?? '{}') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function runAgent(job: string, instanceId: string, epochs: number, notice: () => { action: string; time: string } | undefined) {
  const imds = await startFakeImds(instanceId, notice);
  const instruction: RestoreInstruction = {
    TrainingJobName: job,
    Attempt: 1,
    OutputS3Uri: `s3://${BUCKET}/output/`,
    Command: ['node', '-e', TRAIN],
    Environment: { EPOCHS: String(epochs) },
    HyperParameters: {},
    InstanceIds: [instanceId],
    AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File', MetricDefinitions: DEFINITIONS },
  };
  const run = await spawnAgent(cloud, s3, imds, instruction);
  return { exit: run.exit.finally(() => imds.close()), output: run.output };
}

describe('the agent with MetricDefinitions', () => {
  it('puts the final values in its phase reports and every value in CloudWatch under its Host', async () => {
    const run = await runAgent('agent-metrics-done', 'i-5100000000000001', 50, () => undefined);
    expect(await run.exit, run.output()).toBe(0);
    const completed = await body(reportKey('agent-metrics-done', 1, 'completed'));
    const final = completed?.FinalMetricDataList as { MetricName: string; Value: number; Timestamp: string }[];
    expect(final.map((m) => [m.MetricName, m.Value])).toEqual([
      ['train:loss', 0.02],
      ['train:acc', 0.98],
    ]);
    expect(Number.isNaN(Date.parse(final[0]!.Timestamp))).toBe(false);
    const uploading = await body(reportKey('agent-metrics-done', 1, 'uploading'));
    expect((uploading?.FinalMetricDataList as unknown[] | undefined)?.length).toBe(2);
    const { Datapoints = [] } = await cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: '/aws/sagemaker/TrainingJobs',
        MetricName: 'train:loss',
        Dimensions: [{ Name: 'Host', Value: 'agent-metrics-done/algo-1' }],
        StartTime: new Date(Date.now() - 600_000),
        EndTime: new Date(Date.now() + 60_000),
        Period: 60,
        Statistics: ['SampleCount', 'Minimum', 'Maximum'],
      }),
    );
    expect(Datapoints.reduce((n, d) => n + (d.SampleCount ?? 0), 0)).toBe(50);
    expect(Math.min(...Datapoints.map((d) => d.Minimum!))).toBe(0.02);
    expect(Math.max(...Datapoints.map((d) => d.Maximum!))).toBe(1);
  }, 90_000);

  it('on a spot notice, leaves the final values, the last line printed on SIGTERM included, in a metrics report', async () => {
    let notice: { action: string; time: string } | undefined;
    const run = await runAgent('agent-metrics-notice', 'i-5100000000000002', 1_000_000, () => notice);
    for (let waited = 0; !/epoch 20 /.test(run.output()) && waited < 30_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    notice = { action: 'terminate', time: new Date(Date.now() + 120_000).toISOString() };
    expect(await run.exit, run.output()).toBe(0);
    const report = await body(metricsReportKey('agent-metrics-notice', 1));
    const final = report?.FinalMetricDataList as { MetricName: string; Value: number }[];
    expect(final.find((m) => m.MetricName === 'train:loss')?.Value).toBe(0.001);
    expect(final.find((m) => m.MetricName === 'train:acc')?.Value).toBeGreaterThan(0.9);
    expect(await body(reportKey('agent-metrics-notice', 1, 'completed'))).toBeUndefined();
  }, 90_000);
});
