import { z } from 'zod';
import { describeJsonProblem, jsonProblem } from '../jsonShape.js';
import { SpotTrainingError } from '../errors.js';

/**
 * EventBridge's envelope. `id` and `time` are kept: `time` is when the thing happened (second
 * precision), `id` tells one delivery's content from another's.
 */
export const envelope = <D extends z.ZodTypeAny>(detail: D) =>
  z.object({
    version: z.string().optional(),
    id: z.string().min(1).max(128),
    'detail-type': z.string().min(1).max(128),
    source: z.string().min(1).max(256),
    account: z.string().max(32).optional(),
    time: z.iso.datetime({ offset: true }),
    region: z.string().max(32).optional(),
    resources: z.array(z.string().max(2048)).max(100).optional(),
    detail,
  });

/** EC2 instance ids: `i-` and 8 or 17 hex digits. */
export const instanceId = z.string().regex(/^i-[0-9a-f]{8}([0-9a-f]{9})?$/, 'must be an EC2 instance id (i- and 8 or 17 hex digits)');

export class MalformedEventError extends SpotTrainingError {}

/** Parses or explains, naming each field that is wrong. */
export function parseEvent<T extends z.ZodTypeAny>(schema: T, event: unknown): z.infer<T> {
  // Before the schema, which reads recursively: an event nested deeper than any AWS sends is dropped.
  const problem = jsonProblem(event);
  if (problem?.kind === 'too-deep') throw new MalformedEventError(describeJsonProblem(problem));
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`);
    throw new MalformedEventError(problems.join('; '));
  }
  return parsed.data;
}
