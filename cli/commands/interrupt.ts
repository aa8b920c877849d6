import { describeJob, type Command } from '../command.js';
import { CliError, UsageError } from '../context.js';
import { JOB_NAME_OPTION, jobName } from '../flags.js';
import { EXIT, isFinished } from '../job.js';

/** `spotctl interrupt`: a synthetic spot interruption warning or rebalance recommendation, put on EventBridge for the job's current instances. */
export const interruptCommand: Command = {
  name: 'interrupt',
  summary: "send a synthetic spot interruption warning (or --rebalance recommendation) for the job's current instances",
  usage: 'spotctl interrupt <job> [--action terminate|stop|hibernate] [--rebalance] [--instance-id ID]',
  options: {
    ...JOB_NAME_OPTION,
    action: { type: 'string' },
    rebalance: { type: 'boolean' },
    'instance-id': { type: 'string', multiple: true },
    'event-bus-name': { type: 'string' },
    source: { type: 'string' },
  },
  help: [
    '--action ACTION       instance-action of the warning: terminate (default), stop or hibernate',
    '--rebalance           send "EC2 Instance Rebalance Recommendation" instead (a checkpoint now, no status change)',
    '--instance-id ID      only this instance of the current attempt, repeatable (default: all of them)',
    '--event-bus-name BUS  default "default"',
    '--source SOURCE       event source (default: aws.ec2 on the local cloud, the synthetic source on AWS,',
    '                      which refuses PutEvents with aws.* sources)',
  ],
  async run(ctx, values, positionals, io) {
    const name = jobName(values, positionals, 'interrupt');
    const action = (values.action as string | undefined) ?? 'terminate';
    if (!['terminate', 'stop', 'hibernate'].includes(action)) throw new UsageError(`--action must be terminate, stop or hibernate, got '${action}'`);
    if (values.rebalance && values.action !== undefined) throw new UsageError('--action applies to interruption warnings, not to --rebalance');
    const job = await describeJob(ctx, name);
    const attempt = job.Attempts?.at(-1);
    if (isFinished(job) || !attempt || attempt.EndTime !== undefined || !attempt.InstanceIds.length) {
      throw new CliError(
        `${name} has no running instance to interrupt (${job.TrainingJobStatus}, ${job.SecondaryStatus}${attempt && !attempt.InstanceIds.length ? ', still waiting for capacity' : ''})`,
      );
    }
    const wanted = (values['instance-id'] as string[] | undefined) ?? [];
    const unknown = wanted.filter((id) => !attempt.InstanceIds.includes(id));
    if (unknown.length) throw new CliError(`${unknown.join(', ')} is not an instance of ${name}'s current attempt ${attempt.AttemptNumber} (${attempt.InstanceIds.join(', ')})`);
    const instances = wanted.length ? wanted : attempt.InstanceIds;
    const [, partition = 'aws', region = ctx.region, account = ''] = /^arn:([^:]+):[^:]+:([^:]*):(\d*):/.exec(job.TrainingJobArn ?? '') ?? [];
    const detailType = values.rebalance ? 'EC2 Instance Rebalance Recommendation' : 'EC2 Spot Instance Interruption Warning';
    const source = (values.source as string | undefined) ?? ctx.eventSource();
    const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    const events = await ctx.events();
    try {
      const result = await events.send(
        new PutEventsCommand({
          Entries: instances.map((id) => ({
            Source: source,
            DetailType: detailType,
            Detail: JSON.stringify(values.rebalance ? { 'instance-id': id } : { 'instance-id': id, 'instance-action': action }),
            Resources: [`arn:${partition}:ec2:${region}:${account}:instance/${id}`],
            ...(values['event-bus-name'] ? { EventBusName: values['event-bus-name'] as string } : {}),
          })),
        }),
      );
      (result.Entries ?? []).forEach((entry, i) => {
        const id = instances[i] ?? '?';
        if (entry.ErrorCode) io.err(`${id}: PutEvents refused the event: ${entry.ErrorCode} ${entry.ErrorMessage ?? ''}\n`);
        else io.out(`Sent "${detailType}"${values.rebalance ? '' : ` (instance-action ${action})`} for ${id} of ${name}, attempt ${attempt.AttemptNumber}, source ${source}: event ${entry.EventId}\n`);
      });
      if (result.FailedEntryCount) return EXIT.other;
    } finally {
      events.destroy();
    }
    return 0;
  },
};
