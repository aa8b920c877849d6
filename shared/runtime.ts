import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { Ec2Capacity } from './capacity/ec2Capacity.js';
import { Ec2SpotPriceSource } from './prices/ec2Prices.js';
import { loadConfig, type Config } from './config.js';
import { ControlChannel } from './control.js';
import { TablePriceSource } from './prices/tablePrices.js';
import type { Services } from './services.js';
import { DynamoJobStore } from './store/dynamoJobStore.js';

/**
 * Builds the product's services from its configuration: made once per process (a Lambda
 * container, or the local cloud) and shared by every handler. Endpoints come from the SDK's
 * own AWS_ENDPOINT_URL_<SERVICE> variables, so the same code talks to AWS, LocalStack or the
 * local cloud.
 */
export function createServices(config: Config = loadConfig()): Services {
  const dynamo = new DynamoDBClient({ region: config.region });
  const s3 = new S3Client({ region: config.region, forcePathStyle: config.s3ForcePathStyle });
  const ec2 = new EC2Client({ region: config.region });
  const table = new TablePriceSource(config.prices);
  return {
    config,
    store: new DynamoJobStore(dynamo, config.tableName),
    capacity: new Ec2Capacity(ec2, {
      imageId: config.ec2.imageId,
      ...(config.ec2.instanceProfileArn ? { instanceProfileArn: config.ec2.instanceProfileArn } : {}),
      subnetIds: config.ec2.subnetIds,
      securityGroupIds: config.ec2.securityGroupIds,
      controlBucket: config.controlBucket,
      region: config.region,
      ...(config.ec2.jobLogGroup ? { jobLogGroup: config.ec2.jobLogGroup } : {}),
    }),
    control: new ControlChannel(s3, config.controlBucket),
    prices: config.priceSource === 'ec2' ? new Ec2SpotPriceSource(ec2, table) : table,
    now: () => Date.now(),
    random: Math.random,
  };
}

let current: Services | undefined;

/** The process's services, made on first use. */
export function services(): Services {
  current ??= createServices();
  return current;
}

/** For the local cloud and tests: run the handlers with these services instead. */
export function useServices(replacement: Services | undefined): void {
  current = replacement;
}
