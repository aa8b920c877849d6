import { json, type Command } from '../command.js';
import { UsageError } from '../context.js';
import { epochSeconds, numberFlag } from '../flags.js';
import { duration, isoTime, table } from '../format.js';
import { isFinished, type JobView } from '../job.js';

/** `spotctl list-training-jobs`: every page of ListTrainingJobs, as a table or as its JSON. */
export const listTrainingJobsCommand: Command = {
  name: 'list-training-jobs',
  summary: 'jobs as a table (or --output json), every page',
  usage: 'spotctl list-training-jobs [--status-equals S] [--name-contains T] [--output table|json]',
  options: {
    'status-equals': { type: 'string' },
    'name-contains': { type: 'string' },
    'sort-by': { type: 'string' },
    'sort-order': { type: 'string' },
    'creation-time-after': { type: 'string' },
    'creation-time-before': { type: 'string' },
    'max-items': { type: 'string' },
    'page-size': { type: 'string' },
    output: { type: 'string', short: 'o' },
  },
  help: [
    '--status-equals STATUS        InProgress, Completed, Failed, Stopping or Stopped',
    '--name-contains TEXT          names containing TEXT',
    '--sort-by FIELD               Name, CreationTime (default) or Status',
    '--sort-order ORDER            Ascending or Descending (default)',
    '--creation-time-after TIME    ISO 8601 or epoch seconds',
    '--creation-time-before TIME   ISO 8601 or epoch seconds',
    '--max-items N                 stop after N jobs (default: all)',
    '--page-size N                 MaxResults per request (default 100)',
    '-o, --output FORMAT           table (default) or json (ListTrainingJobs\' response)',
  ],
  async run(ctx, values, positionals, io) {
    if (positionals.length) throw new UsageError(`Unknown arguments: ${positionals.join(' ')}`);
    const output = (values.output as string | undefined) ?? 'table';
    if (!['table', 'json'].includes(output)) throw new UsageError(`--output must be table or json, got '${output}'`);
    const maxItems = numberFlag(values, 'max-items', { unit: 'jobs', min: 1, integer: true }) ?? Infinity;
    const pageSize = numberFlag(values, 'page-size', { unit: 'jobs per request', min: 1, integer: true }) ?? 100;
    const after = epochSeconds(values, 'creation-time-after');
    const before = epochSeconds(values, 'creation-time-before');
    const filter: Record<string, unknown> = {
      MaxResults: Math.min(pageSize, maxItems),
      ...(values['status-equals'] ? { StatusEquals: values['status-equals'] } : {}),
      ...(values['name-contains'] ? { NameContains: values['name-contains'] } : {}),
      ...(values['sort-by'] ? { SortBy: values['sort-by'] } : {}),
      ...(values['sort-order'] ? { SortOrder: values['sort-order'] } : {}),
      ...(after !== undefined ? { CreationTimeAfter: after } : {}),
      ...(before !== undefined ? { CreationTimeBefore: before } : {}),
    };
    const api = ctx.api();
    const jobs: (Partial<JobView> & { TrainingJobName: string })[] = [];
    let token: string | undefined;
    do {
      const page = await api.call<{ TrainingJobSummaries: JobView[]; NextToken?: string }>('ListTrainingJobs', { ...filter, ...(token ? { NextToken: token } : {}) });
      jobs.push(...page.TrainingJobSummaries);
      token = page.NextToken;
    } while (token && jobs.length < maxItems);
    const shown = jobs.slice(0, maxItems);
    if (output === 'json') {
      io.out(json({ TrainingJobSummaries: shown, ...(token && shown.length < jobs.length + 1 ? { NextToken: token } : {}) }));
      return 0;
    }
    const now = Date.now() / 1000;
    io.out(
      `${table(
        ['NAME', 'STATUS', 'SECONDARY STATUS', 'CREATED (UTC)', 'DURATION'],
        shown.map((j) => [
          j.TrainingJobName,
          j.TrainingJobStatus ?? '-',
          j.SecondaryStatus ?? '-',
          isoTime(j.CreationTime),
          j.CreationTime === undefined ? '-' : duration((j.TrainingEndTime ?? (isFinished(j as JobView) ? (j.LastModifiedTime ?? now) : now)) - j.CreationTime),
        ]),
      )}\n`,
    );
    if (!shown.length) io.err('No training jobs.\n');
    return 0;
  },
};
