import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { TrainingJobSpec } from '../lifecycle/job.js';
import { NO_EFFECT_MEMBERS, type Json, type MetricDefinition, type NoEffectMembers, type VpcConfig } from '../lifecycle/jobSpec.js';
import { readInputDataConfig } from './channels.js';
import { FieldReader } from './fields.js';
import { checkAgainstModel } from './model/validate.js';
import { refuseUnsupported } from './refusals.js';
import { writableFolder } from './s3Locations.js';
import { readSpotOptions } from './spotOptions.js';
import { INSTANCE_TYPE, knownInstanceType, mapInstanceType } from './instanceTypes.js';

export { mapInstanceType } from './instanceTypes.js';

const MAX_RUNTIME_LIMIT = 28 * 24 * 3600;
/** SageMaker's limit for spot jobs that cannot resume from a checkpoint. */
const MAX_WAIT_WITHOUT_CHECKPOINTS = 3600;
/** An absolute container path without `.` or `..` segments or control characters. */
const CONTAINER_PATH = /^\/(?!.*(^|\/)\.\.?(\/|$))[^\u0000-\u001f]*$/;

type Obj = Record<string, unknown>;

const MODEL_OPTIONS = {
  // Plain EC2 types and the price table's are accepted besides SageMaker's enum (knownInstanceType).
  skipEnum: new Set(['TrainingInstanceType']),
  extraMembers: { CreateTrainingJobRequest: ['SpotOptions'] },
  // The instances use the deployment's instance profile; File is the default input mode.
  optionalMembers: { CreateTrainingJobRequest: ['RoleArn'], AlgorithmSpecification: ['TrainingInputMode'] },
};

/**
 * Validates a CreateTrainingJob request as SageMaker does and normalises it: first against
 * SageMaker's service model (every member, at every depth), then against the product's rules
 * (allowed buckets, spot limits, what cannot be honoured here). All problems of a stage are
 * reported at once; nothing about the request is written unless all of it is valid.
 */
export function readCreateRequest(input: unknown, config: Config): TrainingJobSpec {
  const r = new FieldReader();
  const body = r.object(input, 'request body', true);
  if (!body) r.throwIfInvalid();
  const req = body as Obj;
  checkAgainstModel(r, 'CreateTrainingJobRequest', req, MODEL_OPTIONS);
  r.throwIfInvalid();
  refuseUnsupported(r, req);

  const algorithm = r.object(req.AlgorithmSpecification, 'algorithmSpecification', true) ?? {};
  const image = algorithm.TrainingImage as string | undefined;
  if (image !== undefined && !/^\S+$/.test(image)) r.problem('algorithmSpecification.trainingImage', image, 'name an image: at least one character, no whitespace');
  const entrypoint = algorithm.ContainerEntrypoint as string[] | undefined;
  const args = algorithm.ContainerArguments as string[] | undefined;
  if (req.AlgorithmSpecification && image === undefined && entrypoint === undefined && algorithm.AlgorithmName === undefined) {
    r.invalid('AlgorithmSpecification must name a TrainingImage or a ContainerEntrypoint to run');
  }
  const metrics = metricDefinitions(r, algorithm.MetricDefinitions as MetricDefinition[] | undefined);

  const resources = r.object(req.ResourceConfig, 'resourceConfig', true) ?? {};
  const instanceType = r.string(resources, 'InstanceType', 'resourceConfig.instanceType', { required: true, min: 3, max: 64, pattern: INSTANCE_TYPE });
  knownInstanceType(r, instanceType, 'resourceConfig.instanceType', config);
  const instanceCount = r.integer(resources, 'InstanceCount', 'resourceConfig.instanceCount', { required: true, min: 1, max: Number.MAX_SAFE_INTEGER });
  const volume = r.integer(resources, 'VolumeSizeInGB', 'resourceConfig.volumeSizeInGB', { min: 1, max: 16384 });

  const spot = (req.EnableManagedSpotTraining as boolean | undefined) ?? false;
  const stopping = r.object(req.StoppingCondition, 'stoppingCondition', spot);
  const maxRuntime = r.integer(stopping, 'MaxRuntimeInSeconds', 'stoppingCondition.maxRuntimeInSeconds', { min: 1, max: MAX_RUNTIME_LIMIT }) ?? 86400;
  const maxWait = r.integer(stopping, 'MaxWaitTimeInSeconds', 'stoppingCondition.maxWaitTimeInSeconds', { min: 1, max: MAX_RUNTIME_LIMIT });
  const maxPending = stopping?.MaxPendingTimeInSeconds as number | undefined;

  const checkpoint = req.CheckpointConfig as Obj | undefined;
  const checkpointUri = checkpoint ? writableFolder(r, checkpoint.S3Uri as string, 'CheckpointConfig.S3Uri', config) : undefined;
  const localPath = r.string(checkpoint, 'LocalPath', 'checkpointConfig.localPath', { max: 4096, pattern: CONTAINER_PATH });

  const output = req.OutputDataConfig as Obj;
  const outputPath = writableFolder(r, output.S3OutputPath as string, 'OutputDataConfig.S3OutputPath', config);

  const tensorBoard = req.TensorBoardOutputConfig as Obj | undefined;
  const tensorBoardUri = tensorBoard ? writableFolder(r, tensorBoard.S3OutputPath as string, 'TensorBoardOutputConfig.S3OutputPath', config) : undefined;
  const tensorBoardPath = r.string(tensorBoard, 'LocalPath', 'tensorBoardOutputConfig.localPath', { max: 4096, pattern: CONTAINER_PATH });

  const inputMode = (algorithm.TrainingInputMode as string | undefined) ?? 'File';
  const channels = readInputDataConfig(r, req.InputDataConfig, inputMode, config);
  const spotOptions = readSpotOptions(r, req.SpotOptions, config);

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
    if (req.SpotOptions !== undefined && req.SpotOptions !== null) r.invalid('SpotOptions is only supported when EnableManagedSpotTraining is set to true');
  }
  if (spotOptions?.behavior && spotOptions.behavior !== 'terminate' && (instanceCount ?? 1) > 1) {
    r.invalid(`SpotOptions.InterruptionBehavior ${spotOptions.behavior} needs ResourceConfig.InstanceCount 1: an attempt on several instances cannot wait for one of them to return`);
  }
  r.throwIfInvalid();

  if ((instanceCount as number) > config.maxInstancesPerJob) {
    throw new ApiError(
      'ResourceLimitExceeded',
      `The account-level service limit 'instances per training job' is ${config.maxInstancesPerJob} Instances, with current utilization of 0 Instances and a request delta of ${instanceCount} Instances.`,
    );
  }

  const submittedType = instanceType as string;
  const noEffect = Object.fromEntries(NO_EFFECT_MEMBERS.filter((m) => req[m] !== undefined && req[m] !== null).map((m) => [m, req[m] as Json])) as NoEffectMembers;
  return {
    TrainingJobName: req.TrainingJobName as string,
    ...(req.RoleArn ? { RoleArn: req.RoleArn as string } : {}),
    AlgorithmSpecification: {
      ...(image ? { TrainingImage: image } : {}),
      TrainingInputMode: inputMode,
      ...(entrypoint ? { ContainerEntrypoint: entrypoint } : {}),
      ...(args ? { ContainerArguments: args } : {}),
      ...(metrics ? { MetricDefinitions: metrics } : {}),
      ...(algorithm.EnableSageMakerMetricsTimeSeries !== undefined ? { EnableSageMakerMetricsTimeSeries: algorithm.EnableSageMakerMetricsTimeSeries as boolean } : {}),
      ...(algorithm.TrainingImageConfig ? { TrainingImageConfig: { TrainingRepositoryAccessMode: 'Platform' as const } } : {}),
    },
    ResourceConfig: {
      InstanceType: mapInstanceType(submittedType),
      InstanceCount: instanceCount as number,
      VolumeSizeInGB: volume ?? 30,
      ...(submittedType !== mapInstanceType(submittedType) ? { SubmittedInstanceType: submittedType } : {}),
      ...(resources.VolumeKmsKeyId !== undefined ? { VolumeKmsKeyId: resources.VolumeKmsKeyId as string } : {}),
      ...(resources.KeepAlivePeriodInSeconds !== undefined ? { KeepAlivePeriodInSeconds: resources.KeepAlivePeriodInSeconds as number } : {}),
    },
    EnableManagedSpotTraining: spot,
    StoppingCondition: {
      MaxRuntimeInSeconds: maxRuntime,
      ...(maxWait !== undefined ? { MaxWaitTimeInSeconds: maxWait } : {}),
      ...(maxPending !== undefined ? { MaxPendingTimeInSeconds: maxPending } : {}),
    },
    ...(checkpointUri ? { CheckpointConfig: { S3Uri: checkpointUri, LocalPath: localPath ?? '/opt/ml/checkpoints' } } : {}),
    OutputDataConfig: {
      S3OutputPath: outputPath as string,
      ...(output.KmsKeyId !== undefined ? { KmsKeyId: output.KmsKeyId as string } : {}),
      ...(output.CompressionType !== undefined ? { CompressionType: output.CompressionType as 'GZIP' | 'NONE' } : {}),
    },
    ...(channels?.length ? { InputDataConfig: channels } : {}),
    ...(req.VpcConfig ? { VpcConfig: req.VpcConfig as VpcConfig } : {}),
    ...(req.EnableNetworkIsolation !== undefined ? { EnableNetworkIsolation: req.EnableNetworkIsolation as boolean } : {}),
    ...(req.EnableInterContainerTrafficEncryption !== undefined ? { EnableInterContainerTrafficEncryption: req.EnableInterContainerTrafficEncryption as boolean } : {}),
    ...(tensorBoardUri ? { TensorBoardOutputConfig: { S3OutputPath: tensorBoardUri, LocalPath: tensorBoardPath ?? '/opt/ml/output/tensorboard' } } : {}),
    ...(Object.keys(noEffect).length ? { NoEffect: noEffect } : {}),
    Environment: (req.Environment as Record<string, string> | undefined) ?? {},
    HyperParameters: (req.HyperParameters as Record<string, string> | undefined) ?? {},
    ...(req.RetryStrategy ? { RetryStrategy: { MaximumRetryAttempts: (req.RetryStrategy as Obj).MaximumRetryAttempts as number } } : {}),
    Tags: ((req.Tags as { Key: string; Value: string }[] | undefined) ?? []).map((t) => ({ Key: t.Key, Value: t.Value })),
    SpotInterruptionBehavior: spotOptions?.behavior ?? 'terminate',
    FallbackInstanceTypes: spotOptions?.fallbackTypes ?? [],
    ...(spotOptions?.onDemandAfter !== undefined ? { OnDemandFallbackAfterSeconds: spotOptions.onDemandAfter } : {}),
  };
}

/** Each regex is applied to the training output by JavaScript's engine: one it cannot compile is refused here, not at run time. */
function metricDefinitions(r: FieldReader, definitions: MetricDefinition[] | undefined): MetricDefinition[] | undefined {
  if (!definitions) return undefined;
  const names = new Set<string>();
  definitions.forEach((d, i) => {
    if (names.has(d.Name)) r.invalid(`AlgorithmSpecification.MetricDefinitions[${i}].Name '${d.Name}' is defined twice; metric names must be unique`);
    names.add(d.Name);
    try {
      new RegExp(d.Regex);
    } catch (error) {
      r.problem(`algorithmSpecification.metricDefinitions.${i + 1}.member.regex`, d.Regex, `be a regular expression: ${(error as Error).message}`);
    }
  });
  return definitions.map((d) => ({ Name: d.Name, Regex: d.Regex }));
}
