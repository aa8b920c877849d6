import type { Command } from '../command.js';
import { UsageError } from '../context.js';
import { JOB_NAME_OPTION, jobName, numberFlag } from '../flags.js';
import { showLogs } from '../logs.js';

/** `spotctl logs`: the training output of every attempt and instance (cli/logs.ts). */
export const logsCommand: Command = {
  name: 'logs',
  summary: 'the training output of every attempt and instance (--follow until the job ends)',
  usage: 'spotctl logs <job> [--follow] [--attempt N]',
  options: {
    ...JOB_NAME_OPTION,
    follow: { type: 'boolean', short: 'f' },
    attempt: { type: 'string' },
    from: { type: 'string' },
    interval: { type: 'string' },
  },
  help: [
    '-f, --follow         keep printing new output until the job ends',
    '--attempt N          only attempt N',
    '--from SOURCE        s3 (the local cloud: the control bucket\'s logs/ folder) or cloudwatch (AWS: the log group);',
    '                     default s3 for a local endpoint, cloudwatch otherwise',
    '--interval SECONDS   how often --follow polls (default 2)',
    'Each line is prefixed with its stream: [attempt-<n>/<instance-id>].',
  ],
  async run(ctx, values, positionals, io) {
    const name = jobName(values, positionals, 'logs');
    const from = (values.from as string | undefined) ?? (ctx.local ? 's3' : 'cloudwatch');
    if (from !== 's3' && from !== 'cloudwatch') throw new UsageError(`--from must be s3 or cloudwatch, got '${from}'`);
    const attempt = numberFlag(values, 'attempt', { unit: 'an attempt number', min: 1, integer: true });
    const interval = numberFlag(values, 'interval', { unit: 'seconds', min: 0.05 }) ?? 2;
    return showLogs(
      ctx,
      ctx.api(),
      name,
      { follow: Boolean(values.follow), from, intervalMs: interval * 1000, ...(attempt !== undefined ? { attempt } : {}) },
      io,
    );
  },
};
