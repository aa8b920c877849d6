import middy from '@middy/core';
import { ingestInterruptionWarning } from '../shared/ingest.js';
import { observed } from '../shared/middleware.js';
import { services } from '../shared/runtime.js';

/** EventBridge: "EC2 Spot Instance Interruption Warning" → the attempt is Interrupted, the agent checkpoints now. */
export const handler = middy((event: unknown) => ingestInterruptionWarning(services(), event)).use(observed('spotInterruptionWarning'));
