import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { TRAINING_JOB_NAME, type InstanceAction, type TrainingJobSpec } from '../lifecycle/job.js';
import { parseS3Uri, S3UriError } from '../s3uri.js';
import { PROTOCOL_PREFIXES } from '../protocol.js';
import { FieldReader } from './fields.js';
import { SAGEMAKER_TRAINING_INSTANCE_TYPES } from './instanceTypes.js';

/** EC2 instance types, optionally with SageMaker's `ml.` prefix, which is mapped away. */
const INSTANCE_TYPE = /^(ml\.)?[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const ENV_KEY = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_RUNTIME_LIMIT = 28 * 24 * 3600;
/** SageMaker's limit for spot jobs that cannot resume from a checkpoint. */
const MAX_WAIT_WITHOUT_CHECKPOINTS = 3600;

const TOP_LEVEL = [
  'TrainingJobName',
  'RoleArn',
  'AlgorithmSpecification',
  'ResourceConfig',
  'EnableManagedSpotTraining',
  'StoppingCondition',
  'CheckpointConfig',
  'OutputDataConfig',
  'Environment',
  'HyperParameters',
  'RetryStrategy',
  'Tags',
  'SpotOptions',
] as const;

export function mapInstanceType(type: string): string {
  return type.startsWith('ml.') ? type.slice(3) : type;
}

/** An instance type a job can launch on: one SageMaker trains on, or one the price table names. */
function knownInstanceType(reader: FieldReader, type: string | undefined, path: string, config: Config): void {
  if (type === undefined) return;
  const plain = mapInstanceType(type);
  if (SAGEMAKER_TRAINING_INSTANCE_TYPES.has(plain) || plain in config.prices) return;
  reader.problem(path, type, `be an instance type SageMaker trains on (such as ml.g5.xlarge or g5.xlarge; ${SAGEMAKER_TRAINING_INSTANCE_TYPES.size} in all) or one in the deployment's price table`);
}

function s3Uri(reader: FieldReader, obj: Record<string, unknown> | undefined, key: string, path: string, config: Config, required: boolean): string | undefined {
  const uri = reader.string(obj, key, path, { required, min: 1, max: 1024 });
  if (uri === undefined) return undefined;
  try {
    const location = parseS3Uri(uri);
    if (!config.allowedBuckets.includes(location.bucket)) {
      reader.invalid(`${path} ${uri} is in bucket ${location.bucket}, which this deployment does not allow; allowed: ${config.allowedBuckets.join(', ')}`);
      return undefined;
    }
    // The control bucket's protocol prefixes belong to the agent protocol: a job's objects there
    // would be read as instructions and reports (and its manifests never as checkpoints).
    if (location.bucket === config.controlBucket && (location.prefix === '' || PROTOCOL_PREFIXES.some((p) => location.prefix.startsWith(p)))) {
      reader.invalid(
        `${path} ${uri} is inside the control bucket's own ${location.prefix === '' ? 'root' : `prefix ${location.prefix.split('/')[0]}/`}, which holds the agent protocol (${PROTOCOL_PREFIXES.join(', ')}); use a folder such as s3://${config.controlBucket}/checkpoints/ or s3://${config.controlBucket}/output/`,
      );
      return undefined;
    }
    return `s3://${location.bucket}/${location.prefix}`;
  } catch (error) {
    if (!(error instanceof S3UriError)) throw error;
    reader.problem(path, uri, error.message);
    return undefined;
  }
}

/**
 * Validates a CreateTrainingJob request as SageMaker does and normalises it. All problems are
 * reported at once; nothing about the request is written unless all of it is valid.
 */
export function readCreateRequest(input: unknown, config: Config): TrainingJobSpec {
  const r = new FieldReader();
  const body = r.object(input, 'request body', true);
  if (!body) r.throwIfInvalid();
  const req = body as Record<string, unknown>;
  r.onlyKnown(req, '', TOP_LEVEL);

  const name = r.string(req, 'TrainingJobName', 'TrainingJobName', { required: true, min: 1, max: 63, pattern: TRAINING_JOB_NAME });
  const roleArn = r.string(req, 'RoleArn', 'RoleArn', { min: 20, max: 2048, pattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/ });

  const algorithm = r.object(req.AlgorithmSpecification, 'AlgorithmSpecification', true);
  if (algorithm) r.onlyKnown(algorithm, 'AlgorithmSpecification', ['TrainingImage', 'TrainingInputMode', 'ContainerEntrypoint', 'ContainerArguments']);
  const image = r.string(algorithm, 'TrainingImage', 'AlgorithmSpecification.TrainingImage', { min: 1, max: 255, pattern: /^[\S]+$/ });
  const inputMode = r.string(algorithm, 'TrainingInputMode', 'AlgorithmSpecification.TrainingInputMode', { max: 16, oneOf: ['File', 'Pipe', 'FastFile'] });
  const commandPart = (value: unknown, path: string) => {
    if (typeof value !== 'string' || value.length < 1 || value.length > 256) {
      r.problem(path, value, 'be a string of 1 to 256 characters');
      return undefined;
    }
    return value;
  };
  const entrypoint = r.list(algorithm, 'ContainerEntrypoint', 'AlgorithmSpecification.ContainerEntrypoint', { max: 100 }, commandPart);
  const args = r.list(algorithm, 'ContainerArguments', 'AlgorithmSpecification.ContainerArguments', { max: 100 }, commandPart);
  if (algorithm && image === undefined && entrypoint === undefined && r.ok) {
    r.invalid('AlgorithmSpecification must name a TrainingImage or a ContainerEntrypoint to run');
  }

  const resources = r.object(req.ResourceConfig, 'ResourceConfig', true);
  if (resources) r.onlyKnown(resources, 'ResourceConfig', ['InstanceType', 'InstanceCount', 'VolumeSizeInGB']);
  const instanceType = r.string(resources, 'InstanceType', 'ResourceConfig.InstanceType', { required: true, min: 3, max: 64, pattern: INSTANCE_TYPE });
  knownInstanceType(r, instanceType, 'ResourceConfig.InstanceType', config);
  const instanceCount = r.integer(resources, 'InstanceCount', 'ResourceConfig.InstanceCount', { required: true, min: 1, max: Number.MAX_SAFE_INTEGER });
  const volume = r.integer(resources, 'VolumeSizeInGB', 'ResourceConfig.VolumeSizeInGB', { min: 1, max: 16384 });

  const spot = r.boolean(req, 'EnableManagedSpotTraining', 'EnableManagedSpotTraining') ?? false;
  const stopping = r.object(req.StoppingCondition, 'StoppingCondition', spot);
  if (stopping) r.onlyKnown(stopping, 'StoppingCondition', ['MaxRuntimeInSeconds', 'MaxWaitTimeInSeconds']);
  const maxRuntime = r.integer(stopping, 'MaxRuntimeInSeconds', 'StoppingCondition.MaxRuntimeInSeconds', { min: 1, max: MAX_RUNTIME_LIMIT }) ?? 86400;
  const maxWait = r.integer(stopping, 'MaxWaitTimeInSeconds', 'StoppingCondition.MaxWaitTimeInSeconds', { min: 1, max: MAX_RUNTIME_LIMIT });

  const checkpoint = r.object(req.CheckpointConfig, 'CheckpointConfig', false);
  if (checkpoint) r.onlyKnown(checkpoint, 'CheckpointConfig', ['S3Uri', 'LocalPath']);
  const checkpointUri = checkpoint ? s3Uri(r, checkpoint, 'S3Uri', 'CheckpointConfig.S3Uri', config, true) : undefined;
  const localPath = r.string(checkpoint, 'LocalPath', 'CheckpointConfig.LocalPath', { max: 4096, pattern: /^\/(?!.*(^|\/)\.\.?(\/|$))[^\u0000-\u001f]*$/ });

  const output = r.object(req.OutputDataConfig, 'OutputDataConfig', true);
  if (output) r.onlyKnown(output, 'OutputDataConfig', ['S3OutputPath', 'KmsKeyId']);
  const outputPath = s3Uri(r, output, 'S3OutputPath', 'OutputDataConfig.S3OutputPath', config, true);

  const environment = r.stringMap(req, 'Environment', 'Environment', { maxEntries: 100, keyPattern: ENV_KEY, keyMax: 512, valueMax: 512 });
  const hyperParameters = r.stringMap(req, 'HyperParameters', 'HyperParameters', { maxEntries: 100, keyPattern: /^[\s\S]+$/, keyMax: 256, valueMax: 2500 });

  const retry = r.object(req.RetryStrategy, 'RetryStrategy', false);
  if (retry) r.onlyKnown(retry, 'RetryStrategy', ['MaximumRetryAttempts']);
  const maxRetries = r.integer(retry, 'MaximumRetryAttempts', 'RetryStrategy.MaximumRetryAttempts', { required: retry !== undefined, min: 1, max: 30 });

  const tags = r.list(req, 'Tags', 'Tags', { max: 50 }, (value, path) => {
    const tag = r.object(value, path, true);
    if (!tag) return undefined;
    r.onlyKnown(tag, path, ['Key', 'Value']);
    const key = r.string(tag, 'Key', `${path}.Key`, { required: true, min: 1, max: 128, pattern: /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u });
    const tagValue = r.string(tag, 'Value', `${path}.Value`, { max: 256, pattern: /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u }) ?? '';
    return key === undefined ? undefined : { Key: key, Value: tagValue };
  });

  const spotOptions = r.object(req.SpotOptions, 'SpotOptions', false);
  if (spotOptions) r.onlyKnown(spotOptions, 'SpotOptions', ['InterruptionBehavior', 'FallbackInstanceTypes', 'OnDemandFallbackAfterSeconds']);
  const behavior = r.string(spotOptions, 'InterruptionBehavior', 'SpotOptions.InterruptionBehavior', { max: 16, oneOf: ['terminate', 'stop', 'hibernate'] });
  const fallbackTypes = r.list(spotOptions, 'FallbackInstanceTypes', 'SpotOptions.FallbackInstanceTypes', { max: 10 }, (value, path) => {
    if (typeof value !== 'string' || !INSTANCE_TYPE.test(value) || value.length > 64) {
      r.problem(path, value, `satisfy regular expression pattern: ${INSTANCE_TYPE.source}`);
      return undefined;
    }
    knownInstanceType(r, value, path, config);
    return mapInstanceType(value);
  });
  const onDemandAfter = r.integer(spotOptions, 'OnDemandFallbackAfterSeconds', 'SpotOptions.OnDemandFallbackAfterSeconds', { min: 0, max: MAX_RUNTIME_LIMIT });

  // Rules across fields, as SageMaker words them.
  if (spot) {
    if (maxWait === undefined && stopping && r.ok) {
      r.invalid('Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to MaxRuntimeInSeconds');
    } else if (maxWait !== undefined && maxWait < maxRuntime) {
      r.invalid(`Invalid MaxWaitTimeInSeconds ${maxWait}. It must be present and be greater than or equal to MaxRuntimeInSeconds (${maxRuntime})`);
    } else if (maxWait !== undefined && !checkpoint && maxWait > MAX_WAIT_WITHOUT_CHECKPOINTS) {
      r.invalid(
        `Invalid MaxWaitTimeInSeconds ${maxWait}. Without CheckpointConfig a spot job restarts from scratch after every interruption and is limited to ${MAX_WAIT_WITHOUT_CHECKPOINTS} seconds`,
      );
    }
  } else {
    if (maxWait !== undefined) r.invalid('Invalid MaxWaitTimeInSeconds. It is only supported when EnableManagedSpotTraining is set to true');
    if (spotOptions) r.invalid('SpotOptions is only supported when EnableManagedSpotTraining is set to true');
  }
  if (behavior && behavior !== 'terminate' && (instanceCount ?? 1) > 1) {
    r.invalid(`SpotOptions.InterruptionBehavior ${behavior} needs ResourceConfig.InstanceCount 1: an attempt on several instances cannot wait for one of them to return`);
  }
  r.throwIfInvalid();

  if ((instanceCount as number) > config.maxInstancesPerJob) {
    throw new ApiError(
      'ResourceLimitExceeded',
      `The account-level service limit 'instances per training job' is ${config.maxInstancesPerJob} Instances, with current utilization of 0 Instances and a request delta of ${instanceCount} Instances.`,
    );
  }

  return {
    TrainingJobName: name as string,
    ...(roleArn ? { RoleArn: roleArn } : {}),
    AlgorithmSpecification: {
      ...(image ? { TrainingImage: image } : {}),
      TrainingInputMode: inputMode ?? 'File',
      ...(entrypoint ? { ContainerEntrypoint: entrypoint } : {}),
      ...(args ? { ContainerArguments: args } : {}),
    },
    ResourceConfig: { InstanceType: mapInstanceType(instanceType as string), InstanceCount: instanceCount as number, VolumeSizeInGB: volume ?? 30 },
    EnableManagedSpotTraining: spot,
    StoppingCondition: { MaxRuntimeInSeconds: maxRuntime, ...(maxWait !== undefined ? { MaxWaitTimeInSeconds: maxWait } : {}) },
    ...(checkpointUri ? { CheckpointConfig: { S3Uri: checkpointUri, LocalPath: localPath ?? '/opt/ml/checkpoints' } } : {}),
    OutputDataConfig: { S3OutputPath: outputPath as string },
    Environment: environment ?? {},
    HyperParameters: hyperParameters ?? {},
    ...(maxRetries !== undefined ? { RetryStrategy: { MaximumRetryAttempts: maxRetries } } : {}),
    Tags: tags ?? [],
    SpotInterruptionBehavior: (behavior ?? 'terminate') as InstanceAction,
    FallbackInstanceTypes: fallbackTypes ?? [],
    ...(onDemandAfter !== undefined ? { OnDemandFallbackAfterSeconds: onDemandAfter } : {}),
  };
}
