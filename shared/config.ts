import { z } from 'zod';
import { SpotTrainingError } from './errors.js';

/**
 * The control plane's configuration (functions/ and shared/), read from the environment once
 * and validated at start; nothing else in functions/ or shared/ reads process.env. The AWS SDK
 * and Powertools read their own variables (AWS_ENDPOINT_URL_<SERVICE>, credentials,
 * POWERTOOLS_*); the instance agent validates its own environment in agent/main.ts, and passes
 * it whole only to the training process it starts.
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
  /** The AMI training instances boot: Node.js 20+ and the agent (README: "Real instances"). */
  EC2_IMAGE_ID: z.string().default(''),
  /** CloudWatch Logs group the agents stream training output to; empty: the agent's default, /aws/sagemaker/TrainingJobs. */
  JOB_LOG_GROUP: z.string().default(''),
  EC2_INSTANCE_PROFILE_ARN: z.string().default(''),
  EC2_SUBNET_IDS: commaList,
  EC2_SECURITY_GROUP_IDS: commaList,
  /** `table`: PRICE_TABLE alone; `ec2`: spot prices from EC2's spot price history, on-demand from PRICE_TABLE. */
  PRICE_SOURCE: z.enum(['table', 'ec2']).default('table'),
  /** Set where S3 is not AWS's (LocalStack, the local cloud): such servers want path-style requests. */
  AWS_ENDPOINT_URL_S3: z.string().optional(),
  AWS_ENDPOINT_URL: z.string().optional(),
  /** Hourly prices per instance type, JSON: {"g5.xlarge": {"Spot": 0.4, "OnDemand": 1.006}}; merged over the defaults. */
  PRICE_TABLE: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as Record<string, { Spot: number; OnDemand: number }>;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'PRICE_TABLE must be JSON' });
        return z.NEVER;
      }
    }),
});

/**
 * On-demand prices (us-east-1, Linux, USD per hour) and typical spot prices, for reports
 * when nothing better is configured. Override with PRICE_TABLE.
 */
export const DEFAULT_PRICES: Record<string, { Spot: number; OnDemand: number }> = {
  'm5.large': { Spot: 0.035, OnDemand: 0.096 },
  'm5.xlarge': { Spot: 0.07, OnDemand: 0.192 },
  'c5.xlarge': { Spot: 0.068, OnDemand: 0.17 },
  'c5.2xlarge': { Spot: 0.136, OnDemand: 0.34 },
  'g4dn.xlarge': { Spot: 0.2, OnDemand: 0.526 },
  'g4dn.2xlarge': { Spot: 0.29, OnDemand: 0.752 },
  'g5.xlarge': { Spot: 0.4, OnDemand: 1.006 },
  'g5.2xlarge': { Spot: 0.48, OnDemand: 1.212 },
  'g5.12xlarge': { Spot: 2.2, OnDemand: 5.672 },
  'p3.2xlarge': { Spot: 0.92, OnDemand: 3.06 },
  'p3.8xlarge': { Spot: 3.67, OnDemand: 12.24 },
  'p4d.24xlarge': { Spot: 9.83, OnDemand: 32.7726 },
};

export type Config = {
  tableName: string;
  region: string;
  accountId: string;
  allowedBuckets: string[];
  controlBucket: string;
  /** Path-style S3 requests: S3 has an endpoint of its own (LocalStack, the local cloud). */
  s3ForcePathStyle: boolean;
  syntheticSource: string;
  maxInstancesPerJob: number;
  ec2: { imageId: string; instanceProfileArn: string; subnetIds: string[]; securityGroupIds: string[]; jobLogGroup: string };
  priceSource: 'table' | 'ec2';
  prices: Record<string, { Spot: number; OnDemand: number }>;
};

export class ConfigError extends SpotTrainingError {}

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
    s3ForcePathStyle: Boolean(c.AWS_ENDPOINT_URL_S3 || c.AWS_ENDPOINT_URL),
    syntheticSource: c.SYNTHETIC_SOURCE,
    maxInstancesPerJob: c.MAX_INSTANCES_PER_JOB,
    ec2: {
      imageId: c.EC2_IMAGE_ID,
      instanceProfileArn: c.EC2_INSTANCE_PROFILE_ARN,
      subnetIds: c.EC2_SUBNET_IDS,
      securityGroupIds: c.EC2_SECURITY_GROUP_IDS,
      jobLogGroup: c.JOB_LOG_GROUP,
    },
    priceSource: c.PRICE_SOURCE,
    prices: { ...DEFAULT_PRICES, ...c.PRICE_TABLE },
  };
}
