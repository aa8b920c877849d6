import type { Attempt, EpochMillis, JobRecord, Market } from './job.js';

/** Hourly prices of one instance type at one moment. */
export interface InstancePrices {
  Spot: number;
  OnDemand: number;
}

/**
 * Where prices come from: spot price history and the on-demand price list on AWS,
 * a configurable table locally. The core asks; it never knows which.
 */
export interface PriceSource {
  pricesAt(instanceType: string, at: EpochMillis): Promise<InstancePrices>;
}

export class PriceTableError extends Error {}

/** A fixed table of hourly prices per instance type. */
export class TablePriceSource implements PriceSource {
  constructor(private readonly table: Readonly<Record<string, InstancePrices>>) {
    for (const [type, prices] of Object.entries(table)) {
      if (!(prices.OnDemand > 0) || !(prices.Spot >= 0) || prices.Spot > prices.OnDemand) {
        throw new PriceTableError(
          `Price table entry ${type}: OnDemand must be > 0 and 0 <= Spot <= OnDemand, got Spot=${prices.Spot} OnDemand=${prices.OnDemand}`,
        );
      }
    }
  }

  async pricesAt(instanceType: string): Promise<InstancePrices> {
    const prices = this.table[instanceType];
    if (!prices) throw new PriceTableError(`No price for instance type ${instanceType} in the price table`);
    return prices;
  }
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

/** The seed's formula: (1 − Billable ÷ Training) × 100; no training yet means no savings yet. */
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
