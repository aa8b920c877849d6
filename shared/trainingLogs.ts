import { parsedValue, parseProblem, type Parsed } from './errors.js';
import { TRAINING_JOB_NAME } from './lifecycle/job.js';

/**
 * Where training output lives in CloudWatch Logs, as SageMaker puts it: one log group for all
 * jobs, and a stream per instance and container start, `<job>/algo-<host>-<epoch seconds>`.
 * The SageMaker Python SDK (`logs_for_job`, `fit(logs=True)`) finds a job's streams by
 * DescribeLogStreams with the prefix `<job>/` ordered by name, and the SageMaker console links
 * to the same prefix; the agent writes, `spotctl logs` and the console read, through these.
 */
export const TRAINING_LOG_GROUP = '/aws/sagemaker/TrainingJobs';

/** Every stream of a job; the slash keeps `job-1` from matching `job-10`'s streams. */
export const trainingLogStreamPrefix = (job: string) => `${job}/`;

/** `host`: the instance's 1-based place in the attempt's hosts (algo-1 … algo-N); `startedAt`: epoch milliseconds. */
export const trainingLogStream = (job: string, host: number, startedAt: number) => `${trainingLogStreamPrefix(job)}algo-${host}-${Math.floor(startedAt / 1000)}`;

export interface ParsedTrainingLogStream {
  job: string;
  host: number;
  /** Epoch seconds the stream was started. */
  startedAt: number;
}

/** Reads `<job>/algo-<host>-<epoch seconds>`. */
export function parseTrainingLogStream(name: string): Parsed<ParsedTrainingLogStream> {
  const match = /^([^/]+)\/algo-(\d{1,4})-(\d{1,12})$/.exec(name);
  if (!match) return parseProblem(`not a training log stream (<job>/algo-<n>-<epoch seconds>): '${name.slice(0, 120)}'`);
  const [, job = '', host = '', startedAt = ''] = match;
  if (!TRAINING_JOB_NAME.test(job)) return parseProblem(`'${job.slice(0, 80)}' is not a training job name`);
  return parsedValue({ job, host: Number(host), startedAt: Number(startedAt) });
}
