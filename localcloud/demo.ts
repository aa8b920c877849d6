import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { resolve } from 'node:path';
import { TrainingJobsClient } from '../cli/apiClient.js';

const EXAMPLE_SCRIPT = resolve(new URL('../examples/count-steps.mjs', import.meta.url).pathname);

/**
 * The demo: a spot job on the local cloud, interrupted once while training, resumed from its
 * checkpoint on new capacity, to Completed. Only the public endpoints are used: the HTTP API
 * and EventBridge's PutEvents, as a user would.
 */
export interface DemoOptions {
  api: string;
  events: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  jobName?: string;
  print?: (line: string) => void;
  timeoutMs?: number;
}

export interface Described {
  TrainingJobStatus: string;
  SecondaryStatus: string;
  SecondaryStatusTransitions: { Status: string; StartTime: number; EndTime?: number; StatusMessage: string }[];
  Attempts: { AttemptNumber: number; InstanceIds: string[]; EndReason?: string }[];
  LatestCheckpoint?: { CheckpointId: string };
  TrainingTimeInSeconds: number;
  BillableTimeInSeconds: number;
  Savings: { SavingsPercent: number; SpotCostUsd: number; OnDemandCostUsd: number };
}

export async function waitFor(client: TrainingJobsClient, name: string, done: (job: Described) => boolean, timeoutMs: number, onChange?: (job: Described) => void): Promise<Described> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const job = await client.call<Described>('DescribeTrainingJob', { TrainingJobName: name });
    const now = `${job.TrainingJobStatus}/${job.SecondaryStatus}`;
    if (now !== last) onChange?.(job);
    last = now;
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${name} is still ${now} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function runDemo(options: DemoOptions): Promise<Described> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const name = options.jobName ?? `demo-${Date.now().toString(36)}`;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const client = new TrainingJobsClient(options.api);
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  const onChange = (job: Described) => print(`${elapsed()}  ${job.TrainingJobStatus.padEnd(10)} ${job.SecondaryStatus}`);

  await client.call('CreateTrainingJob', {
    TrainingJobName: name,
    // The example script counts steps and checkpoints; the agent runs it on the instance.
    AlgorithmSpecification: { TrainingInputMode: 'File', ContainerEntrypoint: ['node', EXAMPLE_SCRIPT] },
    Environment: { TOTAL_STEPS: '300', STEP_MS: '50', CHECKPOINT_EVERY: '20' },
    ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 50 },
    EnableManagedSpotTraining: true,
    StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
    CheckpointConfig: { S3Uri: `s3://spot-training-data/checkpoints/${name}` },
    OutputDataConfig: { S3OutputPath: 's3://spot-training-data/output' },
  });
  print(`created ${name}`);
  const training = await waitFor(client, name, (j) => j.SecondaryStatus === 'Training' && j.LatestCheckpoint !== undefined, timeoutMs, onChange);
  const instanceId = training.Attempts.at(-1)?.InstanceIds[0] ?? '';
  print(`${elapsed()}  interrupting ${instanceId} (checkpoint ${training.LatestCheckpoint?.CheckpointId} saved)`);
  const events = new EventBridgeClient({ endpoint: options.events, region: 'us-east-1', credentials: options.credentials });
  await events.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: 'aws.ec2',
          DetailType: 'EC2 Spot Instance Interruption Warning',
          Detail: JSON.stringify({ 'instance-id': instanceId, 'instance-action': 'terminate' }),
          Resources: [`arn:aws:ec2:us-east-1:000000000000:instance/${instanceId}`],
        },
      ],
    }),
  );
  events.destroy();
  const final = await waitFor(client, name, (j) => ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus), timeoutMs, onChange);

  print('');
  print('SecondaryStatusTransitions:');
  for (const t of final.SecondaryStatusTransitions) {
    print(`  ${t.Status.padEnd(20)} ${new Date(t.StartTime * 1000).toISOString().slice(11, 19)}  ${t.StatusMessage}`);
  }
  print('');
  print(`Attempts: ${final.Attempts.map((a) => `#${a.AttemptNumber} ${a.InstanceIds.join(',')} ${a.EndReason ?? 'running'}`).join('; ')}`);
  print(`TrainingTimeInSeconds ${final.TrainingTimeInSeconds}, BillableTimeInSeconds ${final.BillableTimeInSeconds}, savings ${final.Savings.SavingsPercent}%`);
  return final;
}
