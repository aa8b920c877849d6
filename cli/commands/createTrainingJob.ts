import { json, type Command } from '../command.js';
import { UsageError } from '../context.js';
import { applyCreateFlags, readJsonParameter, SKELETON, type CreateFlags } from '../createInput.js';

/** `spotctl create-training-job`: CreateTrainingJob from flags and/or --cli-input-json, as `aws sagemaker create-training-job`. */
export const createTrainingJobCommand: Command = {
  name: 'create-training-job',
  summary: 'submit a training job (flags and/or --cli-input-json, as `aws sagemaker create-training-job`)',
  usage: 'spotctl create-training-job [<job>] [--cli-input-json file://job.json] [flags]',
  options: {
    'cli-input-json': { type: 'string' },
    'generate-cli-skeleton': { type: 'boolean' },
    'training-job-name': { type: 'string' },
    'role-arn': { type: 'string' },
    'training-image': { type: 'string' },
    'training-input-mode': { type: 'string' },
    'container-entrypoint': { type: 'string', multiple: true },
    'container-arguments': { type: 'string', multiple: true },
    'instance-type': { type: 'string' },
    'instance-count': { type: 'string' },
    'volume-size-in-gb': { type: 'string' },
    'enable-managed-spot-training': { type: 'boolean' },
    'no-enable-managed-spot-training': { type: 'boolean' },
    'max-runtime-in-seconds': { type: 'string' },
    'max-wait-time-in-seconds': { type: 'string' },
    'checkpoint-s3-uri': { type: 'string' },
    'checkpoint-local-path': { type: 'string' },
    'output-s3-path': { type: 'string' },
    environment: { type: 'string', multiple: true },
    'hyper-parameters': { type: 'string', multiple: true },
    tags: { type: 'string', multiple: true },
    'max-retry-attempts': { type: 'string' },
    'interruption-behavior': { type: 'string' },
    'fallback-instance-types': { type: 'string' },
    'on-demand-fallback-after-seconds': { type: 'string' },
  },
  help: [
    '--cli-input-json file://job.json   the CreateTrainingJob request (the file `aws sagemaker create-training-job` takes); flags override it',
    '--generate-cli-skeleton            print a request template and exit',
    '--training-job-name NAME           TrainingJobName (or the first argument)',
    '--training-image IMAGE             AlgorithmSpecification.TrainingImage',
    '--training-input-mode MODE         AlgorithmSpecification.TrainingInputMode (File, Pipe, FastFile)',
    '--container-entrypoint ARG         AlgorithmSpecification.ContainerEntrypoint, repeatable',
    '--container-arguments ARG          AlgorithmSpecification.ContainerArguments, repeatable',
    '--instance-type TYPE               ResourceConfig.InstanceType (g5.xlarge or ml.g5.xlarge)',
    '--instance-count N                 ResourceConfig.InstanceCount (1 when --instance-type is given alone)',
    '--volume-size-in-gb N              ResourceConfig.VolumeSizeInGB',
    '--enable-managed-spot-training     EnableManagedSpotTraining true (--no-enable-managed-spot-training: false)',
    '--max-runtime-in-seconds N         StoppingCondition.MaxRuntimeInSeconds',
    '--max-wait-time-in-seconds N       StoppingCondition.MaxWaitTimeInSeconds',
    '--checkpoint-s3-uri URI            CheckpointConfig.S3Uri',
    '--checkpoint-local-path PATH       CheckpointConfig.LocalPath',
    '--output-s3-path URI               OutputDataConfig.S3OutputPath',
    '--environment KEY=VALUE            Environment, repeatable',
    '--hyper-parameters KEY=VALUE       HyperParameters, repeatable',
    '--tags KEY=VALUE                   Tags, repeatable',
    '--max-retry-attempts N             RetryStrategy.MaximumRetryAttempts',
    '--interruption-behavior ACTION     SpotOptions.InterruptionBehavior (terminate, stop, hibernate)',
    '--fallback-instance-types A,B      SpotOptions.FallbackInstanceTypes',
    '--on-demand-fallback-after-seconds N  SpotOptions.OnDemandFallbackAfterSeconds',
    'Prints the response ({"TrainingJobArn": …}) as JSON.',
  ],
  async run(ctx, values, positionals, io) {
    if (values['generate-cli-skeleton']) {
      io.out(json(SKELETON));
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`Unknown arguments: ${positionals.slice(1).join(' ')}`);
    const base = typeof values['cli-input-json'] === 'string' ? await readJsonParameter(values['cli-input-json'], io.readFile) : {};
    const request = applyCreateFlags(base, values as CreateFlags, positionals[0]);
    if (request.TrainingJobName === undefined) throw new UsageError('the following arguments are required: --training-job-name (or <job>, or TrainingJobName in --cli-input-json)');
    io.out(json(await ctx.api().call('CreateTrainingJob', request)));
    return 0;
  },
};
