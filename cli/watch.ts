import type { TrainingJobsClient } from './apiClient.js';
import { bar, duration, usd } from './format.js';
import type { Io } from './io.js';
import { elapsedSeconds, endingExitCode, EXIT, isFinished, retrying, type AttemptView, type JobView, type TransitionView } from './job.js';

/**
 * `spotctl watch <job>`: polls DescribeTrainingJob until the job ends. On a terminal, a
 * progress display redrawn in place; otherwise a plain line whenever something changes, and a
 * line for each transition that began and ended between two polls, so that the plain output
 * lists every SecondaryStatusTransition whatever the interval.
 * Exits with a code that says how the job ended (job.ts EXIT, the README's table).
 */
export interface WatchOptions {
  intervalMs: number;
  timeoutMs?: number;
  /** Plain lines even on a terminal. */
  plain: boolean;
}

const nowSeconds = () => Date.now() / 1000;

function checkpointText(job: JobView, now: number): string {
  const cp = job.LatestCheckpoint;
  const latest = !cp ? 'none' : cp.Time === undefined ? cp.CheckpointId : `${cp.CheckpointId} (${duration(Math.max(0, now - cp.Time))} ago)`;
  // A checkpoint that fails, is overdue or has nothing to save is said, never only implied by its age.
  const health = job.CheckpointHealth;
  return health && health.Status !== 'Healthy' && health.Status !== 'NotCheckpointing' ? `${latest}, ${health.Status.toUpperCase()}: ${health.Message}` : latest;
}

function attemptText(a: AttemptView | undefined): string {
  if (!a) return 'attempt -';
  const where = a.InstanceIds.length ? a.InstanceIds.join(',') : 'no instance yet';
  return `attempt ${a.AttemptNumber} on ${where}`;
}

function moneyText(job: JobView): string {
  const s = job.Savings;
  return `training ${job.TrainingTimeInSeconds ?? 0}s, billable ${job.BillableTimeInSeconds ?? 0}s, savings ${s ? `${s.SavingsPercent}%` : '-'}`;
}

/** One plain line: what a log file or CI output should show. */
export function plainLine(job: JobView, now: number): string {
  return [
    `+${duration(elapsedSeconds(job, now))}`.padEnd(9),
    job.TrainingJobStatus.padEnd(10),
    job.SecondaryStatus.padEnd(19),
    attemptText(job.Attempts?.at(-1)),
    `interruptions ${job.Interruptions?.length ?? 0}`,
    `checkpoint ${checkpointText(job, now)}`,
    moneyText(job),
  ].join('  ');
}

/**
 * A plain line for a transition that watch did not see as the current status: its time, its
 * status, the attempt and the interruptions as they were when it began, and how long it lasted.
 * A transition that another one followed was never terminal: it was InProgress, or Stopping.
 */
export function pastLine(job: JobView, transition: TransitionView): string {
  const at = transition.StartTime;
  const attempt = job.Attempts?.filter((a) => (a.RequestedTime ?? a.RunningTime ?? at) <= at).at(-1);
  return [
    `+${duration(Math.max(0, at - job.CreationTime))}`.padEnd(9),
    (transition.Status === 'Stopping' ? 'Stopping' : 'InProgress').padEnd(10),
    transition.Status.padEnd(19),
    attemptText(attempt),
    `interruptions ${job.Interruptions?.filter((i) => i.Time <= at).length ?? 0}`,
    `lasted ${duration((transition.EndTime ?? at) - at)}, between two polls`,
  ].join('  ');
}

/** The terminal display: a few lines, redrawn in place. */
export function progressLines(job: JobView, now: number): string[] {
  const elapsed = elapsedSeconds(job, now);
  const maxRuntime = job.StoppingCondition?.MaxRuntimeInSeconds;
  const maxWait = job.StoppingCondition?.MaxWaitTimeInSeconds;
  const ran = job.TrainingTimeInSeconds ?? 0;
  const lines = [`${job.TrainingJobName}  ${job.TrainingJobStatus} · ${job.SecondaryStatus}   elapsed ${duration(elapsed)}`];
  if (maxRuntime) lines.push(`  runtime [${bar(ran / maxRuntime, 24)}] ${String(Math.floor((ran / maxRuntime) * 100)).padStart(3)}%  ${duration(ran)} of MaxRuntimeInSeconds ${maxRuntime}`);
  if (maxWait) lines.push(`  wait    [${bar(elapsed / maxWait, 24)}] ${String(Math.floor((elapsed / maxWait) * 100)).padStart(3)}%  ${duration(elapsed)} of MaxWaitTimeInSeconds ${maxWait}`);
  const a = job.Attempts?.at(-1);
  lines.push(
    `  ${attemptText(a)}${a?.InstanceType ? ` (${a.InstanceType} ${a.Market ?? ''})` : ''} · interruptions ${job.Interruptions?.length ?? 0} · latest checkpoint ${checkpointText(job, now)}`,
  );
  const s = job.Savings;
  lines.push(`  ${moneyText(job)}${s ? ` (${usd(s.SpotCostUsd)} instead of ${usd(s.OnDemandCostUsd)})` : ''}`);
  lines.push(`  ${job.SecondaryStatusTransitions.map((t) => t.Status).join(' › ')}`);
  return lines;
}

export function finalLine(job: JobView, now: number): string {
  const s = job.Savings;
  const how = job.SecondaryStatus === job.TrainingJobStatus ? job.TrainingJobStatus : `${job.TrainingJobStatus} (${job.SecondaryStatus})`;
  return `${job.TrainingJobName} ${how} after ${duration(elapsedSeconds(job, now))}: ${job.Attempts?.length ?? 0} attempt(s), ${job.Interruptions?.length ?? 0} interruption(s), training ${
    job.TrainingTimeInSeconds ?? 0
  }s, billable ${job.BillableTimeInSeconds ?? 0}s, savings ${s?.SavingsPercent ?? 0}% (${usd((s?.OnDemandCostUsd ?? 0) - (s?.SpotCostUsd ?? 0))} saved)${job.FailureReason ? `; FailureReason: ${job.FailureReason}` : ''}`;
}

export async function watchJob(api: Pick<TrainingJobsClient, 'call'>, name: string, options: WatchOptions, io: Io): Promise<number> {
  const tty = io.isTTY && !options.plain;
  const started = Date.now();
  let lastKey = '';
  /** How many of the job's transitions have a line already. */
  let printed = 0;
  let drawn = 0;
  const fit = (line: string) => (line.length >= io.columns ? `${line.slice(0, Math.max(1, io.columns - 2))}…` : line);
  if (tty) io.out('\x1b[?25l');
  try {
    for (;;) {
      const job = await retrying(() => api.call<JobView>('DescribeTrainingJob', { TrainingJobName: name }), io.sleep);
      const now = nowSeconds();
      if (tty) {
        const lines = progressLines(job, now).map(fit);
        io.out(`${drawn ? `\x1b[${drawn}F\x1b[0J` : ''}${lines.join('\n')}\n`);
        drawn = lines.length;
      } else {
        const transitions = job.SecondaryStatusTransitions;
        for (const past of transitions.slice(printed, -1)) io.out(`${pastLine(job, past)}\n`);
        printed = Math.max(printed, transitions.length);
        const key = [transitions.length, job.TrainingJobStatus, job.SecondaryStatus, job.Attempts?.length, job.Attempts?.at(-1)?.InstanceIds.join(','), job.Interruptions?.length, job.LatestCheckpoint?.CheckpointId, job.CheckpointHealth?.Status, job.LastCheckpointFailure?.Time].join('|');
        if (key !== lastKey) io.out(`${plainLine(job, now)}\n`);
        lastKey = key;
      }
      if (isFinished(job)) {
        io.out(`${finalLine(job, now)}\n`);
        return endingExitCode(job);
      }
      if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) {
        io.err(`spotctl watch: ${name} is still ${job.TrainingJobStatus} (${job.SecondaryStatus}) after --timeout ${options.timeoutMs / 1000}s\n`);
        return EXIT.watchTimeout;
      }
      await io.sleep(options.intervalMs);
    }
  } finally {
    if (tty) io.out('\x1b[?25h');
  }
}
