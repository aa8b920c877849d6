import { describeJob, json, type Command } from '../command.js';
import { JOB_NAME_OPTION, jobName } from '../flags.js';

/** `spotctl describe-training-job`: DescribeTrainingJob's response as JSON. */
export const describeTrainingJobCommand: Command = {
  name: 'describe-training-job',
  summary: "a job's DescribeTrainingJob response, as JSON",
  usage: 'spotctl describe-training-job <job>',
  options: JOB_NAME_OPTION,
  help: ['--training-job-name NAME   the job (or the first argument)'],
  async run(ctx, values, positionals, io) {
    io.out(json(await describeJob(ctx, jobName(values, positionals, 'describe-training-job'))));
    return 0;
  },
};
