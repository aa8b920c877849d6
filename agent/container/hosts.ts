import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { hostName } from './toolkitEnvironment.js';

/**
 * `algo-<n>`, the names resourceconfig.json gives the hosts of a multi-instance job, resolvable
 * from every instance: each attempt's instances in order, at their private addresses, which
 * EC2 knows from the moment it launches them. Handed to docker as `--add-host`.
 */
export async function hostAddresses(ec2: Pick<EC2Client, 'send'>, instanceIds: readonly string[]): Promise<Map<string, string>> {
  const answer = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...instanceIds] }));
  const byId = new Map<string, string>();
  for (const reservation of answer.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      if (instance.InstanceId && instance.PrivateIpAddress) byId.set(instance.InstanceId, instance.PrivateIpAddress);
    }
  }
  const hosts = new Map<string, string>();
  instanceIds.forEach((id, i) => {
    const address = byId.get(id);
    if (address) hosts.set(hostName(i), address);
  });
  return hosts;
}
