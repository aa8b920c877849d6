import { checkpointHome, currentAttempt, type EpochMillis, type JobRecord, liveInstanceIds } from './job.js';
import { isTerminal, MESSAGES, type SecondaryStatus } from './statuses.js';
import { ruleFor, type Trigger } from './transitions.js';
import { Draft, ignore } from './draft.js';
import { terminateEffect } from './effects.js';
import { withReportedMetrics } from './metrics.js';
import { type AgentPhase, type Decision, type JobEvent } from './vocabulary.js';

/** What the agent says: its phase reports, its download progress and its checkpoints' manifests. */

type ProgressPhase = Exclude<AgentPhase, 'failed'>;

/** The trigger each progress report fires, in the order the agent reports them; the table says from where to where. */
const PHASE_TRIGGER = { downloaded: 'downloadCompleted', uploading: 'trainingFinished', completed: 'outputUploaded' } as const satisfies Record<ProgressPhase, Trigger>;
const PHASE_ORDER = Object.keys(PHASE_TRIGGER) as ProgressPhase[];

/** The report that moves a job on from `status` along the agent's path, read from the transition table. */
function nextPhase(status: SecondaryStatus): ProgressPhase | undefined {
  return PHASE_ORDER.find((phase) => ruleFor(PHASE_TRIGGER[phase]).from.includes(status));
}

const PHASE_MESSAGE: Record<ProgressPhase, string> = {
  downloaded: MESSAGES.training,
  uploading: MESSAGES.uploading,
  completed: MESSAGES.completed,
};

/** A phase report, and the final metric values it carries (which count whatever the phase does). */
export function onAgentReport(job: JobRecord, event: Extract<JobEvent, { type: 'agentReport' }>, at: EpochMillis): Decision {
  return withReportedMetrics(job, onPhase(job, event, at), event.attempt, event.metrics, at);
}

function onPhase(job: JobRecord, event: Extract<JobEvent, { type: 'agentReport' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  if (event.attempt !== job.CurrentAttempt) return ignore('stale', `report of attempt ${event.attempt}; current is ${job.CurrentAttempt}`);
  const draft = new Draft(job, at);
  const attempt = draft.attempt;
  if (event.phase === 'failed') {
    if (!ruleFor('trainingFailed').from.includes(job.SecondaryStatus)) {
      return ignore('not-applicable', `a failure report while ${job.SecondaryStatus} is explained by it`);
    }
    const maxRetries = job.Spec.RetryStrategy?.MaximumRetryAttempts ?? 0;
    const live = liveInstanceIds(attempt);
    if (job.RetriesUsed < maxRetries) {
      draft.job.RetriesUsed += 1;
      // The attempt ends here; its instances still have to go before the next launch.
      draft.endAttempt('failed', event.exitCode);
      draft.move('trainingFailedWithRetry', MESSAGES.restarting(draft.job.RetriesUsed, maxRetries));
    } else {
      draft.endAttempt('failed', event.exitCode);
      draft.job.FailureReason = `AlgorithmError: ${event.reason ?? MESSAGES.failed(event.exitCode)}${event.exitCode === undefined ? '' : ` (exit code ${event.exitCode})`}`;
      draft.move('trainingFailed', MESSAGES.failed(event.exitCode));
    }
    if (live.length) draft.effects.push(terminateEffect(attempt, live, 'training failed', false));
    return draft.decision();
  }
  if (job.SecondaryStatus === 'Interrupted') {
    if (event.phase !== 'completed' || attempt.EndTime !== undefined) {
      return ignore('not-applicable', `report ${event.phase} while the attempt is interrupted`);
    }
    draft.endAttempt('completed');
    draft.move('outputUploaded', MESSAGES.completed);
  } else {
    const target = PHASE_ORDER.indexOf(event.phase);
    let step = nextPhase(draft.status);
    if (!step || PHASE_ORDER.indexOf(step) > target) {
      return ignore('duplicate', `report ${event.phase} is already reflected in ${job.SecondaryStatus}`);
    }
    // Reports can arrive out of order: a later phase implies the ones before it.
    while (step && PHASE_ORDER.indexOf(step) <= target) {
      draft.move(PHASE_TRIGGER[step], PHASE_MESSAGE[step]);
      step = nextPhase(draft.status);
    }
  }
  if (draft.status === 'Completed') {
    draft.endAttempt('completed');
    const live = liveInstanceIds(attempt);
    if (live.length) draft.effects.push(terminateEffect(attempt, live, 'training completed', false));
  }
  return draft.decision();
}

/**
 * While Downloading, the Downloading transition's StatusMessage says how much input data is
 * left, as SageMaker updates a status's message without a transition. Progress only grows within
 * an attempt, so a report that says less than the recorded one is older and changes nothing.
 */
export function onDownloadProgress(job: JobRecord, event: Extract<JobEvent, { type: 'downloadProgress' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  if (event.attempt !== job.CurrentAttempt) return ignore('stale', `progress of attempt ${event.attempt}; current is ${job.CurrentAttempt}`);
  if (job.SecondaryStatus !== 'Downloading') return ignore('not-applicable', `download progress while ${job.SecondaryStatus}`);
  const known = currentAttempt(job).InputDownload;
  const progress = event.progress;
  if (known && progress.Bytes <= known.Bytes && progress.Files <= known.Files) {
    const same = progress.Bytes === known.Bytes && progress.Files === known.Files;
    return ignore(same ? 'duplicate' : 'stale', `${progress.Bytes} bytes, ${progress.Files} files is not more than the ${known.Bytes} bytes, ${known.Files} files recorded`);
  }
  const draft = new Draft(job, at);
  draft.attempt.InputDownload = { ...progress };
  draft.say(MESSAGES.downloadingInput(progress));
  return draft.decision();
}

/** Why a manifest is not one of the job's checkpoints, if it is not: it must be `<home><checkpoint-id>/manifest.json`. */
export function notInCheckpointFolder(job: JobRecord, manifestUri: string): string | undefined {
  const home = checkpointHome(job);
  const rest = home && manifestUri.startsWith(home) ? manifestUri.slice(home.length) : undefined;
  if (rest === undefined || rest.split('/').length !== 2) return `${manifestUri} is not in the job's checkpoint folder ${home ?? '(none)'}`;
  return undefined;
}

export function onCheckpoint(job: JobRecord, event: Extract<JobEvent, { type: 'checkpoint' }>, at: EpochMillis): Decision {
  if (isTerminal(job.SecondaryStatus)) return ignore('terminal', `job is ${job.SecondaryStatus}`);
  const outside = notInCheckpointFolder(job, event.checkpoint.ManifestUri);
  if (outside) return ignore('not-applicable', outside);
  const latest = job.LatestCheckpoint;
  if (latest && event.checkpoint.Sequence <= latest.Sequence) {
    const reason = event.checkpoint.Sequence === latest.Sequence ? 'duplicate' : 'stale';
    return ignore(reason, `checkpoint ${event.checkpoint.Id} is not newer than ${latest.Id}`);
  }
  const draft = new Draft(job, at);
  draft.job.LatestCheckpoint = { ...event.checkpoint, Time: at };
  return draft.decision();
}
