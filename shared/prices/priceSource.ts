import type { EpochMillis } from '../lifecycle/job.js';
import type { InstancePrices } from '../lifecycle/money.js';

/**
 * Where prices come from: spot price history and the on-demand price list on AWS,
 * a configurable table locally. The core asks; it never knows which.
 */
export interface PriceSource {
  pricesAt(instanceType: string, at: EpochMillis): Promise<InstancePrices>;
}
