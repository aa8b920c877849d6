import middy from '@middy/core';
import { ingestInstanceStateChange } from '../shared/ingest.js';
import { observed } from '../shared/middleware.js';
import { services } from '../shared/runtime.js';

/** EventBridge: "EC2 Instance State-change Notification" → running starts an attempt; stopped or terminated ends one. */
export const handler = middy((event: unknown) => ingestInstanceStateChange(services(), event)).use(observed('instanceStateChange'));
