import { type EpochMillis, type JobRecord, type MetricDatum } from './job.js';
import { Draft, ignore } from './draft.js';
import { type Decision, type JobEvent } from './vocabulary.js';

/**
 * FinalMetricDataList: the last value of each of the job's MetricDefinitions, over all its
 * attempts. Agents report the final values of their attempt (with their phase reports, and in a
 * report of their own when a stop or an interruption ends the attempt); each value replaces the
 * recorded one of its metric when it was printed no earlier. Only the job's own definitions are
 * kept, in their order, so the list holds at most as many entries as the job defines (40).
 *
 * Metric values describe output printed before the job ended, so they are recorded on a job
 * that has ended too (a report can arrive after the last transition); no status ever changes.
 */

/** The merged list, or undefined when the reported values change nothing. */
export function mergeFinalMetrics(job: JobRecord, reported: readonly MetricDatum[], at: EpochMillis): MetricDatum[] | undefined {
  const names = (job.Spec.AlgorithmSpecification.MetricDefinitions ?? []).map((d) => d.Name);
  if (!names.length || !reported.length) return undefined;
  const merged = new Map((job.FinalMetricDataList ?? []).map((m) => [m.MetricName, m]));
  let changed = false;
  for (const r of reported) {
    if (!names.includes(r.MetricName)) continue;
    // No value is from the future: a clock that runs ahead must not win over every later attempt.
    const datum = { MetricName: r.MetricName, Value: r.Value, Timestamp: Math.min(r.Timestamp, at) };
    const current = merged.get(datum.MetricName);
    if (current && (datum.Timestamp < current.Timestamp || (datum.Timestamp === current.Timestamp && datum.Value === current.Value))) continue;
    merged.set(datum.MetricName, datum);
    changed = true;
  }
  if (!changed) return undefined;
  return names.flatMap((name) => {
    const datum = merged.get(name);
    return datum ? [datum] : [];
  });
}

const hasAttempt = (job: JobRecord, attempt: number) => job.Attempts.some((a) => a.Number === attempt);

export function onMetricsReported(job: JobRecord, event: Extract<JobEvent, { type: 'metricsReported' }>, at: EpochMillis): Decision {
  if (!hasAttempt(job, event.attempt)) return ignore('not-applicable', `the job has no attempt ${event.attempt}`);
  const merged = mergeFinalMetrics(job, event.metrics, at);
  if (!merged) return ignore('duplicate', 'the reported metric values are already recorded (or the job defines none of them)');
  const draft = new Draft(job, at);
  draft.job.FinalMetricDataList = merged;
  return draft.decision();
}

/**
 * The decision on a report, with the metric values it carries recorded: on the decided record
 * when the report changes the job, on a record of their own when the report changes nothing
 * else (a duplicate, a report of an earlier attempt, one that arrives after the end).
 */
export function withReportedMetrics(job: JobRecord, decision: Decision, attempt: number, metrics: readonly MetricDatum[] | undefined, at: EpochMillis): Decision {
  if (!metrics?.length || !hasAttempt(job, attempt)) return decision;
  if (decision.kind === 'apply') {
    const merged = mergeFinalMetrics(decision.job, metrics, at);
    if (merged) decision.job.FinalMetricDataList = merged;
    return decision;
  }
  const merged = mergeFinalMetrics(job, metrics, at);
  if (!merged) return decision;
  const draft = new Draft(job, at);
  draft.job.FinalMetricDataList = merged;
  draft.effects.push(...decision.effects);
  return draft.decision();
}
