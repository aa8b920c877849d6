import type middy from '@middy/core';
import { logger, metrics } from './observability.js';

/**
 * Every handler's middleware: metrics are published when the invocation ends, however it
 * ends, and an error that escapes (an outage, not bad input) is logged before it is thrown
 * back to Lambda for the event to be retried.
 */
export function observed(handlerName: string): middy.MiddlewareObj {
  const publish = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return {
    after: async () => publish(),
    onError: async (request) => {
      publish();
      logger.error('handler failed; the event will be retried', { handler: handlerName, error: request.error });
    },
  };
}
