import type { Config } from '../config.js';
import type { FieldReader } from './fields.js';

/**
 * The instance types SageMaker trains on (its TrainingInstanceType values, `ml.` prefix
 * removed), from SageMaker's service model: what CreateTrainingJob accepts, with or without
 * the prefix, besides any type the deployment's price table names.
 */
export const SAGEMAKER_TRAINING_INSTANCE_TYPES: ReadonlySet<string> = new Set([
  'c4.2xlarge', 'c4.4xlarge', 'c4.8xlarge', 'c4.xlarge', 'c5.18xlarge', 'c5.2xlarge', 'c5.4xlarge',
  'c5.9xlarge', 'c5.xlarge', 'c5n.18xlarge', 'c5n.2xlarge', 'c5n.4xlarge', 'c5n.9xlarge', 'c5n.xlarge',
  'c6i.12xlarge', 'c6i.16xlarge', 'c6i.24xlarge', 'c6i.2xlarge', 'c6i.32xlarge', 'c6i.4xlarge',
  'c6i.8xlarge', 'c6i.xlarge', 'c7i.12xlarge', 'c7i.16xlarge', 'c7i.24xlarge', 'c7i.2xlarge', 'c7i.48xlarge',
  'c7i.4xlarge', 'c7i.8xlarge', 'c7i.large', 'c7i.xlarge', 'g4dn.12xlarge', 'g4dn.16xlarge', 'g4dn.2xlarge',
  'g4dn.4xlarge', 'g4dn.8xlarge', 'g4dn.xlarge', 'g5.12xlarge', 'g5.16xlarge', 'g5.24xlarge', 'g5.2xlarge',
  'g5.48xlarge', 'g5.4xlarge', 'g5.8xlarge', 'g5.xlarge', 'g6.12xlarge', 'g6.16xlarge', 'g6.24xlarge',
  'g6.2xlarge', 'g6.48xlarge', 'g6.4xlarge', 'g6.8xlarge', 'g6.xlarge', 'g6e.12xlarge', 'g6e.16xlarge',
  'g6e.24xlarge', 'g6e.2xlarge', 'g6e.48xlarge', 'g6e.4xlarge', 'g6e.8xlarge', 'g6e.xlarge', 'g7.12xlarge',
  'g7.24xlarge', 'g7.2xlarge', 'g7.48xlarge', 'g7.4xlarge', 'g7.8xlarge', 'g7e.12xlarge', 'g7e.24xlarge',
  'g7e.2xlarge', 'g7e.48xlarge', 'g7e.4xlarge', 'g7e.8xlarge', 'm4.10xlarge', 'm4.16xlarge', 'm4.2xlarge',
  'm4.4xlarge', 'm4.xlarge', 'm5.12xlarge', 'm5.24xlarge', 'm5.2xlarge', 'm5.4xlarge', 'm5.large',
  'm5.xlarge', 'm6i.12xlarge', 'm6i.16xlarge', 'm6i.24xlarge', 'm6i.2xlarge', 'm6i.32xlarge', 'm6i.4xlarge',
  'm6i.8xlarge', 'm6i.large', 'm6i.xlarge', 'm7i.12xlarge', 'm7i.16xlarge', 'm7i.24xlarge', 'm7i.2xlarge',
  'm7i.48xlarge', 'm7i.4xlarge', 'm7i.8xlarge', 'm7i.large', 'm7i.xlarge', 'p2.16xlarge', 'p2.8xlarge',
  'p2.xlarge', 'p3.16xlarge', 'p3.2xlarge', 'p3.8xlarge', 'p3dn.24xlarge', 'p4d.24xlarge', 'p4de.24xlarge',
  'p5.48xlarge', 'p5.4xlarge', 'p5e.48xlarge', 'p5en.48xlarge', 'p6-b200.48xlarge', 'p6-b300.48xlarge',
  'p6e-gb200.36xlarge', 'r5.12xlarge', 'r5.16xlarge', 'r5.24xlarge', 'r5.2xlarge', 'r5.4xlarge',
  'r5.8xlarge', 'r5.large', 'r5.xlarge', 'r5d.12xlarge', 'r5d.16xlarge', 'r5d.24xlarge', 'r5d.2xlarge',
  'r5d.4xlarge', 'r5d.8xlarge', 'r5d.large', 'r5d.xlarge', 'r7i.12xlarge', 'r7i.16xlarge', 'r7i.24xlarge',
  'r7i.2xlarge', 'r7i.48xlarge', 'r7i.4xlarge', 'r7i.8xlarge', 'r7i.large', 'r7i.xlarge', 't3.2xlarge',
  't3.large', 't3.medium', 't3.xlarge', 'trn1.2xlarge', 'trn1.32xlarge', 'trn1n.32xlarge', 'trn2.48xlarge',
]);

/** EC2 instance types, optionally with SageMaker's `ml.` prefix, which is mapped away. */
export const INSTANCE_TYPE = /^(ml\.)?[a-z][a-z0-9-]*\.[a-z0-9]+$/;

export function mapInstanceType(type: string): string {
  return type.startsWith('ml.') ? type.slice(3) : type;
}

/** An instance type a job can launch on: one SageMaker trains on, or one the price table names. */
export function knownInstanceType(reader: FieldReader, type: string | undefined, path: string, config: Config): void {
  if (type === undefined) return;
  const plain = mapInstanceType(type);
  if (SAGEMAKER_TRAINING_INSTANCE_TYPES.has(plain) || plain in config.prices) return;
  reader.problem(path, type, `be an instance type SageMaker trains on (such as ml.g5.xlarge or g5.xlarge; ${SAGEMAKER_TRAINING_INSTANCE_TYPES.size} in all) or one in the deployment's price table`);
}
