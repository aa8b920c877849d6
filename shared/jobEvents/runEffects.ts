import { launchRetryDelayMs } from '../lifecycle/deadlines.js';
import type { Effect, InstanceState, JobEvent } from '../lifecycle/decide.js';
import type { JobRecord } from '../lifecycle/job.js';
import { count, logger } from '../observability.js';
import type { EventContext, Services } from '../services.js';
import { launchSettings } from '../capacity/capacity.js';
import { processJobEvent } from './processJobEvent.js';

const ENDED_STATES: ReadonlySet<InstanceState> = new Set(['stopped', 'shutting-down', 'terminated']);

/** Effects cause events (a launch's result), which cause effects; a chain this deep is a bug. */
const MAX_EFFECT_DEPTH = 4;

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
      const result = await services.capacity.launch({ ...launch, jobName: name, ...launchSettings(job.Spec) });
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
        // EC2's own answer, not an event anyone could send: an instance it says is already on its
        // way out is gone for the job now, not only when a lost state change comes again.
        for (const [instanceId, state] of Object.entries(result.states ?? {})) {
          if (!ENDED_STATES.has(state)) continue;
          const gone: JobEvent = { type: 'instanceState', time: services.now(), instanceId, instanceAttempt: effect.attempt, state };
          await processJobEvent(services, name, gone, { ...context, source: 'RunInstances' }, depth + 1);
        }
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
      // A spot warning also ends the training process; a rebalance or a stop to come only checkpoints.
      await services.control.request(name, effect.attempt, effect.reason === 'interruption' ? 'interrupt' : 'checkpoint', effect.reason, at);
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
