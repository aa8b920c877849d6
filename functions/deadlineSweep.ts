import middy from '@middy/core';
import { sweepDeadlines } from '../shared/ingest.js';
import { observed } from '../shared/middleware.js';
import { services } from '../shared/runtime.js';

/**
 * Every minute: the unfinished jobs whose next deadline has passed (MaxWaitTimeInSeconds,
 * MaxRuntimeInSeconds, a launch retry, a stop taking too long), from the sparse deadline index.
 */
export const handler = middy(() => sweepDeadlines(services())).use(observed('deadlineSweep'));
