import { type EpochMillis, type JobRecord } from './job.js';
import { onAgentReport, onCheckpoint, onDownloadProgress } from './agentEvents.js';
import { onCheckpointOutcome } from './checkpointOutcomes.js';
import { onMetricsReported } from './metrics.js';
import { ignore } from './draft.js';
import { impliedEffects } from './effects.js';
import { onInstanceState, onInterruptionWarning, onLaunchFailed, onLaunchSucceeded, onRebalance } from './instanceEvents.js';
import { onReclaimed, onStopRequested, onTimer } from './stopping.js';
import { type Decision, type JobEvent } from './vocabulary.js';

export type { AgentPhase, Decision, Effect, IgnoreReason, InstanceState, JobEvent } from './vocabulary.js';
export { effectsOnDelete, impliedEffects } from './effects.js';

/**
 * The lifecycle: given a job as stored and something that happened, what the job becomes and
 * what must be done about it. Pure: no I/O, `now` passed in. This file only dispatches: the
 * vocabulary is in vocabulary.ts, the handling of each kind of event in instanceEvents.ts,
 * agentEvents.ts and stopping.ts, what is done about a decision in effects.ts.
 */
export function decide(job: JobRecord, event: JobEvent, now: EpochMillis): Decision {
  const lastTransition = job.Transitions[job.Transitions.length - 1];
  const at = Math.max(lastTransition?.StartTime ?? job.CreationTime, Math.min(event.time, now));
  if (event.key && job.RecentEventKeys.includes(event.key)) {
    return ignore('duplicate', `event ${event.key} was already applied`, impliedEffects(job));
  }
  switch (event.type) {
    case 'launchSucceeded':
      return onLaunchSucceeded(job, event, at);
    case 'launchFailed':
      return onLaunchFailed(job, event, at);
    case 'instanceState':
      return onInstanceState(job, event, at);
    case 'interruptionWarning':
      return onInterruptionWarning(job, event, at);
    case 'rebalanceRecommendation':
      return onRebalance(job, event, at);
    case 'agentReport':
      return onAgentReport(job, event, at);
    case 'checkpoint':
      return onCheckpoint(job, event, at);
    case 'checkpointOutcome':
      return onCheckpointOutcome(job, event, at);
    case 'metricsReported':
      return onMetricsReported(job, event, at);
    case 'downloadProgress':
      return onDownloadProgress(job, event, at);
    case 'stopRequested':
      return onStopRequested(job, at);
    case 'timer':
      return onTimer(job, now);
    case 'reclaimed':
      return onReclaimed(job, event);
  }
}
