import { DescribeSpotPriceHistoryCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { EpochMillis } from '../lifecycle/job.js';
import type { InstancePrices } from '../lifecycle/money.js';
import type { PriceSource } from './priceSource.js';

/**
 * Spot prices from EC2's spot price history at the moment asked (the lowest across
 * availability zones), on-demand prices from a table: EC2 has no on-demand price API of its own.
 */
export class Ec2SpotPriceSource implements PriceSource {
  constructor(
    private readonly ec2: EC2Client,
    private readonly onDemand: PriceSource,
  ) {}

  async pricesAt(instanceType: string, at: EpochMillis): Promise<InstancePrices> {
    const { OnDemand, Spot: fallbackSpot } = await this.onDemand.pricesAt(instanceType, at);
    const history = await this.ec2.send(
      new DescribeSpotPriceHistoryCommand({
        InstanceTypes: [instanceType as never],
        ProductDescriptions: ['Linux/UNIX'],
        StartTime: new Date(at),
        EndTime: new Date(at),
      }),
    );
    const prices = (history.SpotPriceHistory ?? []).map((p) => Number(p.SpotPrice)).filter((p) => Number.isFinite(p) && p > 0);
    const Spot = prices.length ? Math.min(...prices) : fallbackSpot;
    return { Spot: Math.min(Spot, OnDemand), OnDemand };
  }
}
