import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiCallError } from './apiClient.js';
import { Context, CliError, UsageError, type GlobalOptions } from './context.js';
import { applyCreateFlags, readJsonParameter, SKELETON, type CreateFlags } from './createInput.js';
import { duration, isoTime, table } from './format.js';
import type { Io } from './io.js';
import { EXIT, isFinished, type JobView } from './job.js';
import { showLogs } from './logs.js';
import { buildReport, reportHtml, reportText, type CheckpointSeen } from './report.js';
import { watchJob } from './watch.js';

/**
 * spotctl: submit, watch, interrupt and report on spot training jobs from the terminal.
 * `run` parses the arguments, runs one command and returns the exit code (README "spotctl").
 */
type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** Lines describing the command's own options (the global ones are appended). */
  help: string[];
  run(ctx: Context, values: Values, positionals: string[], io: Io): Promise<number>;
}

const GLOBAL_OPTIONS: Options = {
  'endpoint-url': { type: 'string' },
  'events-endpoint-url': { type: 'string' },
  's3-endpoint-url': { type: 'string' },
  'logs-endpoint-url': { type: 'string' },
  region: { type: 'string' },
  'control-bucket': { type: 'string' },
  'log-group': { type: 'string' },
  'synthetic-source': { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = [
  '--endpoint-url URL         the API (default: $SPOT_TRAINING_ENDPOINT, else the local cloud http://127.0.0.1:4600)',
  '--events-endpoint-url URL  EventBridge (default: $AWS_ENDPOINT_URL_EVENTBRIDGE; locally http://127.0.0.1:4601)',
  '--s3-endpoint-url URL      S3 (default: $AWS_ENDPOINT_URL_S3; locally http://127.0.0.1:4602)',
  '--logs-endpoint-url URL    CloudWatch Logs (default: $AWS_ENDPOINT_URL_CLOUDWATCH_LOGS)',
  '--region REGION            default: $AWS_REGION, $AWS_DEFAULT_REGION, the API host, else us-east-1',
  '--control-bucket NAME      the deployment control bucket (default: $SPOT_TRAINING_CONTROL_BUCKET, else found by name)',
  '--log-group NAME           CloudWatch Logs group (default: $SPOT_TRAINING_LOG_GROUP, else /spot-training/prod/jobs)',
  '--synthetic-source NAME    event source for synthetic events on AWS (default: $SPOT_TRAINING_SYNTHETIC_SOURCE, else spot-training.synthetic)',
  '--debug                    print stack traces of errors',
  '-h, --help                 this help',
];

function jobName(values: Values, positionals: string[], command: string): string {
  const flag = values['training-job-name'];
  const name = typeof flag === 'string' ? flag : positionals[0];
  if (!name) throw new UsageError(`the following arguments are required: <job> (or --training-job-name)\nUsage: spotctl ${command} <job>`);
  if (positionals.length > (typeof flag === 'string' ? 0 : 1)) throw new UsageError(`Unknown arguments: ${positionals.slice(typeof flag === 'string' ? 0 : 1).join(' ')}`);
  return name;
}

function seconds(value: unknown, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${flag} must be a number of seconds ≥ ${min}, got '${String(value)}'`);
  return n;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

/** An ISO time or epoch seconds, as SageMaker's JSON protocol carries it. */
function epochSeconds(value: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${flag}: '${value}' is neither an ISO 8601 time nor epoch seconds`);
  return t / 1000;
}

async function describe(ctx: Context, name: string): Promise<JobView> {
  return ctx.api().call<JobView>('DescribeTrainingJob', { TrainingJobName: name });
}

/** Every complete checkpoint in the job's CheckpointConfig.S3Uri (its manifests), best effort. */
async function listCheckpoints(ctx: Context, job: JobView, io: Io): Promise<CheckpointSeen[]> {
  const uri = job.CheckpointConfig?.S3Uri;
  const match = uri ? /^s3:\/\/([^/]+)\/(.*)$/.exec(uri) : null;
  if (!match) return [];
  const [, bucket = '', prefix = ''] = match;
  const s3 = await ctx.s3();
  try {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const found: CheckpointSeen[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) {
        const rest = (o.Key ?? '').slice(prefix.length).split('/');
        if (rest.length === 2 && rest[1] === 'manifest.json' && o.LastModified) found.push({ CheckpointId: rest[0] ?? '', Time: o.LastModified.getTime() / 1000 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && found.length < 10_000);
    return found;
  } catch (error) {
    io.err(`spotctl report: could not list the checkpoints in ${uri} (${(error as Error).name}: ${(error as Error).message}); showing the latest only\n`);
    return [];
  } finally {
    s3.destroy();
  }
}

const COMMANDS: Command[] = [
  {
    name: 'create-training-job',
    summary: 'submit a training job (flags and/or --cli-input-json, as `aws sagemaker create-training-job`)',
    usage: 'spotctl create-training-job [<job>] [--cli-input-json file://job.json] [flags]',
    options: {
      'cli-input-json': { type: 'string' },
      'generate-cli-skeleton': { type: 'boolean' },
      'training-job-name': { type: 'string' },
      'role-arn': { type: 'string' },
      'training-image': { type: 'string' },
      'training-input-mode': { type: 'string' },
      'container-entrypoint': { type: 'string', multiple: true },
      'container-arguments': { type: 'string', multiple: true },
      'instance-type': { type: 'string' },
      'instance-count': { type: 'string' },
      'volume-size-in-gb': { type: 'string' },
      'enable-managed-spot-training': { type: 'boolean' },
      'no-enable-managed-spot-training': { type: 'boolean' },
      'max-runtime-in-seconds': { type: 'string' },
      'max-wait-time-in-seconds': { type: 'string' },
      'checkpoint-s3-uri': { type: 'string' },
      'checkpoint-local-path': { type: 'string' },
      'output-s3-path': { type: 'string' },
      environment: { type: 'string', multiple: true },
      'hyper-parameters': { type: 'string', multiple: true },
      tags: { type: 'string', multiple: true },
      'max-retry-attempts': { type: 'string' },
      'interruption-behavior': { type: 'string' },
      'fallback-instance-types': { type: 'string' },
      'on-demand-fallback-after-seconds': { type: 'string' },
    },
    help: [
      '--cli-input-json file://job.json   the CreateTrainingJob request (the file `aws sagemaker create-training-job` takes); flags override it',
      '--generate-cli-skeleton            print a request template and exit',
      '--training-job-name NAME           TrainingJobName (or the first argument)',
      '--training-image IMAGE             AlgorithmSpecification.TrainingImage',
      '--training-input-mode MODE         AlgorithmSpecification.TrainingInputMode (File, Pipe, FastFile)',
      '--container-entrypoint ARG         AlgorithmSpecification.ContainerEntrypoint, repeatable',
      '--container-arguments ARG          AlgorithmSpecification.ContainerArguments, repeatable',
      '--instance-type TYPE               ResourceConfig.InstanceType (g5.xlarge or ml.g5.xlarge)',
      '--instance-count N                 ResourceConfig.InstanceCount (1 when --instance-type is given alone)',
      '--volume-size-in-gb N              ResourceConfig.VolumeSizeInGB',
      '--enable-managed-spot-training     EnableManagedSpotTraining true (--no-enable-managed-spot-training: false)',
      '--max-runtime-in-seconds N         StoppingCondition.MaxRuntimeInSeconds',
      '--max-wait-time-in-seconds N       StoppingCondition.MaxWaitTimeInSeconds',
      '--checkpoint-s3-uri URI            CheckpointConfig.S3Uri',
      '--checkpoint-local-path PATH       CheckpointConfig.LocalPath',
      '--output-s3-path URI               OutputDataConfig.S3OutputPath',
      '--environment KEY=VALUE            Environment, repeatable',
      '--hyper-parameters KEY=VALUE       HyperParameters, repeatable',
      '--tags KEY=VALUE                   Tags, repeatable',
      '--max-retry-attempts N             RetryStrategy.MaximumRetryAttempts',
      '--interruption-behavior ACTION     SpotOptions.InterruptionBehavior (terminate, stop, hibernate)',
      '--fallback-instance-types A,B      SpotOptions.FallbackInstanceTypes',
      '--on-demand-fallback-after-seconds N  SpotOptions.OnDemandFallbackAfterSeconds',
      'Prints the response ({"TrainingJobArn": …}) as JSON.',
    ],
    async run(ctx, values, positionals, io) {
      if (values['generate-cli-skeleton']) {
        io.out(json(SKELETON));
        return 0;
      }
      if (positionals.length > 1) throw new UsageError(`Unknown arguments: ${positionals.slice(1).join(' ')}`);
      const base = typeof values['cli-input-json'] === 'string' ? await readJsonParameter(values['cli-input-json'], io.readFile) : {};
      const request = applyCreateFlags(base, values as CreateFlags, positionals[0]);
      if (request.TrainingJobName === undefined) throw new UsageError('the following arguments are required: --training-job-name (or <job>, or TrainingJobName in --cli-input-json)');
      io.out(json(await ctx.api().call('CreateTrainingJob', request)));
      return 0;
    },
  },
  {
    name: 'describe-training-job',
    summary: "a job's DescribeTrainingJob response, as JSON",
    usage: 'spotctl describe-training-job <job>',
    options: { 'training-job-name': { type: 'string' } },
    help: ['--training-job-name NAME   the job (or the first argument)'],
    async run(ctx, values, positionals, io) {
      io.out(json(await describe(ctx, jobName(values, positionals, 'describe-training-job'))));
      return 0;
    },
  },
  {
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
      const maxItems = values['max-items'] === undefined ? Infinity : seconds(values['max-items'], 'max-items', 1) ?? Infinity;
      const pageSize = values['page-size'] === undefined ? 100 : Number(values['page-size']);
      const filter: Record<string, unknown> = {
        MaxResults: Math.min(pageSize, Number.isFinite(maxItems) ? maxItems : pageSize),
        ...(values['status-equals'] ? { StatusEquals: values['status-equals'] } : {}),
        ...(values['name-contains'] ? { NameContains: values['name-contains'] } : {}),
        ...(values['sort-by'] ? { SortBy: values['sort-by'] } : {}),
        ...(values['sort-order'] ? { SortOrder: values['sort-order'] } : {}),
        ...(typeof values['creation-time-after'] === 'string' ? { CreationTimeAfter: epochSeconds(values['creation-time-after'], 'creation-time-after') } : {}),
        ...(typeof values['creation-time-before'] === 'string' ? { CreationTimeBefore: epochSeconds(values['creation-time-before'], 'creation-time-before') } : {}),
      };
      const api = ctx.api();
      const jobs: (Partial<JobView> & { TrainingJobName: string })[] = [];
      let token: string | undefined;
      do {
        const page = await api.call<{ TrainingJobSummaries: JobView[]; NextToken?: string }>('ListTrainingJobs', { ...filter, ...(token ? { NextToken: token } : {}) });
        jobs.push(...page.TrainingJobSummaries);
        token = page.NextToken;
      } while (token && jobs.length < maxItems);
      const shown = jobs.slice(0, Number.isFinite(maxItems) ? maxItems : undefined);
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
  },
  {
    name: 'stop-training-job',
    summary: 'stop a job (Stopping, then Stopped)',
    usage: 'spotctl stop-training-job <job>',
    options: { 'training-job-name': { type: 'string' } },
    help: ['--training-job-name NAME   the job (or the first argument)'],
    async run(ctx, values, positionals, io) {
      const name = jobName(values, positionals, 'stop-training-job');
      await ctx.api().call('StopTrainingJob', { TrainingJobName: name });
      io.err(`Stopping ${name}; \`spotctl watch ${name}\` follows it to Stopped.\n`);
      return 0;
    },
  },
  {
    name: 'delete-training-job',
    summary: 'delete a finished job',
    usage: 'spotctl delete-training-job <job>',
    options: { 'training-job-name': { type: 'string' } },
    help: ['--training-job-name NAME   the job (or the first argument); it must have ended'],
    async run(ctx, values, positionals, io) {
      const name = jobName(values, positionals, 'delete-training-job');
      await ctx.api().call('DeleteTrainingJob', { TrainingJobName: name });
      io.err(`Deleted ${name}.\n`);
      return 0;
    },
  },
  {
    name: 'watch',
    summary: 'follow a job live until it ends; the exit code says how it ended',
    usage: 'spotctl watch <job> [--interval S] [--timeout S] [--plain]',
    options: { 'training-job-name': { type: 'string' }, interval: { type: 'string' }, timeout: { type: 'string' }, plain: { type: 'boolean' } },
    help: [
      '--interval SECONDS   how often to poll DescribeTrainingJob (default 2)',
      '--timeout SECONDS    give up after this long (exit 14)',
      '--plain              plain lines even on a terminal (they are the default when stdout is not one)',
      'Exit codes: 0 Completed, 10 Failed, 11 Stopped (StopTrainingJob), 12 MaxRuntimeExceeded, 13 MaxWaitTimeExceeded, 14 --timeout.',
    ],
    async run(ctx, values, positionals, io) {
      const name = jobName(values, positionals, 'watch');
      const interval = seconds(values.interval, 'interval', 0.05) ?? 2;
      const timeout = seconds(values.timeout, 'timeout', 0);
      return watchJob(ctx.api(), name, { intervalMs: interval * 1000, ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}), plain: Boolean(values.plain) }, io);
    },
  },
  {
    name: 'logs',
    summary: 'the training output of every attempt and instance (--follow until the job ends)',
    usage: 'spotctl logs <job> [--follow] [--attempt N]',
    options: {
      'training-job-name': { type: 'string' },
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
      const attempt = seconds(values.attempt, 'attempt', 1);
      return showLogs(
        ctx,
        ctx.api(),
        name,
        { follow: Boolean(values.follow), from, intervalMs: (seconds(values.interval, 'interval', 0.05) ?? 2) * 1000, ...(attempt !== undefined ? { attempt } : {}) },
        io,
      );
    },
  },
  {
    name: 'interrupt',
    summary: "send a synthetic spot interruption warning (or --rebalance recommendation) for the job's current instances",
    usage: 'spotctl interrupt <job> [--action terminate|stop|hibernate] [--rebalance] [--instance-id ID]',
    options: {
      'training-job-name': { type: 'string' },
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
      const job = await describe(ctx, name);
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
  },
  {
    name: 'report',
    summary: 'timeline, attempts, training vs billable seconds, dollars and savings (--json, --html FILE)',
    usage: 'spotctl report <job> [--json] [--html report.html]',
    options: { 'training-job-name': { type: 'string' }, json: { type: 'boolean' }, html: { type: 'string' } },
    help: [
      '--json         the report as JSON',
      '--html FILE    also write a self-contained HTML page with an SVG timeline of attempts, interruptions and checkpoints',
      'Checkpoints are read from the job\'s CheckpointConfig.S3Uri (its manifests) when S3 can be listed.',
    ],
    async run(ctx, values, positionals, io) {
      const name = jobName(values, positionals, 'report');
      const job = await describe(ctx, name);
      const now = Date.now() / 1000;
      const report = buildReport(job, await listCheckpoints(ctx, job, io), now);
      if (typeof values.html === 'string') {
        await io.writeFile(values.html, reportHtml(job, report, now));
        io.err(`Wrote ${values.html}\n`);
      }
      io.out(values.json ? json(report) : `${reportText(job, report)}\n`);
      return 0;
    },
  },
];

function commandHelp(command: Command): string {
  return [
    `Usage: ${command.usage}`,
    '',
    `${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.`,
    '',
    'Options:',
    ...command.help.map((l) => `  ${l}`),
    '',
    'Global options:',
    ...GLOBAL_HELP.map((l) => `  ${l}`),
    '',
  ].join('\n');
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: spotctl <command> [options]',
    '',
    'Managed spot training from the terminal: submit, watch, interrupt and report on training jobs.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '`spotctl <command> --help` describes a command. Exit codes: 0 success, 10-14 how a watched job ended,',
    '252 usage error, 254 the service refused the request, 255 any other error (README "spotctl").',
    '',
  ].join('\n');
}

/** Like the AWS CLI: `An error occurred (ValidationException) when calling the CreateTrainingJob operation: …`. */
function describeError(error: unknown, ctx: Context | undefined): { message: string; code: number } {
  if (error instanceof UsageError) return { message: `spotctl: error: ${error.message}`, code: EXIT.usage };
  if (error instanceof CliError) return { message: error.message, code: EXIT.other };
  if (error instanceof ApiCallError) {
    return { message: `An error occurred (${error.type}) when calling the ${error.operation ?? 'API'} operation: ${error.message}`, code: error.type === 'InvalidResponse' ? EXIT.other : EXIT.service };
  }
  const e = error as Error & { $metadata?: unknown; $fault?: string; code?: string; cause?: { code?: string; message?: string } };
  const network = e.cause?.code ?? e.code ?? (e instanceof TypeError && e.message === 'fetch failed' ? (e.cause?.message ?? 'fetch failed') : undefined);
  if (network && (e.message === 'fetch failed' || /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|UND_ERR_CONNECT_TIMEOUT)$/.test(network))) {
    const local = ctx?.local ? ' Is the local cloud running (npm start)?' : '';
    const url = /https?:\/\/[^\s"]+/.exec(String(e.cause?.message ?? e.message))?.[0] ?? ctx?.apiEndpoint ?? '';
    return { message: `Could not connect to the endpoint URL: "${url}" (${network}).${local}`, code: EXIT.other };
  }
  if (e.$metadata !== undefined && e.$fault) {
    return { message: `An error occurred (${e.name}) when calling the ${(e as { $operation?: string }).$operation ?? 'AWS'} operation: ${e.message}`, code: EXIT.service };
  }
  return { message: `spotctl: ${e?.message ?? String(error)}`, code: EXIT.other };
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const named = first === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.out(named ? commandHelp(named) : mainHelp());
    return 0;
  }
  if (first === '--version') {
    io.out('spotctl 0.1.0\n');
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    const close = COMMANDS.filter((c) => c.name.includes(first) || first.includes(c.name.split('-')[0] ?? '')).map((c) => c.name);
    io.err(`spotctl: error: unknown command '${first}'${close.length ? `; did you mean ${close.join(', ')}?` : ''}\n\n${mainHelp()}`);
    return EXIT.usage;
  }
  let ctx: Context | undefined;
  let debug = rest.includes('--debug');
  try {
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
    } catch (error) {
      throw new UsageError(`${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\nSee 'spotctl ${command.name} --help'.`);
    }
    debug = Boolean(parsed.values.debug);
    if (parsed.values.help) {
      io.out(commandHelp(command));
      return 0;
    }
    ctx = new Context(parsed.values as GlobalOptions, io.env);
    return await command.run(ctx, parsed.values, parsed.positionals, io);
  } catch (error) {
    const { message, code } = describeError(error, ctx);
    io.err(`\n${message}\n`);
    if (debug && error instanceof Error && error.stack) io.err(`${error.stack}\n`);
    return code;
  }
}
