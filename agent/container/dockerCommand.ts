/**
 * The `docker run` that starts a training image as SageMaker starts it: `/opt/ml` mounted, the
 * image's entrypoint given `train` (or ContainerEntrypoint and ContainerArguments in its
 * place), every GPU where the instance has NVIDIA GPUs, shared memory fit for data loaders,
 * the job's environment, and no network at all for EnableNetworkIsolation. Values of the
 * environment are handed to docker through its own environment (`-e NAME`), never on its
 * command line, where any process could read them.
 */
export interface DockerRunInput {
  image: string;
  containerName: string;
  /** The instance's folder mounted as /opt/ml. */
  mlFolder: string;
  /** CheckpointConfig.LocalPath when it is outside /opt/ml: the instance's folder and the container's path. */
  checkpointMount?: { hostPath: string; containerPath: string };
  environmentNames: readonly string[];
  entrypoint?: readonly string[];
  args?: readonly string[];
  gpus: number;
  /** Bytes of /dev/shm. */
  shmBytes: number;
  networkIsolation: boolean;
  /** `algo-<n>` → private address, for a job on several instances. */
  hosts?: ReadonlyMap<string, string>;
}

/** Half the instance's memory, at least 1 GiB: PyTorch's DataLoader workers share batches through /dev/shm. */
export function shmSizeFor(totalMemoryBytes: number): number {
  return Math.max(1024 ** 3, Math.floor(totalMemoryBytes / 2));
}

export function dockerRunArgs(input: DockerRunInput): string[] {
  const args = ['run', '--rm', '--name', input.containerName, '-v', `${input.mlFolder}:/opt/ml`];
  if (input.checkpointMount) args.push('-v', `${input.checkpointMount.hostPath}:${input.checkpointMount.containerPath}`);
  if (input.gpus > 0) args.push('--gpus', 'all');
  args.push(`--shm-size=${input.shmBytes}b`);
  // SageMaker's containers resolve algo-<n> on the job's network; here each host's name is in /etc/hosts of the instance, which host networking shares.
  args.push('--network', input.networkIsolation ? 'none' : 'host');
  for (const [name, address] of input.hosts ?? []) args.push('--add-host', `${name}:${address}`);
  for (const name of input.environmentNames) args.push('-e', name);
  const [executable, ...entrypointRest] = input.entrypoint ?? [];
  if (executable !== undefined) args.push('--entrypoint', executable);
  args.push(input.image);
  // Without an entrypoint of its own, the image's entrypoint runs `train`, or the ContainerArguments in its place.
  if (executable !== undefined) args.push(...entrypointRest, ...(input.args ?? []));
  else args.push(...(input.args?.length ? input.args : ['train']));
  return args;
}
