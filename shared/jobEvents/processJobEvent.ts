import type { JobEvent } from '../lifecycle/decide.js';
import { count, logger } from '../observability.js';
import type { EventContext, Services } from '../services.js';
import { applyEvent, type Outcome } from './applyEvent.js';
import { runEffects } from './runEffects.js';

/**
 * What handling an event for a job is, wherever it came from (EventBridge, S3, the API, a
 * deadline): applyEvent reads the record, decides and writes once; runEffects then does what
 * the decision calls for; the log and the metrics say what happened.
 */

/**
 * Applies one event to one job and carries out what the decision calls for. Effects run
 * after the write: a crash in between is repaired by the redelivery, which finds the event
 * already applied and re-issues the effects the job's state implies (all are idempotent).
 */
export async function processJobEvent(services: Services, jobName: string, event: JobEvent, context: EventContext, depth = 0): Promise<Outcome> {
  const outcome = await applyEvent(services.store, jobName, event, services.now);
  const fields = { jobName, event: event.type, eventId: context.eventId, source: context.source };
  if (outcome.status === 'not-found') {
    count('IgnoredEvent');
    logger.info('ignored: no such job', { ...fields, reason: 'not-found' });
    return outcome;
  }
  const attempt = outcome.job.CurrentAttempt;
  if (outcome.status === 'ignored') {
    count('IgnoredEvent');
    logger.info(`ignored: ${outcome.detail}`, { ...fields, attempt, reason: outcome.reason });
  } else {
    for (const transition of outcome.decision.transitions) {
      count('Transition');
      if (transition.Status === 'Interrupted') count('Interruption');
      logger.info(`transition to ${transition.Status}`, { ...fields, attempt, status: transition.Status, message: transition.StatusMessage });
    }
    if (outcome.decision.transitions.length === 0) logger.info('recorded', { ...fields, attempt });
  }
  await runEffects(services, outcome.job, outcome.effects, context, depth);
  return outcome;
}
