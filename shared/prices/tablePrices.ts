import { SpotTrainingError } from '../errors.js';
import type { InstancePrices } from '../lifecycle/money.js';
import type { PriceSource } from './priceSource.js';

export class PriceTableError extends SpotTrainingError {}

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
