import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { TrainingJobsClient, type Signer } from './apiClient.js';
import { SpotTrainingError } from '../shared/errors.js';
import { TRAINING_LOG_GROUP } from '../shared/trainingLogs.js';

/**
 * Where spotctl talks to and as whom: the endpoints (flags, then environment, then the local
 * cloud's defaults), the region, the credentials (the standard provider chain; the local
 * cloud's key pair for local endpoints when none are configured), and SigV4 signing of API
 * requests for API Gateway (service `execute-api`) when the endpoint is not local.
 */
export const LOCAL_DEFAULTS = { api: 'http://127.0.0.1:4600', events: 'http://127.0.0.1:4601', s3: 'http://127.0.0.1:4602', logs: 'http://127.0.0.1:4606' } as const;
/** The local cloud's key pair (localcloud/localCloud.ts LOCAL_CREDENTIALS; a test keeps the two equal). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'spottraining', secretAccessKey: 'spottraininglocal' } as const;
export const DEFAULT_SYNTHETIC_SOURCE = 'spot-training.synthetic';
/** Where the training output is, as on SageMaker (serverless.yml custom.jobLogGroup, the agent's default). */
export const DEFAULT_LOG_GROUP = TRAINING_LOG_GROUP;

export interface GlobalOptions {
  'endpoint-url'?: string;
  'events-endpoint-url'?: string;
  's3-endpoint-url'?: string;
  'logs-endpoint-url'?: string;
  region?: string;
  'control-bucket'?: string;
  'log-group'?: string;
  'synthetic-source'?: string;
  debug?: boolean;
}

export class UsageError extends SpotTrainingError {}
/** A failure outside the service (unreachable endpoint, missing credentials, unreadable file). */
export class CliError extends SpotTrainingError {}

/** 127.0.0.1, localhost, ::1 and *.localhost: the local cloud (or LocalStack), never SigV4-signed. */
export function isLocalUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function checkUrl(name: string, url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`Invalid endpoint for ${name}: ${url}`);
  }
  return url.replace(/\/+$/, '') || url;
}

/** SigV4 for API Gateway: the signed headers to send (host is left to fetch, which sends the same). */
export function sigV4Signer(region: string, credentials: AwsCredentialIdentityProvider, service = 'execute-api'): Signer {
  const signer = new SignatureV4({ service, region, credentials, sha256: Sha256 });
  return async ({ url, headers, body }) => {
    const u = new URL(url);
    const signed = await signer.sign({
      method: 'POST',
      protocol: u.protocol,
      hostname: u.hostname,
      ...(u.port ? { port: Number(u.port) } : {}),
      path: u.pathname || '/',
      query: Object.fromEntries(u.searchParams),
      headers: { ...headers, host: u.host },
      body,
    });
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') out[k] = String(v);
    return out;
  };
}

export class Context {
  readonly apiEndpoint: string;
  readonly local: boolean;
  readonly region: string;
  private credentialsProvider?: AwsCredentialIdentityProvider;

  constructor(
    readonly options: GlobalOptions,
    readonly env: Record<string, string | undefined>,
  ) {
    this.apiEndpoint = checkUrl('the API', options['endpoint-url'] ?? env.SPOT_TRAINING_ENDPOINT ?? LOCAL_DEFAULTS.api);
    this.local = isLocalUrl(this.apiEndpoint);
    const fromHost = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(this.apiEndpoint)?.[1];
    this.region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? fromHost ?? 'us-east-1';
  }

  /** The API endpoint given by flag or environment, or the local cloud's. */
  endpointFor(kind: 'events' | 's3' | 'logs'): string | undefined {
    const flag = { events: this.options['events-endpoint-url'], s3: this.options['s3-endpoint-url'], logs: this.options['logs-endpoint-url'] }[kind];
    const envName = { events: 'AWS_ENDPOINT_URL_EVENTBRIDGE', s3: 'AWS_ENDPOINT_URL_S3', logs: 'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS' }[kind];
    const given = flag ?? this.env[envName] ?? this.env.AWS_ENDPOINT_URL;
    if (given) return checkUrl(kind, given);
    if (this.local) return LOCAL_DEFAULTS[kind];
    return undefined;
  }

  /**
   * The standard provider chain (environment, profiles, SSO, process, web identity, instance
   * metadata). Against local endpoints with nothing configured — no keys in the environment and
   * no AWS_PROFILE — the local cloud's key pair, without probing instance metadata.
   */
  credentials(): AwsCredentialIdentityProvider {
    if (this.credentialsProvider) return this.credentialsProvider;
    const configured = Boolean((this.env.AWS_ACCESS_KEY_ID && this.env.AWS_SECRET_ACCESS_KEY) || this.env.AWS_PROFILE);
    if (this.local && !configured) {
      this.credentialsProvider = async () => ({ ...LOCAL_CREDENTIALS });
      return this.credentialsProvider;
    }
    let chain: Promise<AwsCredentialIdentityProvider> | undefined;
    const provider: AwsCredentialIdentityProvider = async () => {
      chain ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider({}) as AwsCredentialIdentityProvider);
      try {
        return (await (await chain)()) as AwsCredentialIdentity;
      } catch (error) {
        throw new CliError(`Unable to locate credentials: ${(error as Error).message}. Configure them as for the AWS CLI (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).`);
      }
    };
    this.credentialsProvider = provider;
    return provider;
  }

  api(): TrainingJobsClient {
    return new TrainingJobsClient(this.apiEndpoint, this.local ? undefined : sigV4Signer(this.region, this.credentials()));
  }

  async events(): Promise<EventBridgeClient> {
    const { EventBridgeClient } = await import('@aws-sdk/client-eventbridge');
    const endpoint = this.endpointFor('events');
    return new EventBridgeClient({ region: this.region, credentials: this.credentials(), maxAttempts: 2, ...(endpoint ? { endpoint } : {}) });
  }

  async s3(): Promise<S3Client> {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const endpoint = this.endpointFor('s3');
    return new S3Client({ region: this.region, credentials: this.credentials(), ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });
  }

  async cloudWatchLogs(): Promise<CloudWatchLogsClient> {
    const { CloudWatchLogsClient } = await import('@aws-sdk/client-cloudwatch-logs');
    const endpoint = this.endpointFor('logs');
    return new CloudWatchLogsClient({ region: this.region, credentials: this.credentials(), ...(endpoint ? { endpoint } : {}) });
  }

  /** EventBridge refuses PutEvents with an aws.* source on AWS: synthetic events use the deployment's synthetic source there. */
  eventSource(): string {
    if (this.local) return 'aws.ec2';
    return this.options['synthetic-source'] ?? this.env.SPOT_TRAINING_SYNTHETIC_SOURCE ?? DEFAULT_SYNTHETIC_SOURCE;
  }

  logGroup(): string {
    return this.options['log-group'] ?? this.env.SPOT_TRAINING_LOG_GROUP ?? DEFAULT_LOG_GROUP;
  }

  /** The deployment's control bucket: by flag or environment, else the one `*-control` bucket S3 lists. */
  async controlBucket(s3: S3Client): Promise<string> {
    const named = this.options['control-bucket'] ?? this.env.SPOT_TRAINING_CONTROL_BUCKET ?? this.env.CONTROL_BUCKET;
    if (named) return named;
    const { ListBucketsCommand } = await import('@aws-sdk/client-s3');
    const listed = await s3.send(new ListBucketsCommand({}));
    const names = (listed.Buckets ?? []).map((b) => b.Name ?? '').filter((n) => /^spot-training-.*-control$/.test(n));
    if (names.length === 1) return names[0] as string;
    throw new CliError(
      names.length
        ? `Several control buckets (${names.join(', ')}): name one with --control-bucket or SPOT_TRAINING_CONTROL_BUCKET`
        : 'No spot-training control bucket found: name it with --control-bucket or SPOT_TRAINING_CONTROL_BUCKET',
    );
  }
}
