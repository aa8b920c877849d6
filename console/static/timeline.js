import { bytes, duration, isFinished, isoTime } from './format.js';

// The job's timeline as an inline SVG: SecondaryStatusTransitions, one lane per attempt (waiting
// for capacity hatched, running solid), interruptions with their instance-action and rebalance
// recommendations as marks, checkpoints as ticks with their sizes, and the deadlines
// MaxWaitTimeInSeconds (wall clock from creation) and MaxRuntimeInSeconds (instance time, so
// projected from the training time so far) as lines. Every mark has a text label or a <title>:
// nothing is told by colour alone.

const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 960;
const LEFT = 112;
const RIGHT = 16;
const LANE = 30;
const TOP = 8;

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const child of children) if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
const title = (text) => svg('title', {}, text);

function tickStep(span) {
  for (const step of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400]) if (span / step <= 8) return step;
  return 86400 * Math.ceil(span / 86400 / 8);
}

/** The time at which MaxRuntimeInSeconds would run out if the current attempt keeps running. */
function runtimeDeadline(job, now) {
  const max = job.StoppingCondition?.MaxRuntimeInSeconds;
  if (!max || isFinished(job)) return undefined;
  const current = job.Attempts?.at(-1);
  const runningSince = current && current.EndTime === undefined ? current.RunningTime : undefined;
  if (runningSince === undefined) return undefined;
  const before = (job.Attempts ?? []).slice(0, -1).reduce((s, a) => s + (a.TrainingTimeInSeconds ?? 0), 0);
  return runningSince + (max - before);
}

export function timelineChart({ job, checkpoints }, now) {
  const attempts = job.Attempts ?? [];
  const start = job.CreationTime;
  const finishedAt = isFinished(job) ? (job.TrainingEndTime ?? job.LastModifiedTime ?? now) : now;
  const end = Math.max(finishedAt, ...job.SecondaryStatusTransitions.map((t) => t.EndTime ?? t.StartTime), start + 1);
  const maxWait = job.StoppingCondition?.MaxWaitTimeInSeconds !== undefined && job.EnableManagedSpotTraining ? start + job.StoppingCondition.MaxWaitTimeInSeconds : undefined;
  const maxRuntime = runtimeDeadline(job, now);
  // Deadlines in sight (within a third more than the span so far) widen the chart to show them.
  const inSight = (t) => t !== undefined && t <= end + (end - start) / 3;
  const last = Math.max(end, ...[maxWait, maxRuntime].filter(inSight));
  const span = last - start || 1;
  const x = (t) => LEFT + ((Math.min(Math.max(t, start), last) - start) / span) * (WIDTH - LEFT - RIGHT);

  const lanes = ['Status', ...attempts.map((a) => `Attempt ${a.AttemptNumber}`), 'Events', 'Checkpoints'];
  const height = TOP + lanes.length * LANE + 52;
  const laneY = (i) => TOP + i * LANE;
  const chart = svg('svg', { id: 'timeline', viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-labelledby': 'timeline-title', preserveAspectRatio: 'xMinYMin meet' });
  chart.append(
    svg('title', { id: 'timeline-title' }, `Timeline of ${job.TrainingJobName}: ${job.SecondaryStatusTransitions.map((t) => t.Status).join(', ')}; ${attempts.length} attempt(s), ${(job.Interruptions ?? []).length} interruption(s), ${checkpoints.length} checkpoint(s)`),
    svg(
      'defs',
      {},
      svg('pattern', { id: 'waiting', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, svg('rect', { width: 6, height: 6, class: 'wait-bg' }), svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'wait-line' })),
    ),
  );
  lanes.forEach((label, i) => {
    chart.append(svg('rect', { x: 0, y: laneY(i), width: WIDTH, height: LANE, class: i % 2 ? 'lane odd' : 'lane' }), svg('text', { x: 6, y: laneY(i) + LANE / 2 + 4, class: 'lane-label' }, label));
  });

  // The status lane: one bar per SecondaryStatusTransition, labelled where it fits.
  job.SecondaryStatusTransitions.forEach((t, i) => {
    const tEnd = t.EndTime ?? (isFinished(job) ? t.StartTime : now);
    const x0 = x(t.StartTime);
    const w = Math.max(2, x(tEnd) - x0);
    const g = svg('g', { class: 'status', 'data-status': t.Status, 'data-index': i });
    g.append(
      title(`${t.Status}: ${isoTime(t.StartTime)} – ${t.EndTime ? isoTime(t.EndTime) : isFinished(job) ? 'end' : 'now'} (${duration(tEnd - t.StartTime)})${t.StatusMessage ? `\n${t.StatusMessage}` : ''}`),
      svg('rect', { x: x0, y: laneY(0) + 5, width: w, height: LANE - 10, class: `bar s-${t.Status}` }),
    );
    if (w > t.Status.length * 7 + 6) g.append(svg('text', { x: x0 + 4, y: laneY(0) + LANE / 2 + 4, class: 'bar-label' }, t.Status));
    chart.append(g);
  });

  // One lane per attempt: waiting for capacity (hatched), then running (solid), and how it ended.
  attempts.forEach((a, i) => {
    const y = laneY(i + 1);
    const requested = a.RequestedTime ?? a.RunningTime ?? start;
    const attemptEnd = a.EndTime ?? (isFinished(job) ? finishedAt : now);
    const g = svg('g', { class: 'attempt', 'data-attempt': a.AttemptNumber });
    g.append(title(`Attempt ${a.AttemptNumber} on ${a.InstanceType ?? job.ResourceConfig?.InstanceType ?? '?'} (${a.Market ?? '?'}), ${a.InstanceIds.join(', ') || 'no instance yet'}${a.EndReason ? `, ended: ${a.EndReason}` : ''}`));
    const running = a.RunningTime ?? attemptEnd;
    if (running > requested) g.append(svg('rect', { x: x(requested), y: y + 8, width: Math.max(1, x(running) - x(requested)), height: LANE - 16, fill: 'url(#waiting)', class: 'waiting' }));
    if (a.RunningTime !== undefined) g.append(svg('rect', { x: x(a.RunningTime), y: y + 6, width: Math.max(2, x(attemptEnd) - x(a.RunningTime)), height: LANE - 12, class: `run m-${a.Market ?? 'spot'}` }));
    const label = `${a.Market ?? ''} ${a.InstanceType ?? ''}${a.EndReason ? ` · ${a.EndReason}` : a.EndTime === undefined && !isFinished(job) ? ' · running' : ''}`.trim();
    const labelX = Math.min(x(requested) + 4, WIDTH - RIGHT - label.length * 6.2);
    g.append(svg('text', { x: Math.max(LEFT + 2, labelX), y: y + LANE / 2 + 4, class: 'attempt-label' }, label));
    chart.append(g);
  });

  // Events: interruptions (▼ with the instance-action) and rebalance recommendations (◆).
  const eventsY = laneY(lanes.length - 2);
  for (const w of job.Interruptions ?? []) {
    const cx = x(w.Time);
    chart.append(
      svg(
        'g',
        { class: 'interruption', 'data-action': w.InstanceAction, 'data-instance': w.InstanceId },
        title(`Spot interruption warning (${w.InstanceAction}) for ${w.InstanceId}, attempt ${w.AttemptNumber}, at ${isoTime(w.Time)}`),
        svg('path', { d: `M${cx - 6},${eventsY + 6} L${cx + 6},${eventsY + 6} L${cx},${eventsY + 18} Z`, class: 'mark-interruption' }),
        svg('text', { x: cx + 8, y: eventsY + 17, class: 'mark-label' }, `interruption (${w.InstanceAction})`),
      ),
    );
  }
  for (const r of job.RebalanceRecommendations ?? []) {
    const cx = x(r.Time);
    chart.append(
      svg(
        'g',
        { class: 'rebalance', 'data-instance': r.InstanceId },
        title(`Rebalance recommendation for ${r.InstanceId}, attempt ${r.AttemptNumber}, at ${isoTime(r.Time)}`),
        svg('path', { d: `M${cx},${eventsY + 6} L${cx + 6},${eventsY + 15} L${cx},${eventsY + 24} L${cx - 6},${eventsY + 15} Z`, class: 'mark-rebalance' }),
        svg('text', { x: cx + 8, y: eventsY + 28, class: 'mark-label' }, 'rebalance'),
      ),
    );
  }

  // Checkpoints: a tick each, its size in the title; the latest labelled.
  const checkpointsY = laneY(lanes.length - 1);
  const latest = job.LatestCheckpoint?.CheckpointId;
  for (const c of checkpoints) {
    const cx = x(c.Time);
    const isLatest = c.CheckpointId === latest;
    const g = svg(
      'g',
      { class: isLatest ? 'checkpoint latest' : 'checkpoint', 'data-checkpoint': c.CheckpointId, 'data-size': c.SizeBytes },
      title(`Checkpoint ${c.CheckpointId}: ${bytes(c.SizeBytes)} in ${c.Files} file(s), complete at ${isoTime(c.Time)}${isLatest ? ' (latest)' : ''}`),
      svg('line', { x1: cx, x2: cx, y1: checkpointsY + 5, y2: checkpointsY + LANE - 5, class: 'tick' }),
    );
    if (isLatest) g.append(svg('text', { x: Math.min(cx + 4, WIDTH - RIGHT - 120), y: checkpointsY + LANE / 2 + 4, class: 'mark-label' }, `latest ${bytes(c.SizeBytes)}`));
    chart.append(g);
  }

  // Deadlines, as dashed lines across every lane, or a note at the right edge when far off.
  const bottom = laneY(lanes.length);
  const deadline = (name, t, note) => {
    if (t === undefined) return;
    if (!inSight(t)) {
      chart.append(svg('text', { x: WIDTH - RIGHT, y: bottom + (name === 'MaxWait' ? 32 : 46), class: 'deadline-far', 'text-anchor': 'end', 'data-deadline': name }, `${name} in ${duration(t - now)} →`));
      return;
    }
    chart.append(
      svg(
        'g',
        { class: 'deadline', 'data-deadline': name },
        title(`${name}${note}: ${isoTime(t)}`),
        svg('line', { x1: x(t), x2: x(t), y1: TOP, y2: bottom, class: `deadline-line d-${name}` }),
        svg('text', { x: x(t) - 4, y: bottom + (name === 'MaxWait' ? 32 : 46), class: 'deadline-label', 'text-anchor': 'end' }, name),
      ),
    );
  };
  deadline('MaxWait', maxWait, ' (MaxWaitTimeInSeconds from creation)');
  deadline('MaxRuntime', maxRuntime, ' (MaxRuntimeInSeconds, if this attempt keeps running)');

  // The time axis.
  const step = tickStep(span);
  for (let t = 0; t <= span; t += step) {
    chart.append(svg('line', { x1: x(start + t), x2: x(start + t), y1: bottom, y2: bottom + 4, class: 'axis' }), svg('text', { x: x(start + t), y: bottom + 16, class: 'axis-label', 'text-anchor': 'middle' }, `+${duration(t)}`));
  }
  if (!isFinished(job)) chart.append(svg('line', { x1: x(now), x2: x(now), y1: TOP, y2: bottom, class: 'now' }, title(`now, ${isoTime(now)}`)));
  return chart;
}
