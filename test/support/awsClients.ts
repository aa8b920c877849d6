import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { LOCAL_CREDENTIALS, startLocalCloud, type LocalCloud, type LocalCloudOptions } from '../../localcloud/localCloud.js';

/** A local cloud on free ports, and the AWS SDK's own clients pointed at it: what a user's code would hold. */
export interface CloudWithClients {
  cloud: LocalCloud;
  sagemaker: SageMakerClient;
  events: EventBridgeClient;
  s3: S3Client;
  cloudwatch: CloudWatchClient;
  /** Destroys the clients, then stops the cloud. */
  stop(): Promise<void>;
}

export const FREE_PORTS = { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0, cloudwatch: 0 } as const;

export async function startCloudWithClients(options: Omit<LocalCloudOptions, 'ports'> = {}): Promise<CloudWithClients> {
  const cloud = await startLocalCloud({ log: () => undefined, ...options, ports: FREE_PORTS });
  const common = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
  const clients = {
    sagemaker: new SageMakerClient({ ...common, endpoint: cloud.endpoints.api }),
    events: new EventBridgeClient({ ...common, endpoint: cloud.endpoints.events }),
    s3: new S3Client({ ...common, endpoint: cloud.endpoints.s3, forcePathStyle: true }),
    cloudwatch: new CloudWatchClient({ ...common, endpoint: cloud.endpoints.cloudwatch }),
  };
  return {
    cloud,
    ...clients,
    async stop() {
      for (const client of Object.values(clients)) client.destroy();
      await cloud.stop();
    },
  };
}
