import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { TRAINING_JOB_NAME } from '../shared/lifecycle/job.js';
import { Agent } from './agent.js';
import { Imds } from './imds.js';

/**
 * The agent's entry point, started at boot by the user data's systemd unit (or by the local
 * cloud for a simulated instance). Configuration is the environment, validated here:
 *   SPOT_TRAINING_JOB, SPOT_TRAINING_ATTEMPT, SPOT_TRAINING_CONTROL_BUCKET   (from the user data)
 *   SPOT_TRAINING_LOG_GROUP      CloudWatch Logs group for the training output (on AWS)
 *   SPOT_TRAINING_LOG_DIR        or a folder, mirrored to the control bucket (locally)
 *   SPOT_TRAINING_POLL_SECONDS   control requests and the spot notice, default 5
 *   SPOT_TRAINING_SYNC_SECONDS   periodic checkpoint sync, default 300
 *   SPOT_TRAINING_STOP_GRACE_SECONDS  time the training process gets after SIGTERM, default 90
 *   SPOT_TRAINING_ROOT           prefix for /opt/ml paths, default /
 */
const env = z
  .object({
    SPOT_TRAINING_JOB: z.string().regex(TRAINING_JOB_NAME),
    SPOT_TRAINING_ATTEMPT: z.coerce.number().int().min(1),
    SPOT_TRAINING_CONTROL_BUCKET: z.string().min(3),
    SPOT_TRAINING_LOG_GROUP: z.string().optional(),
    SPOT_TRAINING_LOG_DIR: z.string().default('/var/log/spot-training'),
    SPOT_TRAINING_POLL_SECONDS: z.coerce.number().positive().default(5),
    SPOT_TRAINING_SYNC_SECONDS: z.coerce.number().positive().default(300),
    SPOT_TRAINING_STOP_GRACE_SECONDS: z.coerce.number().positive().default(90),
    SPOT_TRAINING_ROOT: z.string().default('/'),
    AWS_REGION: z.string().default('us-east-1'),
    /** The instance metadata service; the local cloud points it at its own. */
    AWS_EC2_METADATA_SERVICE_ENDPOINT: z.string().url().default('http://169.254.169.254'),
    /** Set where S3 is not AWS's (the local cloud): path-style addressing. */
    AWS_ENDPOINT_URL_S3: z.string().url().optional(),
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
  logs: c.SPOT_TRAINING_LOG_GROUP
    ? { kind: 'cloudwatch', client: new CloudWatchLogsClient({ region: c.AWS_REGION }), group: c.SPOT_TRAINING_LOG_GROUP }
    : { kind: 'file', dir: c.SPOT_TRAINING_LOG_DIR },
  print: (line) => process.stdout.write(`${line}\n`),
});
try {
  process.exitCode = await agent.run();
} catch (error) {
  process.stderr.write(`spot-training agent failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
}
