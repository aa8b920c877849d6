import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** What the instance has, found as the training toolkit finds it (SM_NUM_CPUS, SM_NUM_GPUS). */
export interface Hardware {
  cpus: number;
  gpus: number;
}

/** NVIDIA GPUs as `nvidia-smi --list-gpus` lists them; none where the driver is not installed. */
export function countGpus(run: (file: string, args: string[]) => Promise<string> = execText): Promise<number> {
  return run('nvidia-smi', ['--list-gpus'])
    .then((out) => out.split('\n').filter((line) => line.startsWith('GPU ')).length)
    .catch(() => 0);
}

export async function detectHardware(): Promise<Hardware> {
  return { cpus: availableParallelism(), gpus: await countGpus() };
}

function execText(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(file, args, { timeout: 10_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
}
