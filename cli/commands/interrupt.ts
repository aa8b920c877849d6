import { describeJob, type Command } from '../command.js';
import { UsageError } from '../context.js';
import { JOB_NAME_OPTION, jobName } from '../flags.js';
import { sendInterruption, type InstanceAction } from '../interruption.js';
import { EXIT } from '../job.js';

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
    const sent = await sendInterruption(ctx, job, {
      action: action as InstanceAction,
      rebalance: Boolean(values.rebalance),
      ...(values['instance-id'] ? { instanceIds: values['instance-id'] as string[] } : {}),
      ...(values.source ? { source: values.source as string } : {}),
      ...(values['event-bus-name'] ? { eventBusName: values['event-bus-name'] as string } : {}),
    });
    let failed = false;
    for (const entry of sent.entries) {
      if (entry.errorCode) {
        failed = true;
        io.err(`${entry.instanceId}: PutEvents refused the event: ${entry.errorCode} ${entry.errorMessage ?? ''}\n`);
      } else {
        io.out(`Sent "${sent.detailType}"${values.rebalance ? '' : ` (instance-action ${action})`} for ${entry.instanceId} of ${name}, attempt ${sent.attempt}, source ${sent.source}: event ${entry.eventId}\n`);
      }
    }
    return failed ? EXIT.other : 0;
  },
};
