import type { Capacity } from './capacity/capacity.js';
import type { Config } from './config.js';
import type { ControlChannel } from './control.js';
import { applyEvent, type Outcome } from './engine.js';
import { launchRetryDelayMs } from './lifecycle/deadlines.js';
import type { Effect, JobEvent } from './lifecycle/decide.js';
import type { EpochMillis, JobRecord } from './lifecycle/job.js';
import type { PriceSource } from './lifecycle/money.js';
import { count, logger } from './observability.js';
import type { JobStore } from './store/jobStore.js';

/** Everything the product talks to, made once per process (see runtime.ts) and passed down. */
export interface Services {
  config: Config;
  store: JobStore;
  capacity: Capacity;
  control: ControlChannel;
  prices: PriceSource;
  now: () => EpochMillis;
  random: () => number;
}

/** Where an event came from, for the logs. */
export interface EventContext {
  eventId?: string;
  source: string;
}

/** Effects cause events (a launch's result), which cause effects; a chain this deep is a bug. */
const MAX_EFFECT_DEPTH = 4;

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

export async function runEffects(services: Services, job: JobRecord, effects: Effect[], context: EventContext, depth = 0): Promise<void> {
  if (effects.length && depth >= MAX_EFFECT_DEPTH) throw new Error(`Job ${job.TrainingJobName}: effects nested ${depth} deep`);
  // In order: a checkpoint request must reach the agent before its instance is terminated.
  for (const effect of effects) {
    await runEffect(services, job, effect, context, depth);
  }
}

async function runEffect(services: Services, job: JobRecord, effect: Effect, context: EventContext, depth: number): Promise<void> {
  const name = job.TrainingJobName;
  const at = new Date(services.now());
  switch (effect.type) {
    case 'launch': {
      const { type: _launch, ...launch } = effect;
      const result = await services.capacity.launch({ ...launch, jobName: name, volumeSizeInGB: job.Spec.ResourceConfig.VolumeSizeInGB });
      if (result.ok) {
        count('InstancesLaunched', result.instanceIds.length);
        // The lookup first: the instances' own events may arrive before the job records them.
        await services.store.registerInstances({ JobName: name, Attempt: effect.attempt, InstanceType: effect.instanceType }, result.instanceIds, services.now());
        const launched: JobEvent = {
          type: 'launchSucceeded',
          time: services.now(),
          attempt: effect.attempt,
          launchRequest: effect.launchRequest,
          instanceIds: result.instanceIds,
          instanceType: effect.instanceType,
          market: effect.market,
        };
        await processJobEvent(services, name, launched, context, depth + 1);
      } else {
        count('LaunchFailed');
        const retryAt = services.now() + launchRetryDelayMs(effect.launchRequest, services.random());
        const failed: JobEvent = { type: 'launchFailed', time: services.now(), attempt: effect.attempt, launchRequest: effect.launchRequest, ...result, retryAt };
        logger.warn(`launch failed: ${result.errorCode}`, { jobName: name, attempt: effect.attempt, message: result.message, retryAt: new Date(retryAt).toISOString() });
        await processJobEvent(services, name, failed, context, depth + 1);
      }
      return;
    }
    case 'requestCheckpoint':
      await services.control.request(name, effect.attempt, 'checkpoint', effect.reason, at);
      return;
    case 'writeRestore':
      await services.control.writeRestore(job, effect.attempt, effect.instanceIds);
      return;
    case 'terminateInstances':
      // A graceful end: the agent checkpoints and stops the training process while the
      // instance shuts down (its service gets SIGTERM and a stop timeout).
      if (effect.graceful) await services.control.request(name, effect.attempt, 'stop', 'terminating', at);
      await services.capacity.terminate(effect.instanceIds);
      return;
    case 'reclaimLaunches': {
      const reclaimed = await services.capacity.reclaim(name, effect.attempt);
      if (reclaimed.length) {
        count('InstancesReclaimed', reclaimed.length);
        logger.warn('terminated instances the job never recorded', { jobName: name, attempt: effect.attempt, instanceIds: reclaimed, reason: effect.reason });
      }
      if (effect.reportBack) {
        const found: JobEvent = { type: 'reclaimed', time: services.now(), attempt: effect.attempt, found: reclaimed.length };
        await processJobEvent(services, name, found, context, depth + 1);
      }
      return;
    }
  }
}
