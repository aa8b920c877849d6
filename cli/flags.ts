import type { Options, Values } from './command.js';
import { UsageError } from './context.js';

/** Reading a command's flags and arguments, with errors that name the flag and what it takes. */

/** The flag of the job a command acts on, which jobName() reads. */
export const JOB_NAME_OPTION: Options = { 'training-job-name': { type: 'string' } };

/** The job a command acts on: --training-job-name, or the one positional argument. */
export function jobName(values: Values, positionals: string[], command: string): string {
  const flag = values['training-job-name'];
  const named = typeof flag === 'string';
  const name = named ? flag : positionals[0];
  if (!name) throw new UsageError(`the following arguments are required: <job> (or --training-job-name)\nUsage: spotctl ${command} <job>`);
  const extra = positionals.slice(named ? 0 : 1);
  if (extra.length) throw new UsageError(`Unknown arguments: ${extra.join(' ')}`);
  return name;
}

export interface NumberRule {
  /** What the number is, for the error: 'seconds', 'jobs', 'an attempt number', … */
  unit: string;
  min: number;
  integer?: boolean;
}

/** A numeric flag, or undefined when it is not given. */
export function numberFlag(values: Values, flag: string, rule: NumberRule): number | undefined {
  const value = values[flag];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < rule.min || (rule.integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag} must be a ${rule.integer ? 'whole ' : ''}number ≥ ${rule.min} (${rule.unit}), got '${String(value)}'`);
  }
  return n;
}

/** An ISO time or epoch seconds, as SageMaker's JSON protocol carries it. */
export function epochSeconds(values: Values, flag: string): number | undefined {
  const value = values[flag];
  if (typeof value !== 'string') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${flag}: '${value}' is neither an ISO 8601 time nor epoch seconds`);
  return t / 1000;
}
