import type { Command } from '../command.js';
import { JOB_NAME_OPTION, jobName, numberFlag } from '../flags.js';
import { showLogs } from '../logs.js';

/** `spotctl logs`: the training output of every attempt and instance (cli/logs.ts). */
export const logsCommand: Command = {
  name: 'logs',
  summary: 'the training output of every attempt and instance, from CloudWatch Logs (--follow until the job ends)',
  usage: 'spotctl logs <job> [--follow] [--attempt N]',
  options: {
    ...JOB_NAME_OPTION,
    follow: { type: 'boolean', short: 'f' },
    attempt: { type: 'string' },
    interval: { type: 'string' },
  },
  help: [
    '-f, --follow         keep printing new output until the job ends',
    '--attempt N          only the streams of attempt N',
    '--interval SECONDS   how often --follow polls (default 2)',
    'The output is read where SageMaker puts it: CloudWatch Logs group /aws/sagemaker/TrainingJobs',
    '(--log-group), streams <job>/algo-<n>-<epoch seconds>, one per instance and attempt, interleaved by time.',
    'Each line is prefixed with its stream and time: [algo-<n>-<epoch seconds>] <ISO time> <line>.',
  ],
  async run(ctx, values, positionals, io) {
    const name = jobName(values, positionals, 'logs');
    const attempt = numberFlag(values, 'attempt', { unit: 'an attempt number', min: 1, integer: true });
    const interval = numberFlag(values, 'interval', { unit: 'seconds', min: 0.05 }) ?? 2;
    return showLogs(
      ctx,
      ctx.api(),
      name,
      { follow: Boolean(values.follow), intervalMs: interval * 1000, ...(attempt !== undefined ? { attempt } : {}) },
      io,
    );
  },
};
