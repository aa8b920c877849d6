/**
 * What each top-level member of SageMaker's CreateTrainingJob does here: honoured, accepted
 * with no effect (validated as SageMaker validates it and returned by DescribeTrainingJob), or
 * refused with the reason. The README's table says the same; a test keeps the two, and
 * SageMaker's model, in step.
 */
export type MemberEffect = 'honoured' | 'no effect' | 'refused';

export interface MemberSupport {
  member: string;
  effect: MemberEffect;
  /** Honoured in part: the nested members refused or without effect. */
  partly?: MemberEffect;
  what: string;
}

export const CREATE_TRAINING_JOB_MEMBERS: readonly MemberSupport[] = [
  { member: 'TrainingJobName', effect: 'honoured', what: 'the job; unique whatever its case' },
  { member: 'RoleArn', effect: 'no effect', what: "validated and returned; optional here: the instances use the deployment's instance profile" },
  {
    member: 'AlgorithmSpecification',
    effect: 'honoured',
    partly: 'refused',
    what: 'TrainingImage, ContainerEntrypoint/ContainerArguments (the command), MetricDefinitions (applied to the training output: CloudWatch metrics and FinalMetricDataList); TrainingInputMode File only (Pipe and FastFile refused); AlgorithmName refused (algorithms and Marketplace run in SageMaker\'s accounts); TrainingImageConfig Platform only; EnableSageMakerMetricsTimeSeries no effect',
  },
  { member: 'HyperParameters', effect: 'honoured', what: 'to the container (hyperparameters.json, SM_HP_*)' },
  { member: 'Environment', effect: 'honoured', what: "the container's environment" },
  {
    member: 'InputDataConfig',
    effect: 'honoured',
    partly: 'refused',
    what: 'S3 channels (S3Prefix, ManifestFile; FullyReplicated, ShardedByS3Key; ContentType, CompressionType, RecordWrapperType, ShuffleConfig passed on) in allowed buckets, downloaded in File mode; FileSystemDataSource, DatasetSource, AugmentedManifestFile, Converse, AttributeNames, InstanceGroupNames, HubAccessConfig, Pipe and FastFile refused',
  },
  { member: 'OutputDataConfig', effect: 'honoured', what: 'S3OutputPath (allowed buckets), KmsKeyId (outputs and checkpoints written with it), CompressionType (NONE: the model as files)' },
  {
    member: 'ResourceConfig',
    effect: 'honoured',
    partly: 'refused',
    what: 'InstanceType (ml. or EC2), InstanceCount, VolumeSizeInGB, VolumeKmsKeyId (the volume\'s key); KeepAlivePeriodInSeconds no effect (instances end with the job); InstanceGroups, TrainingPlanArn, InstancePlacementConfig refused',
  },
  { member: 'VpcConfig', effect: 'honoured', what: "the subnets and security groups the job's instances launch in" },
  {
    member: 'StoppingCondition',
    effect: 'honoured',
    what: "MaxRuntimeInSeconds, MaxWaitTimeInSeconds; MaxPendingTimeInSeconds validated and returned, no effect: it bounds a wait in a training plan's queue (TrainingPlanArn is refused)",
  },
  { member: 'Tags', effect: 'honoured', what: 'kept with the job, returned by ListTags' },
  { member: 'EnableNetworkIsolation', effect: 'honoured', what: 'the container runs with no network; the agent keeps its S3 access' },
  { member: 'EnableInterContainerTrafficEncryption', effect: 'no effect', partly: 'refused', what: 'accepted on one instance (no such traffic); true with InstanceCount > 1 refused: that traffic is not encrypted here' },
  { member: 'EnableManagedSpotTraining', effect: 'honoured', what: 'EC2 Spot capacity, with SageMaker\'s rules for MaxWaitTimeInSeconds' },
  { member: 'CheckpointConfig', effect: 'honoured', what: 'S3Uri (allowed buckets) and LocalPath, synced and restored' },
  { member: 'DebugHookConfig', effect: 'no effect', what: 'SageMaker Debugger is not run here' },
  { member: 'DebugRuleConfigurations', effect: 'no effect', what: 'no rule evaluation jobs are run' },
  { member: 'TensorBoardOutputConfig', effect: 'honoured', what: 'LocalPath synced to S3OutputPath (allowed buckets)' },
  { member: 'ExperimentConfig', effect: 'no effect', what: 'no SageMaker Experiments here' },
  { member: 'ProfilerConfig', effect: 'no effect', what: 'SageMaker Profiler is not run here' },
  { member: 'ProfilerRuleConfigurations', effect: 'no effect', what: 'no rule evaluation jobs are run' },
  { member: 'RetryStrategy', effect: 'honoured', what: 'a failed attempt is retried up to MaximumRetryAttempts' },
  { member: 'RemoteDebugConfig', effect: 'no effect', what: 'no remote debugging session into the container' },
  { member: 'InfraCheckConfig', effect: 'no effect', what: 'no instance health checks before training' },
  { member: 'SessionChainingConfig', effect: 'no effect', what: 'no role session, so no session tags to chain' },
  { member: 'ServerlessJobConfig', effect: 'refused', what: "serverless model customisation runs SageMaker's recipes on hardware SageMaker picks" },
  { member: 'MlflowConfig', effect: 'no effect', what: 'nothing is logged to an MLflow tracking server' },
  { member: 'ModelPackageConfig', effect: 'no effect', what: 'no model package is registered' },
];
