import type { JobRecord, TrainingJobSpec } from '../lifecycle/job.js';

/**
 * DescribeTrainingJob's members that echo the request, in SageMaker's shapes: what was
 * submitted, as submitted (`ml.g5.xlarge` stays `ml.g5.xlarge`; the EC2 type each attempt ran
 * on is in its attempts), with the defaults SageMaker fills in.
 */
export function submittedMembers(job: JobRecord) {
  const spec = job.Spec;
  return {
    AlgorithmSpecification: algorithmSpecification(spec),
    ResourceConfig: resourceConfig(spec),
    StoppingCondition: spec.StoppingCondition,
    OutputDataConfig: spec.OutputDataConfig,
    InputDataConfig: spec.InputDataConfig,
    VpcConfig: spec.VpcConfig,
    EnableNetworkIsolation: spec.EnableNetworkIsolation ?? false,
    EnableInterContainerTrafficEncryption: spec.EnableInterContainerTrafficEncryption ?? false,
    TensorBoardOutputConfig: spec.TensorBoardOutputConfig,
    ...(spec.NoEffect ?? {}),
    FinalMetricDataList: job.FinalMetricDataList?.map((m) => ({ MetricName: m.MetricName, Value: m.Value, Timestamp: m.Timestamp / 1000 })),
  };
}

function algorithmSpecification(spec: TrainingJobSpec) {
  const a = spec.AlgorithmSpecification;
  return {
    ...(a.TrainingImage !== undefined ? { TrainingImage: a.TrainingImage } : {}),
    TrainingInputMode: a.TrainingInputMode,
    ...(a.MetricDefinitions ? { MetricDefinitions: a.MetricDefinitions } : {}),
    ...(a.EnableSageMakerMetricsTimeSeries !== undefined ? { EnableSageMakerMetricsTimeSeries: a.EnableSageMakerMetricsTimeSeries } : {}),
    ...(a.ContainerEntrypoint ? { ContainerEntrypoint: a.ContainerEntrypoint } : {}),
    ...(a.ContainerArguments ? { ContainerArguments: a.ContainerArguments } : {}),
    ...(a.TrainingImageConfig ? { TrainingImageConfig: a.TrainingImageConfig } : {}),
  };
}

function resourceConfig(spec: TrainingJobSpec) {
  const r = spec.ResourceConfig;
  return {
    InstanceType: r.SubmittedInstanceType ?? r.InstanceType,
    InstanceCount: r.InstanceCount,
    VolumeSizeInGB: r.VolumeSizeInGB,
    ...(r.VolumeKmsKeyId !== undefined ? { VolumeKmsKeyId: r.VolumeKmsKeyId } : {}),
    ...(r.KeepAlivePeriodInSeconds !== undefined ? { KeepAlivePeriodInSeconds: r.KeepAlivePeriodInSeconds } : {}),
  };
}
