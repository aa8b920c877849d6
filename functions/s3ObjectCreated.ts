import middy from '@middy/core';
import { ingestS3Notification } from '../shared/ingest.js';
import { observed } from '../shared/middleware.js';
import { services } from '../shared/runtime.js';

/** S3 object-created: agent reports (Training, Uploading, Completed, Failed) and checkpoint manifests. */
export const handler = middy((event: unknown) => ingestS3Notification(services(), event)).use(observed('s3ObjectCreated'));
