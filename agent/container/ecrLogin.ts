import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { SpotTrainingError } from '../../shared/errors.js';

/**
 * A training image in Amazon ECR is pulled after a registry login, as SageMaker pulls it with
 * its own credentials: the instance role's GetAuthorizationToken, handed to `docker login`
 * on its standard input (never on a command line), then `docker pull`.
 */
export class ImagePullError extends SpotTrainingError {}

const ECR_IMAGE = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\//;

export function ecrRegistryOf(image: string): { account: string; region: string; registry: string } | undefined {
  const match = ECR_IMAGE.exec(image);
  if (!match) return undefined;
  return { account: match[1] as string, region: match[2] as string, registry: image.slice(0, image.indexOf('/')) };
}

/** Runs a command with input on stdin; resolves with its exit code and the end of its output. */
export type Run = (file: string, args: string[], stdin?: string) => Promise<{ code: number; output: string }>;

export async function pullImage(image: string, run: Run, ecr: (region: string) => Pick<ECRClient, 'send'> = (region) => new ECRClient({ region })): Promise<void> {
  const registry = ecrRegistryOf(image);
  if (registry) {
    const answer = await ecr(registry.region)
      .send(new GetAuthorizationTokenCommand({}))
      .catch((error: unknown) => {
        throw new ImagePullError(`cannot log in to ${registry.registry}: ${(error as Error).message}`, { cause: error });
      });
    const data = answer.authorizationData?.[0];
    const [user, password] = Buffer.from(data?.authorizationToken ?? '', 'base64').toString().split(':');
    if (!user || !password) throw new ImagePullError(`cannot log in to ${registry.registry}: ECR returned no authorization token`);
    const login = await run('docker', ['login', '--username', user, '--password-stdin', data?.proxyEndpoint ?? `https://${registry.registry}`], password);
    if (login.code !== 0) throw new ImagePullError(`docker login to ${registry.registry} failed: ${login.output.trim()}`);
  }
  const pulled = await run('docker', ['pull', image]);
  if (pulled.code !== 0) throw new ImagePullError(`docker pull ${image} failed: ${pulled.output.trim()}`);
}
