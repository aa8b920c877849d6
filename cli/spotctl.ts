import { parseArgs } from 'node:util';
import { ApiCallError } from './apiClient.js';
import type { Command, Options, Values } from './command.js';
import { consoleCommand } from './commands/console.js';
import { createTrainingJobCommand } from './commands/createTrainingJob.js';
import { deleteTrainingJobCommand } from './commands/deleteTrainingJob.js';
import { describeTrainingJobCommand } from './commands/describeTrainingJob.js';
import { interruptCommand } from './commands/interrupt.js';
import { listTrainingJobsCommand } from './commands/listTrainingJobs.js';
import { logsCommand } from './commands/logs.js';
import { reportCommand } from './commands/report.js';
import { stopTrainingJobCommand } from './commands/stopTrainingJob.js';
import { watchCommand } from './commands/watch.js';
import { Context, CliError, UsageError, type GlobalOptions } from './context.js';
import type { Io } from './io.js';
import { EXIT } from './job.js';

/**
 * spotctl: submit, watch, interrupt and report on spot training jobs from the terminal.
 * `run` parses the arguments, runs one command (cli/commands/, one file each) and returns the
 * exit code (README "spotctl"). The registry below is the order `spotctl --help` lists them in.
 */
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
  '--logs-endpoint-url URL    CloudWatch Logs (default: $AWS_ENDPOINT_URL_CLOUDWATCH_LOGS; locally http://127.0.0.1:4606)',
  '--region REGION            default: $AWS_REGION, $AWS_DEFAULT_REGION, the API host, else us-east-1',
  '--control-bucket NAME      the deployment control bucket (default: $SPOT_TRAINING_CONTROL_BUCKET, else found by name)',
  '--log-group NAME           CloudWatch Logs group (default: $SPOT_TRAINING_LOG_GROUP, else /aws/sagemaker/TrainingJobs)',
  '--synthetic-source NAME    event source for synthetic events on AWS (default: $SPOT_TRAINING_SYNTHETIC_SOURCE, else spot-training.synthetic)',
  '--debug                    print stack traces of errors',
  '-h, --help                 this help',
];

const COMMANDS: Command[] = [
  createTrainingJobCommand,
  describeTrainingJobCommand,
  listTrainingJobsCommand,
  stopTrainingJobCommand,
  deleteTrainingJobCommand,
  watchCommand,
  logsCommand,
  interruptCommand,
  reportCommand,
  consoleCommand,
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
