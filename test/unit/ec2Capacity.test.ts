import { CancelSpotInstanceRequestsCommand, DescribeInstancesCommand, EC2Client, EC2ServiceException, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { Ec2Capacity } from '../../shared/capacity/ec2Capacity.js';
import type { LaunchRequest } from '../../shared/capacity/capacity.js';

const ec2Mock = mockClient(EC2Client);
const capacity = new Ec2Capacity(new EC2Client({ region: 'us-east-1' }), {
  imageId: 'ami-0123456789abcdef0',
  instanceProfileArn: 'arn:aws:iam::123456789012:instance-profile/spot-training',
  subnetIds: ['subnet-a', 'subnet-b'],
  securityGroupIds: ['sg-1'],
  controlBucket: 'control',
  region: 'us-east-1',
  jobLogGroup: '/spot-training/prod/jobs',
});

const request = (overrides: Partial<LaunchRequest> = {}): LaunchRequest => ({
  jobName: 'resnet',
  attempt: 2,
  launchRequest: 1,
  instanceType: 'g5.xlarge',
  market: 'spot',
  count: 2,
  clientToken: 'resnet-0123456789abcdef',
  interruptionBehavior: 'terminate',
  volumeSizeInGB: 50,
  ...overrides,
});

function ec2Error(name: string, status: number) {
  return new EC2ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} happened` });
}

beforeEach(() => ec2Mock.reset());

describe('EC2 capacity at the SDK boundary', () => {
  it('launches InstanceCount spot instances with the client token, tags naming job and attempt, the profile and the agent', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000a' }, { InstanceId: 'i-0000000000000000b' }] });
    const result = await capacity.launch(request());
    expect(result).toEqual({ ok: true, instanceIds: ['i-0000000000000000a', 'i-0000000000000000b'] });
    const input = ec2Mock.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      ImageId: 'ami-0123456789abcdef0',
      InstanceType: 'g5.xlarge',
      MinCount: 2,
      MaxCount: 2,
      ClientToken: 'resnet-0123456789abcdef',
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } },
      InstanceInitiatedShutdownBehavior: 'terminate',
      IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/spot-training' },
      SubnetId: 'subnet-a',
      SecurityGroupIds: ['sg-1'],
      MetadataOptions: { HttpTokens: 'required' },
    });
    expect(input?.TagSpecifications?.[0]).toEqual({
      ResourceType: 'instance',
      Tags: [
        { Key: 'spot-training:job', Value: 'resnet' },
        { Key: 'spot-training:attempt', Value: '2' },
        { Key: 'Name', Value: 'resnet-attempt-2' },
      ],
    });
    const userData = Buffer.from(input?.UserData ?? '', 'base64').toString();
    expect(userData).toContain('SPOT_TRAINING_JOB=resnet');
    expect(userData).toContain('SPOT_TRAINING_ATTEMPT=2');
    expect(userData).toContain('SPOT_TRAINING_LOG_GROUP=/spot-training/prod/jobs');
  });

  it('asks for a persistent request when the job stops or hibernates, and on-demand without market options', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000c' }] });
    await capacity.launch(request({ count: 1, interruptionBehavior: 'hibernate', launchRequest: 2 }));
    await capacity.launch(request({ count: 1, market: 'on-demand' }));
    const [persistent, onDemand] = ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
    expect(persistent?.InstanceMarketOptions?.SpotOptions).toEqual({ SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'hibernate' });
    expect(persistent?.InstanceInitiatedShutdownBehavior).toBeUndefined();
    expect(persistent?.SubnetId).toBe('subnet-b');
    expect(onDemand?.InstanceMarketOptions).toBeUndefined();
  });

  it.each([
    ['InsufficientInstanceCapacity', 500, true, true],
    ['MaxSpotInstanceCountExceeded', 400, true, true],
    ['SpotMaxPriceTooLow', 400, true, true],
    ['InsufficientHostCapacity', 500, true, true],
    ['RequestLimitExceeded', 503, false, true],
    ['VcpuLimitExceeded', 400, false, true],
    ['InvalidParameterValue', 400, false, false],
    ['UnauthorizedOperation', 403, false, false],
  ])('classifies %s: capacity %s, retryable %s', async (code, status, isCapacity, retryable) => {
    ec2Mock.on(RunInstancesCommand).rejects(ec2Error(code, status));
    const result = await capacity.launch(request());
    expect(result).toMatchObject({ ok: false, errorCode: code, capacity: isCapacity, retryable });
  });

  it("passes on each instance's state from EC2's answer: a repeated client token can return instances already gone", async () => {
    ec2Mock.on(RunInstancesCommand).resolves({
      Instances: [
        { InstanceId: 'i-0000000000000000e', State: { Name: 'terminated', Code: 48 } },
        { InstanceId: 'i-0000000000000000f', State: { Name: 'running', Code: 16 } },
      ],
    });
    const result = await capacity.launch(request());
    expect(result).toEqual({ ok: true, instanceIds: ['i-0000000000000000e', 'i-0000000000000000f'], states: { 'i-0000000000000000e': 'terminated', 'i-0000000000000000f': 'running' } });
  });

  it('treats fewer instances than asked as a capacity error', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000000d' }] });
    expect(await capacity.launch(request({ count: 2 }))).toMatchObject({ ok: false, errorCode: 'InsufficientInstanceCapacity', capacity: true });
  });

  it('cancels a persistent spot request before terminating, so that nothing replaces the instance', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0000000000000000e', SpotInstanceRequestId: 'sir-1' }] }] });
    ec2Mock.on(CancelSpotInstanceRequestsCommand).resolves({});
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    await capacity.terminate(['i-0000000000000000e']);
    expect(ec2Mock.commandCalls(CancelSpotInstanceRequestsCommand)[0]?.args[0].input).toEqual({ SpotInstanceRequestIds: ['sir-1'] });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({ InstanceIds: ['i-0000000000000000e'] });
  });

  it('reclaims an attempt by its tags: every unterminated instance, across pages, spot requests cancelled first', async () => {
    ec2Mock
      .on(DescribeInstancesCommand, { InstanceIds: undefined })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-0000000000000000f' }] }], NextToken: 'page-2' })
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-00000000000000010' }] }] });
    ec2Mock.on(DescribeInstancesCommand, { InstanceIds: ['i-0000000000000000f', 'i-00000000000000010'] }).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0000000000000000f', SpotInstanceRequestId: 'sir-2' }] }] });
    ec2Mock.on(CancelSpotInstanceRequestsCommand).resolves({});
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    expect(await capacity.reclaim('resnet', 2)).toEqual(['i-0000000000000000f', 'i-00000000000000010']);
    const search = ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input;
    expect(search?.Filters).toEqual([
      { Name: 'tag:spot-training:job', Values: ['resnet'] },
      { Name: 'tag:spot-training:attempt', Values: ['2'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[1]?.args[0].input.NextToken).toBe('page-2');
    expect(ec2Mock.commandCalls(CancelSpotInstanceRequestsCommand)[0]?.args[0].input).toEqual({ SpotInstanceRequestIds: ['sir-2'] });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({ InstanceIds: ['i-0000000000000000f', 'i-00000000000000010'] });
  });

  it('reclaims nothing, and terminates nothing, when no instance carries the tags', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    expect(await capacity.reclaim('resnet', 3)).toEqual([]);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });
});
