import {
  CancelSpotInstanceRequestsCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type EC2Client,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import type { InstanceState } from '../lifecycle/decide.js';
import { classifyLaunchError, type Capacity, type LaunchRequest, type LaunchResult } from './capacity.js';
import { agentUserData } from './userData.js';

/** The states an instance of RunInstances' answer can be in. */
const INSTANCE_STATES: ReadonlySet<string> = new Set(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']);

export interface Ec2CapacitySettings {
  imageId: string;
  instanceProfileArn?: string;
  subnetIds: string[];
  securityGroupIds: string[];
  controlBucket: string;
  region: string;
  /** Where the agents stream the training output (CloudWatch Logs). */
  jobLogGroup?: string;
  /** Tag keys naming the job and attempt on every instance and volume. */
  tagPrefix?: string;
}

/** Capacity from EC2: RunInstances with spot market options, idempotent by client token. */
export class Ec2Capacity implements Capacity {
  constructor(
    private readonly ec2: EC2Client,
    private readonly settings: Ec2CapacitySettings,
  ) {}

  runInstancesInput(request: LaunchRequest): RunInstancesCommandInput {
    const s = this.settings;
    const prefix = s.tagPrefix ?? 'spot-training';
    const tags = [
      { Key: `${prefix}:job`, Value: request.jobName },
      { Key: `${prefix}:attempt`, Value: String(request.attempt) },
      { Key: 'Name', Value: `${request.jobName}-attempt-${request.attempt}` },
    ];
    // One-time requests end in termination; stop and hibernate need a persistent request.
    const persistent = request.interruptionBehavior !== 'terminate';
    const subnetIds = request.subnetIds ?? s.subnetIds;
    const securityGroupIds = request.securityGroupIds ?? s.securityGroupIds;
    const subnet = subnetIds.length ? subnetIds[(request.launchRequest - 1) % subnetIds.length] : undefined;
    return {
      ImageId: s.imageId,
      InstanceType: request.instanceType as RunInstancesCommandInput['InstanceType'],
      MinCount: request.count,
      MaxCount: request.count,
      ClientToken: request.clientToken,
      ...(request.market === 'spot'
        ? {
            InstanceMarketOptions: {
              MarketType: 'spot',
              SpotOptions: {
                SpotInstanceType: persistent ? 'persistent' : 'one-time',
                InstanceInterruptionBehavior: request.interruptionBehavior,
              },
            },
          }
        : {}),
      ...(persistent ? {} : { InstanceInitiatedShutdownBehavior: 'terminate' }),
      ...(s.instanceProfileArn ? { IamInstanceProfile: { Arn: s.instanceProfileArn } } : {}),
      ...(subnet ? { SubnetId: subnet } : {}),
      ...(securityGroupIds.length ? { SecurityGroupIds: securityGroupIds } : {}),
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' },
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: request.volumeSizeInGB, VolumeType: 'gp3', DeleteOnTermination: true, Encrypted: true, ...(request.volumeKmsKeyId ? { KmsKeyId: request.volumeKmsKeyId } : {}) } }],
      UserData: Buffer.from(agentUserData({ jobName: request.jobName, attempt: request.attempt, controlBucket: s.controlBucket, region: s.region, ...(s.jobLogGroup ? { logGroup: s.jobLogGroup } : {}) })).toString('base64'),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    };
  }

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    try {
      const result = await this.ec2.send(new RunInstancesCommand(this.runInstancesInput(request)));
      const instanceIds = (result.Instances ?? []).map((i) => i.InstanceId).filter((id): id is string => Boolean(id));
      if (instanceIds.length < request.count) {
        return classifyLaunchError('InsufficientInstanceCapacity', `EC2 launched ${instanceIds.length} of ${request.count} instances`);
      }
      const states: Record<string, InstanceState> = {};
      for (const instance of result.Instances ?? []) {
        const state = instance.State?.Name;
        if (instance.InstanceId && state && INSTANCE_STATES.has(state)) states[instance.InstanceId] = state as InstanceState;
      }
      return { ok: true, instanceIds, ...(Object.keys(states).length ? { states } : {}) };
    } catch (error) {
      const { name, message } = error as Error & { $metadata?: { httpStatusCode?: number } };
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // No answer from EC2 at all (network, 5xx without a code): let the event be redelivered.
      if (!status) throw error;
      return classifyLaunchError(name, message);
    }
  }

  async reclaim(jobName: string, attempt: number): Promise<string[]> {
    const prefix = this.settings.tagPrefix ?? 'spot-training';
    const instanceIds: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: `tag:${prefix}:job`, Values: [jobName] },
            { Name: `tag:${prefix}:attempt`, Values: [String(attempt)] },
            { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
          ],
          ...(NextToken ? { NextToken } : {}),
        }),
      );
      for (const instance of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (instance.InstanceId) instanceIds.push(instance.InstanceId);
      }
      NextToken = page.NextToken;
    } while (NextToken);
    await this.terminate(instanceIds);
    return instanceIds;
  }

  async terminate(instanceIds: string[]): Promise<void> {
    if (!instanceIds.length) return;
    // A persistent spot request would launch a replacement: cancel it first.
    const described = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: instanceIds }));
    const requests = (described.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .map((i) => i.SpotInstanceRequestId)
      .filter((id): id is string => Boolean(id));
    if (requests.length) await this.ec2.send(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: requests }));
    await this.ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
  }
}
