import { readCreateRequest } from '../shared/api/createRequest.js';
import { trainingJobArn } from '../shared/api/operations.js';
import { decide, type JobEvent } from '../shared/lifecycle/decide.js';
import { newJob, type JobRecord } from '../shared/lifecycle/job.js';
import { costReport } from '../shared/lifecycle/money.js';
import { benchConfig, createRequest } from './lib/fixtures.js';
import { distribution, instanceIdOf, seeded, type Distribution } from './lib/stats.js';

/**
 * A seeded spot market, in simulated time, over many jobs. Each job's record is moved by the
 * product's own pure lifecycle (decide) on the events a real run produces — launch, running,
 * downloaded, checkpoint manifests, the interruption warning, termination, the relaunch it
 * calls for, uploading, completed — and priced by its own money functions (costReport).
 * The agent is modelled: training progresses one second a second while Training, a checkpoint
 * every `checkpointMinutes`, and (policy `final`) a final checkpoint inside the two-minute notice.
 * A new attempt resumes from the record's LatestCheckpoint, as the restore instruction says.
 */
export interface MoneyCell {
  interruptionsPerHour: number;
  discount: number;
  checkpointMinutes: number;
  policy: 'final checkpoint on warning' | 'periodic checkpoints only';
  jobs: number;
  interruptionsPerJob: number;
  /** 1 − spot dollars ÷ dollars of the same job run once on demand, uninterrupted. */
  achievedSavings: number;
  /** Paid instance seconds an uninterrupted run pays too ÷ all paid instance seconds. */
  usefulFraction: number;
  /** The limit achievedSavings is measured against: discount × usefulFraction. */
  limit: number;
  ratioToLimit: number;
  /** achieved ÷ discount: against the ceiling where no paid second is wasted. */
  ratioToDiscount: number;
  /** What SageMaker's formula reports, (1 − Billable ÷ Training): the discount, whatever was wasted. */
  reportedSavings: number;
  lostWorkSecondsPerInterruption: number;
  resumeSeconds: Distribution;
}

export interface MoneyResult {
  seed: number;
  jobsPerCell: number;
  model: Record<string, string>;
  cells: MoneyCell[];
  /** Largest |product's TrainingTimeInSeconds − the model's paid seconds| over all jobs. */
  accountingMismatchSeconds: number;
}

const NOTICE = 120;
const UPLOAD = 60;

interface JobRun {
  spotUsd: number;
  onDemandBaselineUsd: number;
  paidSeconds: number;
  usefulSeconds: number;
  reportedSavings: number;
  interruptions: number;
  lostSeconds: number;
  resumeSeconds: number[];
  mismatch: number;
}

function simulateJob(index: number, cell: { rate: number; discount: number; checkpointMinutes: number; final: boolean }, seed: number): JobRun {
  // The job's shape and its market draw from a seed of (job, interruption rate) alone: every
  // policy, interval and discount sees the same jobs and the same interruptions.
  const random = seeded(seed + index * 7919 + Math.round(cell.rate * 1000) * 104_729);
  const uniform = (lo: number, hi: number) => lo + random() * (hi - lo);
  const work = Math.round(uniform(2, 12) * 3600);
  const config = benchConfig('money');
  const onDemand = 1.006;
  const prices = { Spot: Math.round(onDemand * (1 - cell.discount) * 1e6) / 1e6, OnDemand: onDemand };
  const name = `money-${index}`;
  const spec = readCreateRequest(createRequest(name, { StoppingCondition: { MaxRuntimeInSeconds: work * 10, MaxWaitTimeInSeconds: work * 40 } }), config);
  let t = Date.UTC(2026, 0, 1);
  let job: JobRecord = newJob({ spec, arn: trainingJobArn(config, name), now: t });
  const apply = (event: JobEvent) => {
    const decision = decide(job, event, event.time);
    if (decision.kind !== 'apply') throw new Error(`money: ${name} ${event.type} ignored: ${decision.detail}`);
    job = { ...decision.job, Version: job.Version + 1 };
  };
  const run: JobRun = { spotUsd: 0, onDemandBaselineUsd: 0, paidSeconds: 0, usefulSeconds: 0, reportedSavings: 0, interruptions: 0, lostSeconds: 0, resumeSeconds: [], mismatch: 0 };
  const interval = cell.checkpointMinutes * 60;
  let progress = 0;
  let firstRestore = 0;
  let warnedAt: number | undefined;
  let instance = index * 1000;
  for (let attempt = 1; ; attempt++) {
    const launchDelay = uniform(60, 300);
    const restore = uniform(60, 180);
    if (attempt === 1) firstRestore = restore;
    const instanceId = instanceIdOf(++instance);
    apply({ type: 'launchSucceeded', time: t + 1000, attempt, launchRequest: 1, instanceIds: [instanceId], instanceType: 'g5.xlarge', market: 'spot' });
    const running = t + launchDelay * 1000;
    apply({ type: 'instanceState', time: running, instanceId, instanceAttempt: attempt, state: 'running', prices });
    const trainingStart = running + restore * 1000;
    // Resumed from what the record says is the latest checkpoint.
    const start = job.LatestCheckpoint?.Sequence ?? 0;
    if (start !== progress) throw new Error(`money: ${name} resumed from ${start}, the model saved ${progress}`);
    const finish = trainingStart + (work - start) * 1000;
    const interruption = running + (-Math.log(1 - random()) / (cell.rate / 3600)) * 1000;
    // Interrupted while restoring: no downloaded report, nothing trained, nothing to lose.
    if (interruption >= trainingStart) {
      apply({ type: 'agentReport', time: trainingStart, attempt, phase: 'downloaded' });
      if (warnedAt !== undefined) run.resumeSeconds.push((trainingStart - warnedAt) / 1000);
      warnedAt = undefined;
    }
    if (interruption >= finish) {
      const periodic = Math.floor((work - start - 1) / interval);
      if (periodic > 0) apply(checkpointEvent(name, start + periodic * interval, trainingStart + periodic * interval * 1000));
      apply({ type: 'agentReport', time: finish, attempt, phase: 'uploading' });
      apply({ type: 'agentReport', time: finish + UPLOAD * 1000, attempt, phase: 'completed' });
      run.paidSeconds += (finish + UPLOAD * 1000 - running) / 1000;
      break;
    }
    const reached = start + Math.max(0, (interruption - trainingStart) / 1000);
    const periodic = Math.floor((reached - start) / interval);
    if (periodic > 0) apply(checkpointEvent(name, start + periodic * interval, trainingStart + periodic * interval * 1000));
    apply({ type: 'interruptionWarning', time: interruption, instanceId, instanceAttempt: attempt, action: 'terminate' });
    run.interruptions++;
    warnedAt ??= interruption;
    const finalCheckpointSeconds = uniform(20, 100); // drawn under both policies: the same market for both
    const saved = cell.final && reached > start + periodic * interval ? Math.floor(reached) : start + periodic * interval;
    // The final checkpoint: SIGTERM, the script saves, the agent uploads — inside the notice.
    if (saved > start + periodic * interval) apply(checkpointEvent(name, saved, interruption + finalCheckpointSeconds * 1000));
    run.lostSeconds += reached - saved;
    progress = saved;
    const terminated = interruption + NOTICE * 1000;
    apply({ type: 'instanceState', time: terminated, instanceId, instanceAttempt: attempt, state: 'terminated' });
    if (job.SecondaryStatus !== 'Starting') throw new Error(`money: ${name} is ${job.SecondaryStatus} after its instance went`);
    run.paidSeconds += (terminated - running) / 1000;
    t = terminated;
  }
  if (job.SecondaryStatus !== 'Completed') throw new Error(`money: ${name} ended ${job.SecondaryStatus}`);
  const report = costReport(job, job.TrainingEndTime ?? t);
  run.spotUsd = report.SpotCostUsd;
  run.usefulSeconds = firstRestore + work + UPLOAD;
  run.onDemandBaselineUsd = (run.usefulSeconds / 3600) * onDemand;
  run.reportedSavings = report.SavingsPercent / 100;
  run.mismatch = Math.abs(report.TrainingTimeInSeconds - run.paidSeconds);
  return run;
}

function checkpointEvent(name: string, sequence: number, time: number): JobEvent {
  const id = `step=${sequence}`;
  return { type: 'checkpoint', time, checkpoint: { Id: id, Sequence: sequence, ManifestUri: `s3://spot-training-data/checkpoints/${name}/${id}/manifest.json`, Time: time } };
}

export function runMoney(options: { jobsPerCell: number; seed: number }): MoneyResult {
  const cells: MoneyCell[] = [];
  let mismatch = 0;
  for (const rate of [0.05, 0.1, 0.2]) {
    for (const discount of [0.6, 0.75, 0.9]) {
      for (const checkpointMinutes of [10, 30]) {
        for (const final of [true, false]) {
          const runs = Array.from({ length: options.jobsPerCell }, (_, i) => simulateJob(i, { rate, discount, checkpointMinutes, final }, options.seed));
          const sum = (f: (r: JobRun) => number) => runs.reduce((s, r) => s + f(r), 0);
          const achieved = 1 - sum((r) => r.spotUsd) / sum((r) => r.onDemandBaselineUsd);
          const useful = sum((r) => r.usefulSeconds) / sum((r) => r.paidSeconds);
          const interruptions = sum((r) => r.interruptions);
          mismatch = Math.max(mismatch, ...runs.map((r) => r.mismatch));
          const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
          cells.push({
            interruptionsPerHour: rate,
            discount,
            checkpointMinutes,
            policy: final ? 'final checkpoint on warning' : 'periodic checkpoints only',
            jobs: runs.length,
            interruptionsPerJob: r4(interruptions / runs.length),
            achievedSavings: r4(achieved),
            usefulFraction: r4(useful),
            limit: r4(discount * useful),
            ratioToLimit: r4(achieved / (discount * useful)),
            ratioToDiscount: r4(achieved / discount),
            reportedSavings: r4(sum((r) => r.reportedSavings) / runs.length),
            lostWorkSecondsPerInterruption: Math.round((interruptions ? sum((r) => r.lostSeconds) / interruptions : 0) * 10) / 10,
            resumeSeconds: distribution(runs.flatMap((r) => r.resumeSeconds)),
          });
        }
      }
    }
  }
  return {
    seed: options.seed,
    jobsPerCell: options.jobsPerCell,
    model: {
      work: 'useful training 2–12 h per job (uniform)',
      market: 'interruptions a Poisson process on instance running time, 5, 10 or 20 % an hour; discounts 60, 75, 90 % off on-demand (g5.xlarge, $1.006/h)',
      launch: 'launch delay 60–300 s (unpaid), restore/download 60–180 s (paid), output upload 60 s (paid)',
      interruption: 'two-minute notice, paid; the instance terminates at its end and the job relaunches then (the lifecycle launches on termination)',
      checkpoints: 'every 10 or 30 min of training; policy "final": a final checkpoint 20–100 s after the warning, inside the notice',
      baseline: 'the same job once on demand, uninterrupted: first restore + training + upload',
    },
    cells,
    accountingMismatchSeconds: Math.round(mismatch * 10) / 10,
  };
}
