import { z } from 'zod';
import { envelope } from './envelope.js';
import { SpotTrainingError } from '../errors.js';

/** One record of an S3 event notification; keys arrive URL-encoded, with `+` for a space. */
const record = z.object({
  eventSource: z.literal('aws:s3'),
  eventTime: z.iso.datetime({ offset: true }),
  eventName: z.string().regex(/^ObjectCreated:/, 'must be an ObjectCreated event'),
  s3: z.object({
    bucket: z.object({ name: z.string().min(3).max(63) }),
    object: z.object({ key: z.string().min(1).max(3072), size: z.number().int().nonnegative().optional(), sequencer: z.string().max(64).optional() }),
  }),
});

export const s3Notification = z.object({ Records: z.array(z.unknown()).min(1).max(100) });
export const s3Record = record;
export type S3Record = z.infer<typeof record>;

export class KeyEncodingError extends SpotTrainingError {}

export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new KeyEncodingError(`key '${encoded.slice(0, 100)}' is not valid URL encoding`);
  }
}

/**
 * S3's "Object Created" event as EventBridge delivers it (a bucket with EventBridge
 * notifications on): one object per event, its key NOT URL-encoded.
 */
export const s3EventBridgeObjectCreated = envelope(
  z.object({
    bucket: z.object({ name: z.string().min(3).max(63) }),
    object: z.object({ key: z.string().min(1).max(3072), size: z.number().int().nonnegative().optional(), sequencer: z.string().max(64).optional() }),
  }),
).extend({ source: z.literal('aws.s3'), 'detail-type': z.literal('Object Created') });

/** Whether an event is an EventBridge envelope (rather than an S3 notification's `Records`). */
export function isEventBridgeEnvelope(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && !('Records' in raw) && ('detail-type' in raw || 'source' in raw);
}
