import type { Command } from '../command.js';
import { JOB_NAME_OPTION, jobName } from '../flags.js';

/** `spotctl stop-training-job`: StopTrainingJob. */
export const stopTrainingJobCommand: Command = {
  name: 'stop-training-job',
  summary: 'stop a job (Stopping, then Stopped)',
  usage: 'spotctl stop-training-job <job>',
  options: JOB_NAME_OPTION,
  help: ['--training-job-name NAME   the job (or the first argument)'],
  async run(ctx, values, positionals, io) {
    const name = jobName(values, positionals, 'stop-training-job');
    await ctx.api().call('StopTrainingJob', { TrainingJobName: name });
    io.err(`Stopping ${name}; \`spotctl watch ${name}\` follows it to Stopped.\n`);
    return 0;
  },
};
