import type { Command } from '../command.js';
import { JOB_NAME_OPTION, jobName, numberFlag } from '../flags.js';
import { watchJob } from '../watch.js';

/** `spotctl watch`: follows a job until it ends (cli/watch.ts); the exit code says how it ended. */
export const watchCommand: Command = {
  name: 'watch',
  summary: 'follow a job live until it ends; the exit code says how it ended',
  usage: 'spotctl watch <job> [--interval S] [--timeout S] [--plain]',
  options: { ...JOB_NAME_OPTION, interval: { type: 'string' }, timeout: { type: 'string' }, plain: { type: 'boolean' } },
  help: [
    '--interval SECONDS   how often to poll DescribeTrainingJob (default 2)',
    '--timeout SECONDS    give up after this long (exit 14)',
    '--plain              plain lines even on a terminal (they are the default when stdout is not one)',
    'Exit codes: 0 Completed, 10 Failed, 11 Stopped (StopTrainingJob), 12 MaxRuntimeExceeded, 13 MaxWaitTimeExceeded, 14 --timeout.',
  ],
  async run(ctx, values, positionals, io) {
    const name = jobName(values, positionals, 'watch');
    const interval = numberFlag(values, 'interval', { unit: 'seconds', min: 0.05 }) ?? 2;
    const timeout = numberFlag(values, 'timeout', { unit: 'seconds', min: 0 });
    return watchJob(ctx.api(), name, { intervalMs: interval * 1000, ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}), plain: Boolean(values.plain) }, io);
  },
};
