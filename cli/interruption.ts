import { CliError } from './context.js';
import type { Context } from './context.js';
import { isFinished, type JobView } from './job.js';

/**
 * A synthetic "EC2 Spot Instance Interruption Warning" (or "EC2 Instance Rebalance
 * Recommendation") for the instances of a job's current attempt, put on EventBridge: source
 * aws.ec2 on the local cloud, the deployment's synthetic source on AWS (which refuses aws.*).
 * `spotctl interrupt` and the console's Interrupt button both send it from here.
 */
export type InstanceAction = 'terminate' | 'stop' | 'hibernate';

export interface InterruptionRequest {
  action?: InstanceAction;
  rebalance?: boolean;
  /** Only these instances of the current attempt (default: all of them). */
  instanceIds?: string[];
  source?: string;
  eventBusName?: string;
}

export interface InterruptionSent {
  detailType: string;
  action: InstanceAction;
  source: string;
  attempt: number;
  entries: { instanceId: string; eventId?: string; errorCode?: string; errorMessage?: string }[];
}

export async function sendInterruption(ctx: Context, job: JobView, request: InterruptionRequest): Promise<InterruptionSent> {
  const name = job.TrainingJobName;
  const action = request.action ?? 'terminate';
  const attempt = job.Attempts?.at(-1);
  if (isFinished(job) || !attempt || attempt.EndTime !== undefined || !attempt.InstanceIds.length) {
    throw new CliError(
      `${name} has no running instance to interrupt (${job.TrainingJobStatus}, ${job.SecondaryStatus}${attempt && !attempt.InstanceIds.length ? ', still waiting for capacity' : ''})`,
    );
  }
  const wanted = request.instanceIds ?? [];
  const unknown = wanted.filter((id) => !attempt.InstanceIds.includes(id));
  if (unknown.length) throw new CliError(`${unknown.join(', ')} is not an instance of ${name}'s current attempt ${attempt.AttemptNumber} (${attempt.InstanceIds.join(', ')})`);
  const instances = wanted.length ? wanted : attempt.InstanceIds;
  const [, partition = 'aws', region = ctx.region, account = ''] = /^arn:([^:]+):[^:]+:([^:]*):(\d*):/.exec(job.TrainingJobArn ?? '') ?? [];
  const detailType = request.rebalance ? 'EC2 Instance Rebalance Recommendation' : 'EC2 Spot Instance Interruption Warning';
  const source = request.source ?? ctx.eventSource();
  const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
  const events = await ctx.events();
  try {
    const result = await events.send(
      new PutEventsCommand({
        Entries: instances.map((id) => ({
          Source: source,
          DetailType: detailType,
          Detail: JSON.stringify(request.rebalance ? { 'instance-id': id } : { 'instance-id': id, 'instance-action': action }),
          Resources: [`arn:${partition}:ec2:${region}:${account}:instance/${id}`],
          ...(request.eventBusName ? { EventBusName: request.eventBusName } : {}),
        })),
      }),
    );
    return {
      detailType,
      action,
      source,
      attempt: attempt.AttemptNumber,
      entries: (result.Entries ?? []).map((entry, i) => ({
        instanceId: instances[i] ?? '?',
        ...(entry.EventId ? { eventId: entry.EventId } : {}),
        ...(entry.ErrorCode ? { errorCode: entry.ErrorCode, errorMessage: entry.ErrorMessage ?? '' } : {}),
      })),
    };
  } finally {
    events.destroy();
  }
}
