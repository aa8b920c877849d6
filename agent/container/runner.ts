import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { SpotTrainingError } from '../../shared/errors.js';
import type { RestoreInstruction } from '../../shared/protocol.js';
import { dockerRunArgs, shmSizeFor } from './dockerCommand.js';
import type { Hardware } from './hardware.js';
import { trainingContract, type Contract } from './toolkitEnvironment.js';

/**
 * How the training command runs on an instance:
 *   docker   the TrainingImage in a container, as SageMaker runs it (the default on EC2);
 *   process  ContainerEntrypoint + ContainerArguments as a process of the instance, with /opt/ml
 *            a folder of the instance's disk (SAGEMAKER_BASE_DIR and every SM_* path point into
 *            it): the local cloud's way, where there is no Docker engine.
 */
export type ContainerRuntime = 'docker' | 'process';

export class TrainingCommandError extends SpotTrainingError {}

export interface Workspace {
  /** /opt/ml on the instance's disk. */
  mlFolder: string;
  /** CheckpointConfig.LocalPath on the instance's disk. */
  checkpointFolder: string;
  modelFolder: string;
  outputDataFolder: string;
  failureFile: string;
  channelFolder: (channel: string) => string;
  /** TensorBoardOutputConfig.LocalPath on the instance's disk. */
  tensorBoardFolder?: string;
}

export interface TrainingCommand {
  file: string;
  args: string[];
  /** The environment of the process started (docker's own, from which `-e NAME` takes each value). */
  env: Record<string, string>;
  contract: Contract;
}

const under = (root: string, path: string) => join(root, path);

export function workspaceOf(root: string, instruction: RestoreInstruction): Workspace {
  const mlFolder = under(root, '/opt/ml');
  return {
    mlFolder,
    checkpointFolder: under(root, instruction.CheckpointLocalPath ?? '/opt/ml/checkpoints'),
    modelFolder: join(mlFolder, 'model'),
    outputDataFolder: join(mlFolder, 'output', 'data'),
    failureFile: join(mlFolder, 'output', 'failure'),
    channelFolder: (channel) => join(mlFolder, 'input', 'data', channel),
    ...(instruction.TensorBoardOutputConfig ? { tensorBoardFolder: under(root, instruction.TensorBoardOutputConfig.LocalPath) } : {}),
  };
}

/** The folders SageMaker creates and the files of input/config, each written whole (temporary name, then rename). */
export async function prepareWorkspace(workspace: Workspace, contract: Contract): Promise<void> {
  const configDir = join(workspace.mlFolder, 'input', 'config');
  for (const dir of [configDir, workspace.modelFolder, workspace.outputDataFolder, join(workspace.mlFolder, 'output', 'intermediate'), join(workspace.mlFolder, 'code'), workspace.checkpointFolder]) {
    await mkdir(dir, { recursive: true });
  }
  if (workspace.tensorBoardFolder) await mkdir(workspace.tensorBoardFolder, { recursive: true });
  for (const name of Object.keys(contract.channelDirs)) await mkdir(workspace.channelFolder(name), { recursive: true });
  for (const [name, text] of Object.entries(contract.configFiles)) {
    const path = join(configDir, name);
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
  }
  // A failure file of an earlier attempt on this instance is not this attempt's.
  await rm(workspace.failureFile, { force: true });
}

export interface CommandInput {
  runtime: ContainerRuntime;
  instruction: RestoreInstruction;
  instanceId: string;
  workspace: Workspace;
  hardware: Hardware;
  region: string;
  /** The agent's own environment: a process inherits it (PATH, HOME); docker needs it to run. */
  baseEnv: Record<string, string>;
  /** `algo-<n>` → private address of each instance of a multi-instance job. */
  hosts?: ReadonlyMap<string, string>;
}

/** This product's own variables beside SageMaker's: which attempt runs, and which checkpoint it was restored from. */
function productEnvironment(instruction: RestoreInstruction, checkpointDir: string): Record<string, string> {
  return {
    SPOT_TRAINING_JOB: instruction.TrainingJobName,
    SPOT_TRAINING_ATTEMPT: String(instruction.Attempt),
    SPOT_TRAINING_CHECKPOINT_DIR: checkpointDir,
    ...(instruction.Checkpoint ? { SPOT_TRAINING_RESTORED_CHECKPOINT: instruction.Checkpoint.Id } : {}),
  };
}

export function trainingCommand(input: CommandInput): TrainingCommand {
  const { instruction, workspace, runtime } = input;
  const hostIndex = Math.max(0, instruction.InstanceIds.indexOf(input.instanceId));
  const checkpointPath = instruction.CheckpointLocalPath ?? '/opt/ml/checkpoints';
  const algorithm: Partial<NonNullable<RestoreInstruction['AlgorithmSpecification']>> = instruction.AlgorithmSpecification ?? {};
  const entrypoint = algorithm.ContainerEntrypoint ?? [];
  const args = algorithm.ContainerArguments ?? [];
  if (runtime === 'process') {
    const contract = trainingContract({
      instruction,
      hostIndex,
      mlRoot: workspace.mlFolder,
      checkpointDir: workspace.checkpointFolder,
      cpus: input.hardware.cpus,
      gpus: input.hardware.gpus,
      region: input.region,
    });
    // Instructions written before AlgorithmSpecification was handed over carry the command only.
    const command = entrypoint.length ? [...entrypoint, ...args] : instruction.Command;
    const [file, ...rest] = command;
    if (!file) {
      throw new TrainingCommandError(
        `this instance runs training commands as processes (no container engine), so the job needs AlgorithmSpecification.ContainerEntrypoint; the image ${instruction.TrainingImage ?? '(none)'} cannot be run here`,
      );
    }
    contract.environment = { ...contract.environment, ...productEnvironment(instruction, workspace.checkpointFolder) };
    return { file, args: rest, env: { ...input.baseEnv, ...contract.environment }, contract };
  }
  const image = algorithm.TrainingImage ?? instruction.TrainingImage;
  if (!image) throw new TrainingCommandError('the job names no AlgorithmSpecification.TrainingImage to run');
  const contract = trainingContract({ instruction, hostIndex, mlRoot: '/opt/ml', checkpointDir: checkpointPath, cpus: input.hardware.cpus, gpus: input.hardware.gpus, region: input.region });
  contract.environment = { ...contract.environment, ...productEnvironment(instruction, checkpointPath) };
  const dockerArgs = dockerRunArgs({
    image,
    containerName: `${instruction.TrainingJobName}-${instruction.Attempt}`.slice(0, 128),
    mlFolder: workspace.mlFolder,
    ...(checkpointPath.startsWith('/opt/ml/') ? {} : { checkpointMount: { hostPath: workspace.checkpointFolder, containerPath: checkpointPath } }),
    environmentNames: Object.keys(contract.environment).sort(),
    ...(entrypoint.length ? { entrypoint } : {}),
    ...(args.length ? { args } : {}),
    gpus: input.hardware.gpus,
    shmBytes: shmSizeFor(totalmem()),
    networkIsolation: instruction.EnableNetworkIsolation === true,
    ...(input.hosts ? { hosts: input.hosts } : {}),
  });
  return { file: 'docker', args: dockerArgs, env: { ...input.baseEnv, ...contract.environment }, contract };
}
