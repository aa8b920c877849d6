import type { Attempt, EpochMillis, JobRecord, Market } from './job.js';

/** Hourly prices of one instance type at one moment. */
export interface InstancePrices {
  Spot: number;
  OnDemand: number;
}

/** Milliseconds an attempt's instances have run for the job, up to `now` when it has not ended. */
export function attemptRunMillis(attempt: Attempt, now: EpochMillis): number {
  if (attempt.RunningTime === undefined) return 0;
  return Math.max(0, (attempt.EndTime ?? now) - attempt.RunningTime);
}

/** The fraction of the on-demand price paid during the attempt. */
export function billableRatio(market: Market, prices: InstancePrices | undefined): number {
  if (market === 'on-demand' || !prices) return 1;
  return prices.Spot / prices.OnDemand;
}

export function trainingMillis(job: JobRecord, now: EpochMillis): number {
  return job.Attempts.reduce((sum, attempt) => sum + attemptRunMillis(attempt, now), 0);
}

/** SageMaker's TrainingTimeInSeconds: wall-clock seconds instances ran for the job, all attempts. */
export function trainingTimeInSeconds(job: JobRecord, now: EpochMillis): number {
  return Math.round(trainingMillis(job, now) / 1000);
}

/** SageMaker's BillableTimeInSeconds: the same seconds weighted by spot ÷ on-demand price. */
export function billableTimeInSeconds(job: JobRecord, now: EpochMillis): number {
  const millis = job.Attempts.reduce(
    (sum, attempt) => sum + attemptRunMillis(attempt, now) * billableRatio(attempt.Market, attempt.Prices),
    0,
  );
  return Math.round(millis / 1000);
}

/** SageMaker's savings: (1 − BillableTimeInSeconds ÷ TrainingTimeInSeconds) × 100; no training yet means no savings yet. */
export function savingsPercent(trainingSeconds: number, billableSeconds: number): number {
  if (trainingSeconds <= 0) return 0;
  return (1 - billableSeconds / trainingSeconds) * 100;
}

export interface CostReport {
  TrainingTimeInSeconds: number;
  BillableTimeInSeconds: number;
  SavingsPercent: number;
  /** Dollars for all instances of the job: seconds × hourly price × InstanceCount. */
  SpotCostUsd: number;
  OnDemandCostUsd: number;
}

export function costReport(job: JobRecord, now: EpochMillis): CostReport {
  const training = trainingTimeInSeconds(job, now);
  const billable = billableTimeInSeconds(job, now);
  const count = job.Spec.ResourceConfig.InstanceCount;
  let paid = 0;
  let onDemand = 0;
  for (const attempt of job.Attempts) {
    const hours = attemptRunMillis(attempt, now) / 3_600_000;
    const prices = attempt.Prices;
    if (!prices) continue;
    onDemand += hours * prices.OnDemand * count;
    paid += hours * (attempt.Market === 'spot' ? prices.Spot : prices.OnDemand) * count;
  }
  return {
    TrainingTimeInSeconds: training,
    BillableTimeInSeconds: billable,
    SavingsPercent: Math.round(savingsPercent(training, billable) * 100) / 100,
    SpotCostUsd: Math.round(paid * 10_000) / 10_000,
    OnDemandCostUsd: Math.round(onDemand * 10_000) / 10_000,
  };
}
