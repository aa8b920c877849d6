import middy from '@middy/core';
import { ingestRebalanceRecommendation } from '../shared/ingest.js';
import { observed } from '../shared/middleware.js';
import { services } from '../shared/runtime.js';

/** EventBridge: "EC2 Instance Rebalance Recommendation" → an early checkpoint, recorded on the job; no status change. */
export const handler = middy((event: unknown) => ingestRebalanceRecommendation(services(), event)).use(observed('rebalanceRecommendation'));
