import { UsageError } from './context.js';

/**
 * CreateTrainingJob's request from `--cli-input-json` (the same file `aws sagemaker
 * create-training-job --cli-input-json` takes) and flags; as in the AWS CLI, flags override
 * the file's values. The server validates everything and names the field at fault.
 */
export interface CreateFlags {
  'training-job-name'?: string;
  'role-arn'?: string;
  'training-image'?: string;
  'training-input-mode'?: string;
  'container-entrypoint'?: string[];
  'container-arguments'?: string[];
  'instance-type'?: string;
  'instance-count'?: string;
  'volume-size-in-gb'?: string;
  'enable-managed-spot-training'?: boolean;
  'no-enable-managed-spot-training'?: boolean;
  'max-runtime-in-seconds'?: string;
  'max-wait-time-in-seconds'?: string;
  'checkpoint-s3-uri'?: string;
  'checkpoint-local-path'?: string;
  'output-s3-path'?: string;
  environment?: string[];
  'hyper-parameters'?: string[];
  tags?: string[];
  'max-retry-attempts'?: string;
  'interruption-behavior'?: string;
  'fallback-instance-types'?: string;
  'on-demand-fallback-after-seconds'?: string;
}

export const SKELETON = {
  TrainingJobName: '',
  RoleArn: '',
  AlgorithmSpecification: { TrainingImage: '', TrainingInputMode: 'File', ContainerEntrypoint: [''], ContainerArguments: [''] },
  ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 },
  EnableManagedSpotTraining: true,
  StoppingCondition: { MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 },
  CheckpointConfig: { S3Uri: '', LocalPath: '/opt/ml/checkpoints' },
  OutputDataConfig: { S3OutputPath: '' },
  Environment: { KeyName: '' },
  HyperParameters: { KeyName: '' },
  RetryStrategy: { MaximumRetryAttempts: 1 },
  Tags: [{ Key: '', Value: '' }],
  SpotOptions: { InterruptionBehavior: 'terminate', FallbackInstanceTypes: [''], OnDemandFallbackAfterSeconds: 0 },
};

/** `file://path`, `fileb://path`, or the JSON itself, as the AWS CLI reads parameter values. */
export async function readJsonParameter(value: string, readFile: (path: string) => Promise<string>, name = '--cli-input-json'): Promise<Record<string, unknown>> {
  let text = value;
  const file = /^fileb?:\/\/(.+)$/.exec(value)?.[1];
  if (file) {
    try {
      text = await readFile(file);
    } catch (error) {
      throw new UsageError(`Error parsing parameter '${name}': Unable to load paramfile ${value}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`Error parsing parameter '${name}': Invalid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`Error parsing parameter '${name}': expected a JSON object`);
  return parsed as Record<string, unknown>;
}

/** An integer flag becomes a number; anything else is sent as given, for the server to name the field. */
function numberish(value: string): number | string {
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
}

function pairs(values: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    for (const item of v.split(/,(?=[^,=]+=)/)) {
      const eq = item.indexOf('=');
      if (eq < 1) throw new UsageError(`Error parsing parameter '--${flag}': expected KEY=VALUE, got '${item}'`);
      out[item.slice(0, eq)] = item.slice(eq + 1);
    }
  }
  return out;
}

const objectAt = (req: Record<string, unknown>, key: string): Record<string, unknown> => {
  const current = req[key];
  if (typeof current === 'object' && current !== null && !Array.isArray(current)) return current as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  req[key] = fresh;
  return fresh;
};

export function applyCreateFlags(base: Record<string, unknown>, f: CreateFlags, positionalName?: string): Record<string, unknown> {
  const req: Record<string, unknown> = structuredClone(base);
  const name = f['training-job-name'] ?? positionalName;
  if (name !== undefined) req.TrainingJobName = name;
  if (f['role-arn'] !== undefined) req.RoleArn = f['role-arn'];
  if (f['training-image'] !== undefined) objectAt(req, 'AlgorithmSpecification').TrainingImage = f['training-image'];
  if (f['training-input-mode'] !== undefined) objectAt(req, 'AlgorithmSpecification').TrainingInputMode = f['training-input-mode'];
  if (f['container-entrypoint']?.length) objectAt(req, 'AlgorithmSpecification').ContainerEntrypoint = f['container-entrypoint'];
  if (f['container-arguments']?.length) objectAt(req, 'AlgorithmSpecification').ContainerArguments = f['container-arguments'];
  if (f['instance-type'] !== undefined) {
    const rc = objectAt(req, 'ResourceConfig');
    rc.InstanceType = f['instance-type'];
    // Given by flags alone, one instance unless told otherwise.
    rc.InstanceCount ??= 1;
  }
  if (f['instance-count'] !== undefined) objectAt(req, 'ResourceConfig').InstanceCount = numberish(f['instance-count']);
  if (f['volume-size-in-gb'] !== undefined) objectAt(req, 'ResourceConfig').VolumeSizeInGB = numberish(f['volume-size-in-gb']);
  if (f['enable-managed-spot-training'] && f['no-enable-managed-spot-training']) {
    throw new UsageError('--enable-managed-spot-training and --no-enable-managed-spot-training contradict each other');
  }
  if (f['enable-managed-spot-training']) req.EnableManagedSpotTraining = true;
  if (f['no-enable-managed-spot-training']) req.EnableManagedSpotTraining = false;
  if (f['max-runtime-in-seconds'] !== undefined) objectAt(req, 'StoppingCondition').MaxRuntimeInSeconds = numberish(f['max-runtime-in-seconds']);
  if (f['max-wait-time-in-seconds'] !== undefined) objectAt(req, 'StoppingCondition').MaxWaitTimeInSeconds = numberish(f['max-wait-time-in-seconds']);
  if (f['checkpoint-s3-uri'] !== undefined) objectAt(req, 'CheckpointConfig').S3Uri = f['checkpoint-s3-uri'];
  if (f['checkpoint-local-path'] !== undefined) objectAt(req, 'CheckpointConfig').LocalPath = f['checkpoint-local-path'];
  if (f['output-s3-path'] !== undefined) objectAt(req, 'OutputDataConfig').S3OutputPath = f['output-s3-path'];
  if (f.environment?.length) Object.assign(objectAt(req, 'Environment'), pairs(f.environment, 'environment'));
  if (f['hyper-parameters']?.length) Object.assign(objectAt(req, 'HyperParameters'), pairs(f['hyper-parameters'], 'hyper-parameters'));
  if (f.tags?.length) {
    const tags = Array.isArray(req.Tags) ? [...(req.Tags as unknown[])] : [];
    for (const [Key, Value] of Object.entries(pairs(f.tags, 'tags'))) tags.push({ Key, Value });
    req.Tags = tags;
  }
  if (f['max-retry-attempts'] !== undefined) objectAt(req, 'RetryStrategy').MaximumRetryAttempts = numberish(f['max-retry-attempts']);
  if (f['interruption-behavior'] !== undefined) objectAt(req, 'SpotOptions').InterruptionBehavior = f['interruption-behavior'];
  if (f['fallback-instance-types'] !== undefined) {
    objectAt(req, 'SpotOptions').FallbackInstanceTypes = f['fallback-instance-types']
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (f['on-demand-fallback-after-seconds'] !== undefined) objectAt(req, 'SpotOptions').OnDemandFallbackAfterSeconds = numberish(f['on-demand-fallback-after-seconds']);
  return req;
}
