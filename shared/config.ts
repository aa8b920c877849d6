import { z } from 'zod';

/**
 * All configuration, read from the environment once and validated at start. Nothing else
 * in the product reads process.env.
 */
const commaList = z
  .string()
  .default('')
  .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean));

const schema = z.object({
  TABLE_NAME: z.string().min(1).default('spot-training-jobs'),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  ACCOUNT_ID: z.string().regex(/^\d{12}$/, 'ACCOUNT_ID must be 12 digits').default('000000000000'),
  /** Buckets a job may name in CheckpointConfig.S3Uri (and OutputDataConfig.S3OutputPath). */
  ALLOWED_BUCKETS: commaList,
  /** The bucket for agent control objects and reports. */
  CONTROL_BUCKET: z.string().min(1).default('spot-training-control'),
  /** Source of synthetic EC2 events on AWS, where PutEvents refuses `aws.*`. */
  SYNTHETIC_SOURCE: z.string().min(1).default('spot-training.synthetic'),
  MAX_INSTANCES_PER_JOB: z.coerce.number().int().min(1).default(20),
});

export type Config = {
  tableName: string;
  region: string;
  accountId: string;
  allowedBuckets: string[];
  controlBucket: string;
  syntheticSource: string;
  maxInstancesPerJob: number;
};

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const c = parsed.data;
  return {
    tableName: c.TABLE_NAME,
    region: c.AWS_REGION,
    accountId: c.ACCOUNT_ID,
    allowedBuckets: c.ALLOWED_BUCKETS.length ? c.ALLOWED_BUCKETS : [c.CONTROL_BUCKET],
    controlBucket: c.CONTROL_BUCKET,
    syntheticSource: c.SYNTHETIC_SOURCE,
    maxInstancesPerJob: c.MAX_INSTANCES_PER_JOB,
  };
}
