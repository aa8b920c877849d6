import { SpotTrainingError } from '../errors.js';
import { decide, type Decision, type Effect, type IgnoreReason, type JobEvent } from '../lifecycle/decide.js';
import type { EpochMillis, JobRecord } from '../lifecycle/job.js';
import { JobNotFoundError, StaleRecordError, type JobStore } from '../store/jobStore.js';

export type Outcome =
  | { status: 'applied'; job: JobRecord; decision: Extract<Decision, { kind: 'apply' }>; effects: Effect[] }
  | { status: 'ignored'; job: JobRecord; reason: IgnoreReason; detail: string; effects: Effect[] }
  | { status: 'not-found' };

export class ContentionError extends SpotTrainingError {}

/** Conditional writes that lose a race are decided again on the record that won. */
const MAX_ROUNDS = 30;
/** Racers back off with full jitter so that they stop colliding: at most this many ms per round. */
const BACKOFF_CEILING_MS = 200;

const pause = (round: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(BACKOFF_CEILING_MS, 2 ** round)));

/**
 * Applies one event to one job: a consistent read, the pure decision, one conditional write.
 * A write that loses a race is decided again on the record that won (returned by the failed
 * write itself, no second read): the event then applies on top, or is seen as a duplicate.
 */
export async function applyEvent(store: JobStore, jobName: string, event: JobEvent, now: () => EpochMillis): Promise<Outcome> {
  let job = await store.get(jobName);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (!job) return { status: 'not-found' };
    const decision = decide(job, event, now());
    if (decision.kind === 'ignore') {
      return { status: 'ignored', job, reason: decision.reason, detail: decision.detail, effects: decision.effects };
    }
    try {
      await store.write(job, decision);
      return { status: 'applied', job: decision.job, decision, effects: decision.effects };
    } catch (error) {
      if (error instanceof JobNotFoundError) return { status: 'not-found' };
      if (!(error instanceof StaleRecordError)) throw error;
      job = error.current;
      await pause(round);
    }
  }
  throw new ContentionError(`Job ${jobName}: gave up after ${MAX_ROUNDS} conflicting writes`);
}
