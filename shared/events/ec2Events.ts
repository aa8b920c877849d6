import { z } from 'zod';
import { envelope, instanceId } from './envelope.js';

export const INTERRUPTION_WARNING = 'EC2 Spot Instance Interruption Warning';
export const REBALANCE_RECOMMENDATION = 'EC2 Instance Rebalance Recommendation';
export const STATE_CHANGE = 'EC2 Instance State-change Notification';

export const spotInterruptionWarning = envelope(
  z.object({ 'instance-id': instanceId, 'instance-action': z.enum(['terminate', 'stop', 'hibernate']) }),
).extend({ 'detail-type': z.literal(INTERRUPTION_WARNING) });

export const rebalanceRecommendation = envelope(z.object({ 'instance-id': instanceId })).extend({
  'detail-type': z.literal(REBALANCE_RECOMMENDATION),
});

export const instanceStateChange = envelope(
  z.object({ 'instance-id': instanceId, state: z.enum(['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated']) }),
).extend({ 'detail-type': z.literal(STATE_CHANGE) });

export type SpotInterruptionWarning = z.infer<typeof spotInterruptionWarning>;
export type RebalanceRecommendation = z.infer<typeof rebalanceRecommendation>;
export type InstanceStateChange = z.infer<typeof instanceStateChange>;

/**
 * What makes two deliveries the same event: EventBridge's id where it is unique, plus what the
 * event says, because some emulators give every entry of one batch the same id.
 */
export function eventKey(event: { id: string; 'detail-type': string; detail: Record<string, unknown> }): string {
  return `${event.id}/${event['detail-type']}/${JSON.stringify(event.detail)}`;
}
