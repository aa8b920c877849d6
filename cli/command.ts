import type { ParseArgsConfig } from 'node:util';
import type { Context } from './context.js';
import type { Io } from './io.js';
import type { JobView } from './job.js';

/** What a spotctl command is: its flags, its help, and what it does (cli/spotctl.ts dispatches). */
export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** Lines describing the command's own options (the global ones are appended). */
  help: string[];
  run(ctx: Context, values: Values, positionals: string[], io: Io): Promise<number>;
}

/** JSON output as the AWS CLI prints it. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

export async function describeJob(ctx: Context, name: string): Promise<JobView> {
  return ctx.api().call<JobView>('DescribeTrainingJob', { TrainingJobName: name });
}
