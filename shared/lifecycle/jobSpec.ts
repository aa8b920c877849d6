/**
 * The parts of a CreateTrainingJob request the product carries beyond the lifecycle's own
 * fields, in SageMaker's shapes and names, so that the agent can hand them to the training
 * container as SageMaker does (inputdataconfig.json, the SM_* environment) and
 * DescribeTrainingJob can return them as submitted. All optional: a record written before
 * they existed reads as a job that did not ask for them.
 */

/** `AlgorithmSpecification.MetricDefinitions`: each regex is applied to the training output. */
export interface MetricDefinition {
  Name: string;
  Regex: string;
}

export type S3DataType = 'S3Prefix' | 'ManifestFile';
export type S3DataDistribution = 'FullyReplicated' | 'ShardedByS3Key';

/** One `InputDataConfig` channel, S3 only, File mode only (the others are refused). */
export interface InputChannel {
  ChannelName: string;
  DataSource: {
    S3DataSource: {
      S3DataType: S3DataType;
      /** As submitted: for S3Prefix a key prefix (SageMaker's rule: every key that starts with it), for ManifestFile the manifest's key. */
      S3Uri: string;
      S3DataDistributionType: S3DataDistribution;
      ModelAccessConfig?: { AcceptEula: boolean };
    };
  };
  ContentType?: string;
  CompressionType?: 'None' | 'Gzip';
  RecordWrapperType?: 'None' | 'RecordIO';
  InputMode: 'File';
  ShuffleConfig?: { Seed: number };
}

export interface VpcConfig {
  SecurityGroupIds: string[];
  Subnets: string[];
}

export interface TensorBoardOutputConfig {
  S3OutputPath: string;
  /** Default `/opt/ml/output/tensorboard`, as SageMaker's. */
  LocalPath: string;
}

/** A JSON value as the request carried it (validated against SageMaker's model). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * Members that have no effect here (Debugger, Profiler, Experiments, …): validated against
 * SageMaker's model, kept as submitted, returned by DescribeTrainingJob.
 */
export const NO_EFFECT_MEMBERS = [
  'DebugHookConfig',
  'DebugRuleConfigurations',
  'ProfilerConfig',
  'ProfilerRuleConfigurations',
  'ExperimentConfig',
  'RemoteDebugConfig',
  'InfraCheckConfig',
  'SessionChainingConfig',
  'MlflowConfig',
  'ModelPackageConfig',
] as const;
export type NoEffectMember = (typeof NO_EFFECT_MEMBERS)[number];
export type NoEffectMembers = Partial<Record<NoEffectMember, Json>>;
