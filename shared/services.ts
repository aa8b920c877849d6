import type { Capacity } from './capacity/capacity.js';
import type { Config } from './config.js';
import type { ControlChannel } from './control.js';
import type { EpochMillis } from './lifecycle/job.js';
import type { PriceSource } from './prices/priceSource.js';
import type { JobStore } from './store/jobStore.js';

/** Everything the product talks to, made once per process (see runtime.ts) and passed down. */
export interface Services {
  config: Config;
  store: JobStore;
  capacity: Capacity;
  control: ControlChannel;
  prices: PriceSource;
  now: () => EpochMillis;
  random: () => number;
}

/** Where an event came from, for the logs. */
export interface EventContext {
  eventId?: string;
  source: string;
}
