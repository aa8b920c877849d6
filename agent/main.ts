import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { TRAINING_JOB_NAME } from '../shared/lifecycle/job.js';
import { TRAINING_LOG_GROUP } from '../shared/trainingLogs.js';
import { Agent } from './agent.js';
import { hostAddresses } from './container/hosts.js';
import { DEFAULT_TRANSFER } from './checkpoint/settings.js';
import { DEFAULT_CHECKPOINT_SETTINGS } from './checkpoint/sync.js';
import { Imds } from './imds.js';

/**
 * The agent's entry point, started at boot by the user data's systemd unit (or by the local
 * cloud for a simulated instance). Configuration is the environment, validated here:
 *   SPOT_TRAINING_JOB, SPOT_TRAINING_ATTEMPT, SPOT_TRAINING_CONTROL_BUCKET   (from the user data)
 *   SPOT_TRAINING_LOG_GROUP      CloudWatch Logs group of the training output, default /aws/sagemaker/TrainingJobs
 *   SPOT_TRAINING_POLL_SECONDS   control requests, the spot notice and input download progress reports, default 5
 *   SPOT_TRAINING_SYNC_SECONDS   periodic checkpoint sync, default 300
 *   SPOT_TRAINING_STOP_GRACE_SECONDS  time the training process gets after SIGTERM when stopped, default 120 (SageMaker's)
 *   SPOT_TRAINING_INTERRUPT_GRACE_SECONDS  the same at a spot interruption, default 90 (the final checkpoint needs the rest)
 *   SPOT_TRAINING_CONTAINER_RUNTIME   docker (the TrainingImage, default) or process (ContainerEntrypoint as a process; the local cloud)
 *   SPOT_TRAINING_ROOT           prefix for /opt/ml paths, default /
 *   SPOT_TRAINING_CHECKPOINT_RETENTION       complete checkpoints kept, default 3 (a job's Environment overrides)
 *   SPOT_TRAINING_CHECKPOINT_EMPTY_SECONDS   LocalPath empty this long is reported, default 1800 (likewise)
 *   SPOT_TRAINING_FINAL_CHECKPOINT_MARGIN_SECONDS  a final checkpoint's deadline: the notice less this, default 10
 *   AWS_ENDPOINT_URL_CLOUDWATCH  MetricDefinitions' values go to CloudWatch on AWS (no endpoint is set there),
 *                                and elsewhere only to a CloudWatch this names
 *   SPOT_TRAINING_PART_SIZE_MIB, SPOT_TRAINING_PART_CONCURRENCY, SPOT_TRAINING_FILE_CONCURRENCY,
 *   SPOT_TRAINING_RESTORE_CONCURRENCY        transfers, defaults 8, 8, 8, 16 (agent/checkpoint/settings.ts)
 */
const env = z
  .object({
    SPOT_TRAINING_JOB: z.string().regex(TRAINING_JOB_NAME),
    SPOT_TRAINING_ATTEMPT: z.coerce.number().int().min(1),
    SPOT_TRAINING_CONTROL_BUCKET: z.string().min(3),
    SPOT_TRAINING_LOG_GROUP: z.string().min(1).max(512).default(TRAINING_LOG_GROUP),
    SPOT_TRAINING_POLL_SECONDS: z.coerce.number().positive().default(5),
    SPOT_TRAINING_SYNC_SECONDS: z.coerce.number().positive().default(300),
    SPOT_TRAINING_STOP_GRACE_SECONDS: z.coerce.number().positive().default(120),
    SPOT_TRAINING_INTERRUPT_GRACE_SECONDS: z.coerce.number().positive().default(90),
    SPOT_TRAINING_CONTAINER_RUNTIME: z.enum(['docker', 'process']).default('docker'),
    SPOT_TRAINING_ROOT: z.string().default('/'),
    SPOT_TRAINING_CHECKPOINT_RETENTION: z.coerce.number().int().min(1).default(DEFAULT_CHECKPOINT_SETTINGS.retention),
    SPOT_TRAINING_CHECKPOINT_EMPTY_SECONDS: z.coerce.number().positive().default(DEFAULT_CHECKPOINT_SETTINGS.emptyAfterMs / 1000),
    SPOT_TRAINING_FINAL_CHECKPOINT_MARGIN_SECONDS: z.coerce.number().min(0).default(DEFAULT_CHECKPOINT_SETTINGS.finalMarginMs / 1000),
    SPOT_TRAINING_PART_SIZE_MIB: z.coerce.number().int().min(5).max(5120).default(DEFAULT_TRANSFER.partSizeBytes / 1024 / 1024),
    SPOT_TRAINING_PART_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(DEFAULT_TRANSFER.partConcurrency),
    SPOT_TRAINING_FILE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(DEFAULT_TRANSFER.fileConcurrency),
    SPOT_TRAINING_RESTORE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(DEFAULT_TRANSFER.restoreConcurrency),
    AWS_REGION: z.string().default('us-east-1'),
    /** The instance metadata service; the local cloud points it at its own. */
    AWS_EC2_METADATA_SERVICE_ENDPOINT: z.string().url().default('http://169.254.169.254'),
    /** Set where S3 is not AWS's (the local cloud): path-style addressing. */
    AWS_ENDPOINT_URL_S3: z.string().url().optional(),
    /** Read by the SDK itself; here only to tell whether CloudWatch is there. */
    AWS_ENDPOINT_URL_CLOUDWATCH: z.string().url().optional(),
  })
  .safeParse(process.env);
if (!env.success) {
  process.stderr.write(`spot-training agent: invalid environment: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`);
  process.exit(2);
}
const c = env.data;
const agent = new Agent({
  jobName: c.SPOT_TRAINING_JOB,
  launchedAttempt: c.SPOT_TRAINING_ATTEMPT,
  controlBucket: c.SPOT_TRAINING_CONTROL_BUCKET,
  s3: new S3Client({ region: c.AWS_REGION, forcePathStyle: c.AWS_ENDPOINT_URL_S3 !== undefined }),
  imds: new Imds(c.AWS_EC2_METADATA_SERVICE_ENDPOINT),
  root: c.SPOT_TRAINING_ROOT,
  pollIntervalMs: c.SPOT_TRAINING_POLL_SECONDS * 1000,
  syncIntervalMs: c.SPOT_TRAINING_SYNC_SECONDS * 1000,
  stopGraceMs: c.SPOT_TRAINING_STOP_GRACE_SECONDS * 1000,
  interruptGraceMs: c.SPOT_TRAINING_INTERRUPT_GRACE_SECONDS * 1000,
  runtime: c.SPOT_TRAINING_CONTAINER_RUNTIME,
  hostAddresses: (ids) => hostAddresses(new EC2Client({ region: c.AWS_REGION }), ids),
  region: c.AWS_REGION,
  checkpoints: {
    transfer: {
      partSizeBytes: c.SPOT_TRAINING_PART_SIZE_MIB * 1024 * 1024,
      partConcurrency: c.SPOT_TRAINING_PART_CONCURRENCY,
      fileConcurrency: c.SPOT_TRAINING_FILE_CONCURRENCY,
      restoreConcurrency: c.SPOT_TRAINING_RESTORE_CONCURRENCY,
    },
    retention: c.SPOT_TRAINING_CHECKPOINT_RETENTION,
    emptyAfterMs: c.SPOT_TRAINING_CHECKPOINT_EMPTY_SECONDS * 1000,
    finalMarginMs: c.SPOT_TRAINING_FINAL_CHECKPOINT_MARGIN_SECONDS * 1000,
  },
  // The endpoint is the SDK's, or AWS_ENDPOINT_URL_CLOUDWATCH_LOGS where it is not AWS's (the local cloud).
  logs: { client: new CloudWatchLogsClient({ region: c.AWS_REGION }), group: c.SPOT_TRAINING_LOG_GROUP },
  // On AWS (S3 is AWS's) CloudWatch always is; elsewhere only where one is named.
  ...(c.AWS_ENDPOINT_URL_S3 === undefined || c.AWS_ENDPOINT_URL_CLOUDWATCH !== undefined ? { cloudwatch: new CloudWatchClient({ region: c.AWS_REGION }) } : {}),
  print: (line) => process.stdout.write(`${line}\n`),
});
try {
  process.exitCode = await agent.run();
} catch (error) {
  process.stderr.write(`spot-training agent failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
}
