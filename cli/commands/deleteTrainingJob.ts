import type { Command } from '../command.js';
import { JOB_NAME_OPTION, jobName } from '../flags.js';

/** `spotctl delete-training-job`: DeleteTrainingJob, for a job that has ended. */
export const deleteTrainingJobCommand: Command = {
  name: 'delete-training-job',
  summary: 'delete a finished job',
  usage: 'spotctl delete-training-job <job>',
  options: JOB_NAME_OPTION,
  help: ['--training-job-name NAME   the job (or the first argument); it must have ended'],
  async run(ctx, values, positionals, io) {
    const name = jobName(values, positionals, 'delete-training-job');
    await ctx.api().call('DeleteTrainingJob', { TrainingJobName: name });
    io.err(`Deleted ${name}.\n`);
    return 0;
  },
};
