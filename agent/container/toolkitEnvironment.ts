import type { InputChannel } from '../../shared/lifecycle/jobSpec.js';
import type { RestoreInstruction } from '../../shared/protocol.js';
import { commandLineArguments, decodeHyperparameter, environmentValue, PyInt, type PyValue } from './pythonJson.js';

/**
 * What SageMaker gives a training container, computed once per attempt and instance: the
 * files of /opt/ml/input/config and the environment. The files are SageMaker's own ("How Amazon
 * SageMaker Provides Training Information"); the `SM_*` variables are those the SageMaker
 * training toolkit derives from the files inside framework images (its `Environment.to_env_vars`),
 * set here too so that a script in any image finds them, named and printed as the toolkit does.
 */
export interface ContractInput {
  instruction: RestoreInstruction;
  /** 0-based position of this instance in the attempt's InstanceIds: it is `algo-<index+1>`. */
  hostIndex: number;
  /** /opt/ml as the training command sees it: `/opt/ml` in a container, a folder of the instance's disk for a process. */
  mlRoot: string;
  /** LocalPath of CheckpointConfig as the command sees it. */
  checkpointDir?: string;
  cpus: number;
  gpus: number;
  region: string;
}

export interface Contract {
  hosts: string[];
  currentHost: string;
  /** File name under input/config → its JSON text. */
  configFiles: Record<string, string>;
  /** Channel name → the folder the command reads it from. */
  channelDirs: Record<string, string>;
  environment: Record<string, string>;
}

export const hostName = (index: number) => `algo-${index + 1}`;
const GROUP = 'homogeneousCluster';
/** The toolkit's default, logging.INFO. */
const LOG_LEVEL = 20;

/** inputdataconfig.json: per channel, what SageMaker writes for it. */
export function inputDataConfig(channels: readonly InputChannel[]): Record<string, Record<string, string>> {
  return Object.fromEntries(
    channels.map((c) => [
      c.ChannelName,
      {
        ...(c.ContentType !== undefined ? { ContentType: c.ContentType } : {}),
        TrainingInputMode: c.InputMode,
        S3DistributionType: c.DataSource.S3DataSource.S3DataDistributionType,
        RecordWrapperType: c.RecordWrapperType ?? 'None',
        ...(c.CompressionType !== undefined ? { CompressionType: c.CompressionType } : {}),
      },
    ]),
  );
}

export function trainingContract(input: ContractInput): Contract {
  const { instruction, mlRoot } = input;
  const count = instruction.ResourceConfig?.InstanceCount ?? instruction.InstanceIds.length;
  const hosts = Array.from({ length: Math.max(count, input.hostIndex + 1) }, (_, i) => hostName(i));
  const currentHost = hostName(input.hostIndex);
  const instanceType = instruction.ResourceConfig?.InstanceType ?? 'local';
  const channels = instruction.InputDataConfig ?? [];

  const resourceConfig = {
    current_host: currentHost,
    current_instance_type: instanceType,
    current_group_name: GROUP,
    hosts,
    instance_groups: [{ instance_group_name: GROUP, instance_type: instanceType, hosts }],
    network_interface_name: 'eth0',
  };
  const dataConfig = inputDataConfig(channels);
  const configFiles: Record<string, string> = {
    'hyperparameters.json': JSON.stringify(instruction.HyperParameters),
    'resourceconfig.json': JSON.stringify(resourceConfig),
    'inputdataconfig.json': JSON.stringify(dataConfig),
    ...(instruction.CheckpointS3Uri
      ? { 'checkpointconfig.json': JSON.stringify({ LocalPath: input.checkpointDir ?? '/opt/ml/checkpoints', S3Uri: instruction.CheckpointS3Uri }) }
      : {}),
  };

  const dir = (...parts: string[]) => [mlRoot.replace(/\/$/, ''), ...parts].join('/');
  const channelDirs = Object.fromEntries(channels.map((c) => [c.ChannelName, dir('input', 'data', c.ChannelName)]));

  // The toolkit decodes every hyperparameter as JSON; those named sagemaker_* are the framework's, not the script's.
  const decoded = Object.fromEntries(Object.entries(instruction.HyperParameters).map(([k, v]) => [k, decodeHyperparameter(v)]));
  const hps = Object.fromEntries(Object.entries(decoded).filter(([k]) => !k.startsWith('sagemaker_')));
  const frameworkParams = Object.fromEntries(Object.entries(decoded).filter(([k]) => k.startsWith('sagemaker_')));
  const program = frameworkParams.sagemaker_program;
  const userArgs = commandLineArguments(hps);

  const env: Record<string, PyValue> = {
    hosts,
    network_interface_name: 'eth0',
    hps,
    user_entry_point: program ?? null,
    framework_params: frameworkParams,
    resource_config: resourceConfig,
    input_data_config: dataConfig,
    output_data_dir: dir('output', 'data'),
    channels: Object.keys(channelDirs).sort(),
    current_host: currentHost,
    current_instance_type: instanceType,
    current_instance_group: GROUP,
    current_instance_group_hosts: hosts,
    instance_groups: [GROUP],
    instance_groups_dict: { [GROUP]: resourceConfig.instance_groups[0] as unknown as PyValue },
    distribution_instance_groups: [],
    is_hetero: false,
    module_name: program === undefined ? 'None' : environmentValue(program),
    log_level: new PyInt(String(LOG_LEVEL)),
    framework_module: null,
    input_dir: dir('input'),
    input_config_dir: dir('input', 'config'),
    output_dir: dir('output'),
    num_cpus: new PyInt(String(input.cpus)),
    num_gpus: new PyInt(String(input.gpus)),
    num_neurons: new PyInt('0'),
    model_dir: dir('model'),
    module_dir: typeof frameworkParams.sagemaker_submit_directory === 'string' ? frameworkParams.sagemaker_submit_directory : dir('code'),
    user_args: userArgs,
    output_intermediate_dir: dir('output', 'intermediate'),
  };
  const trainingEnv: Record<string, PyValue> = {
    additional_framework_parameters: frameworkParams,
    channel_input_dirs: channelDirs,
    current_host: currentHost,
    current_instance_group: GROUP,
    current_instance_group_hosts: hosts,
    current_instance_type: instanceType,
    distribution_hosts: [],
    distribution_instance_groups: [],
    framework_module: null,
    hosts,
    hyperparameters: hps,
    input_config_dir: dir('input', 'config'),
    input_data_config: dataConfig,
    input_dir: dir('input'),
    instance_groups: [GROUP],
    instance_groups_dict: env.instance_groups_dict as PyValue,
    is_hetero: false,
    is_master: input.hostIndex === 0,
    is_modelparallel_enabled: null,
    is_smddpmprun_installed: false,
    is_smddprun_installed: false,
    job_name: instruction.TrainingJobName,
    log_level: new PyInt(String(LOG_LEVEL)),
    master_hostname: hosts[0] as string,
    model_dir: dir('model'),
    module_dir: env.module_dir as PyValue,
    module_name: env.module_name as PyValue,
    network_interface_name: 'eth0',
    num_cpus: new PyInt(String(input.cpus)),
    num_gpus: new PyInt(String(input.gpus)),
    num_neurons: new PyInt('0'),
    output_data_dir: dir('output', 'data'),
    output_dir: dir('output'),
    output_intermediate_dir: dir('output', 'intermediate'),
    resource_config: resourceConfig,
    user_entry_point: program ?? null,
  };
  env.training_env = trainingEnv;
  for (const [name, path] of Object.entries(channelDirs)) env[`channel_${name}`] = path;
  for (const [name, value] of Object.entries(hps)) env[`hp_${name}`] = value;

  const environment: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) environment[`SM_${key.toUpperCase()}`] = environmentValue(value);
  return {
    hosts,
    currentHost,
    configFiles,
    channelDirs,
    environment: {
      // The job's own Environment first: SageMaker's variables are not the user's to override.
      ...instruction.Environment,
      ...environment,
      TRAINING_JOB_NAME: instruction.TrainingJobName,
      ...(instruction.TrainingJobArn ? { TRAINING_JOB_ARN: instruction.TrainingJobArn } : {}),
      AWS_REGION: input.region,
      // Read by the toolkit instead of /opt/ml when the command runs outside a container.
      ...(mlRoot !== '/opt/ml' ? { SAGEMAKER_BASE_DIR: mlRoot } : {}),
      ...(input.checkpointDir ? { SM_CHECKPOINT_DIR: input.checkpointDir } : {}),
    },
  };
}
