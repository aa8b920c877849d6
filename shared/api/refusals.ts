import type { FieldReader } from './fields.js';

type Obj = Record<string, unknown>;

/** A member SageMaker has that this product deliberately does not take, with the reason. */
export function refuse(reader: FieldReader, field: string, reason: string): void {
  reader.invalid(`${field} is not supported here: ${reason}`);
}

export const REFUSED_INPUT_MODE = (mode: string) =>
  `${mode} mode is not supported here (data would have to be streamed into the container); use File, which downloads every channel before training starts`;

/**
 * The members of a CreateTrainingJob request (already checked against SageMaker's model)
 * that this product refuses, whatever their value or for the values it cannot honour.
 * InputDataConfig's own refusals are in channels.ts.
 */
export function refuseUnsupported(reader: FieldReader, req: Obj): void {
  if (req.ServerlessJobConfig !== undefined) {
    refuse(reader, 'ServerlessJobConfig', 'serverless model customisation runs SageMaker\'s own recipes on hardware SageMaker picks; here a job runs the TrainingImage you name on EC2');
  }
  const algorithm = (req.AlgorithmSpecification ?? {}) as Obj;
  if (algorithm.AlgorithmName !== undefined) {
    refuse(reader, 'AlgorithmSpecification.AlgorithmName', 'algorithm resources and AWS Marketplace algorithms run in SageMaker\'s own accounts; name a TrainingImage instead');
  }
  const mode = algorithm.TrainingInputMode as string | undefined;
  if (mode !== undefined && mode !== 'File') refuse(reader, 'AlgorithmSpecification.TrainingInputMode', REFUSED_INPUT_MODE(mode));
  const imageConfig = algorithm.TrainingImageConfig as Obj | undefined;
  if (imageConfig && imageConfig.TrainingRepositoryAccessMode !== 'Platform') {
    refuse(reader, 'AlgorithmSpecification.TrainingImageConfig.TrainingRepositoryAccessMode', 'Vpc (a private Docker registry in your VPC) is not supported here; Platform (ECR, or a public registry) is');
  }
  if (imageConfig?.TrainingRepositoryAuthConfig !== undefined) {
    refuse(reader, 'AlgorithmSpecification.TrainingImageConfig.TrainingRepositoryAuthConfig', 'it serves a private registry in your VPC, which is not supported here');
  }
  const resources = (req.ResourceConfig ?? {}) as Obj;
  if (resources.InstanceGroups !== undefined) {
    refuse(reader, 'ResourceConfig.InstanceGroups', 'heterogeneous clusters are not supported here; an attempt runs on InstanceCount instances of one InstanceType');
  }
  if (resources.TrainingPlanArn !== undefined) {
    refuse(reader, 'ResourceConfig.TrainingPlanArn', 'training plans reserve SageMaker\'s own capacity; here jobs run on EC2 Spot or On-Demand capacity in your account');
  }
  if (resources.InstancePlacementConfig !== undefined) {
    refuse(reader, 'ResourceConfig.InstancePlacementConfig', 'it places jobs on UltraServers of a training plan, which are not supported here');
  }
  const count = resources.InstanceCount;
  if (req.EnableInterContainerTrafficEncryption === true && typeof count === 'number' && count > 1) {
    refuse(reader, 'EnableInterContainerTrafficEncryption', 'traffic between the instances of a multi-instance job is not encrypted here; it is accepted for jobs on one instance, which have no such traffic');
  }
}
