import { duration, isoTime, table, usd } from './format.js';
import { elapsedSeconds, isFinished, type JobView } from './job.js';

/**
 * `spotctl report`: a job's SecondaryStatusTransitions and attempts as a timeline, with
 * training vs billable seconds, dollars and savings — as text, JSON, or a self-contained HTML
 * page with an inline SVG chart of attempts, interruptions and checkpoints.
 */
export interface CheckpointSeen {
  CheckpointId: string;
  /** Epoch seconds the manifest was written. */
  Time: number;
}

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t * 1000).toISOString());
const round1 = (n: number) => Math.round(n * 10) / 10;

export function buildReport(job: JobView, checkpoints: CheckpointSeen[], nowSeconds: number) {
  const start = job.CreationTime;
  const end = isFinished(job) ? (job.TrainingEndTime ?? job.LastModifiedTime ?? nowSeconds) : nowSeconds;
  const savings = job.Savings ?? { SavingsPercent: 0, SpotCostUsd: 0, OnDemandCostUsd: 0 };
  const latest = job.LatestCheckpoint;
  const seen = [...checkpoints];
  if (latest && !seen.some((c) => c.CheckpointId === latest.CheckpointId) && latest.Time !== undefined) seen.push({ CheckpointId: latest.CheckpointId, Time: latest.Time });
  seen.sort((a, b) => a.Time - b.Time);
  return {
    TrainingJobName: job.TrainingJobName,
    TrainingJobStatus: job.TrainingJobStatus,
    SecondaryStatus: job.SecondaryStatus,
    ...(job.FailureReason ? { FailureReason: job.FailureReason } : {}),
    InstanceType: job.ResourceConfig?.InstanceType,
    InstanceCount: job.ResourceConfig?.InstanceCount ?? 1,
    EnableManagedSpotTraining: job.EnableManagedSpotTraining ?? false,
    StoppingCondition: job.StoppingCondition,
    CreationTime: iso(start),
    TrainingStartTime: iso(job.TrainingStartTime),
    TrainingEndTime: iso(job.TrainingEndTime),
    ElapsedSeconds: round1(end - start),
    Timeline: job.SecondaryStatusTransitions.map((t) => {
      const tEnd = t.EndTime ?? (isFinished(job) ? t.StartTime : nowSeconds);
      return {
        Status: t.Status,
        StartTime: iso(t.StartTime),
        EndTime: iso(t.EndTime),
        OffsetSeconds: round1(t.StartTime - start),
        DurationSeconds: round1(tEnd - t.StartTime),
        StatusMessage: t.StatusMessage ?? '',
      };
    }),
    Attempts: (job.Attempts ?? []).map((a) => ({
      AttemptNumber: a.AttemptNumber,
      InstanceType: a.InstanceType,
      Market: a.Market,
      InstanceIds: a.InstanceIds,
      ...(a.ResumedFromAttempt !== undefined ? { ResumedFromAttempt: a.ResumedFromAttempt } : {}),
      RequestedTime: iso(a.RequestedTime),
      RunningTime: iso(a.RunningTime),
      EndTime: iso(a.EndTime),
      WaitForCapacitySeconds: a.RequestedTime !== undefined ? round1((a.RunningTime ?? a.EndTime ?? end) - a.RequestedTime) : undefined,
      TrainingTimeInSeconds: a.TrainingTimeInSeconds ?? 0,
      EndReason: a.EndReason ?? (isFinished(job) ? undefined : 'running'),
      ...(a.InstanceAction ? { InstanceAction: a.InstanceAction } : {}),
      ...(a.ExitCode !== undefined ? { ExitCode: a.ExitCode } : {}),
      ...(a.LastLaunchError ? { LastLaunchError: a.LastLaunchError } : {}),
      SpotPrice: a.SpotPrice,
      OnDemandPrice: a.OnDemandPrice,
    })),
    Interruptions: (job.Interruptions ?? []).map((i) => ({ Time: iso(i.Time), OffsetSeconds: round1(i.Time - start), InstanceId: i.InstanceId, InstanceAction: i.InstanceAction, AttemptNumber: i.AttemptNumber })),
    RebalanceRecommendations: (job.RebalanceRecommendations ?? []).map((r) => ({ Time: iso(r.Time), OffsetSeconds: round1(r.Time - start), InstanceId: r.InstanceId, AttemptNumber: r.AttemptNumber })),
    Checkpoints: seen.map((c) => ({ CheckpointId: c.CheckpointId, Time: iso(c.Time), OffsetSeconds: round1(c.Time - start) })),
    LatestCheckpoint: latest ? { CheckpointId: latest.CheckpointId, ...(latest.Time !== undefined ? { Time: iso(latest.Time) } : {}) } : undefined,
    FinalMetricDataList: (job.FinalMetricDataList ?? []).map((m) => ({ MetricName: m.MetricName, Value: m.Value, Timestamp: iso(m.Timestamp), OffsetSeconds: round1(m.Timestamp - start) })),
    TrainingTimeInSeconds: job.TrainingTimeInSeconds ?? 0,
    BillableTimeInSeconds: job.BillableTimeInSeconds ?? 0,
    SavingsPercent: savings.SavingsPercent,
    SpotCostUsd: savings.SpotCostUsd,
    OnDemandCostUsd: savings.OnDemandCostUsd,
    SavedUsd: Math.round((savings.OnDemandCostUsd - savings.SpotCostUsd) * 1e6) / 1e6,
  };
}

export type Report = ReturnType<typeof buildReport>;

/** The timeline's and the attempts' table cells, the same in the text report and the HTML page. */
const TIMELINE_HEADERS = ['At', 'Status', 'For', 'Message'];
const timelineCells = (report: Report) => report.Timeline.map((t) => [`+${duration(t.OffsetSeconds)}`, t.Status, duration(t.DurationSeconds), t.StatusMessage]);

const METRIC_HEADERS = ['Metric', 'Value', 'At', 'Time (UTC)'];
const metricCells = (report: Report) => report.FinalMetricDataList.map((m) => [m.MetricName, String(m.Value), `+${duration(m.OffsetSeconds)}`, (m.Timestamp ?? '').replace('T', ' ').replace(/\.\d{3}Z$/, '')]);

const ATTEMPT_HEADERS = ['#', 'Type', 'Market', 'Instances', 'Waited', 'Ran', 'Ended', 'Price spot / on-demand'];
const attemptCells = (report: Report) =>
  report.Attempts.map((a) => [
    String(a.AttemptNumber),
    a.InstanceType ?? '-',
    a.Market ?? '-',
    a.InstanceIds.join(',') || '-',
    a.WaitForCapacitySeconds === undefined ? '-' : duration(a.WaitForCapacitySeconds),
    duration(a.TrainingTimeInSeconds),
    [a.EndReason ?? '-', a.InstanceAction ? `(${a.InstanceAction})` : '', a.ExitCode !== undefined ? `exit ${a.ExitCode}` : ''].filter(Boolean).join(' '),
    a.SpotPrice === undefined ? '-' : `${usd(a.SpotPrice)}/h / ${usd(a.OnDemandPrice ?? 0)}/h`,
  ]);

export function reportText(job: JobView, report: Report): string {
  const out: string[] = [];
  const status = report.SecondaryStatus === report.TrainingJobStatus ? report.TrainingJobStatus : `${report.TrainingJobStatus} (${report.SecondaryStatus})`;
  out.push(`Training job ${report.TrainingJobName}: ${status}`);
  if (report.FailureReason) out.push(`  FailureReason: ${report.FailureReason}`);
  out.push(
    `  ${report.InstanceType ?? '?'} × ${report.InstanceCount}, ${report.EnableManagedSpotTraining ? 'managed spot' : 'on-demand'}; created ${isoTime(job.CreationTime)} UTC; ${isFinished(job) ? 'took' : 'running for'} ${duration(report.ElapsedSeconds)}`,
  );
  out.push('', 'Timeline (SecondaryStatusTransitions)');
  out.push(indent(table(TIMELINE_HEADERS.map((h) => h.toUpperCase()), timelineCells(report))));
  out.push('', 'Attempts');
  out.push(indent(table(ATTEMPT_HEADERS.map((h) => h.toUpperCase()), attemptCells(report))));
  if (report.Interruptions.length) {
    out.push('', 'Interruptions');
    out.push(indent(table(['AT', 'INSTANCE', 'ACTION', 'ATTEMPT'], report.Interruptions.map((i) => [`+${duration(i.OffsetSeconds)}`, i.InstanceId, i.InstanceAction, String(i.AttemptNumber)]))));
  }
  if (report.RebalanceRecommendations.length) {
    out.push('', 'Rebalance recommendations');
    out.push(indent(table(['AT', 'INSTANCE', 'ATTEMPT'], report.RebalanceRecommendations.map((r) => [`+${duration(r.OffsetSeconds)}`, r.InstanceId, String(r.AttemptNumber)]))));
  }
  if (report.FinalMetricDataList.length) {
    out.push('', 'Final metrics (FinalMetricDataList)');
    out.push(indent(table(METRIC_HEADERS.map((h) => h.toUpperCase()), metricCells(report))));
  }
  out.push('', `Checkpoints: ${report.Checkpoints.length}${report.LatestCheckpoint ? `, latest ${report.LatestCheckpoint.CheckpointId}` : ', none'}`);
  out.push('', 'Time and money');
  out.push(`  TrainingTimeInSeconds   ${report.TrainingTimeInSeconds}`);
  out.push(`  BillableTimeInSeconds   ${report.BillableTimeInSeconds}`);
  out.push(`  Savings                 ${report.SavingsPercent}%  (${usd(report.SpotCostUsd)} on spot instead of ${usd(report.OnDemandCostUsd)} on demand: ${usd(report.SavedUsd)} saved)`);
  return out.join('\n');
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const STATUS_COLORS: Record<string, string> = {
  Starting: '#94a3b8',
  Downloading: '#38bdf8',
  Training: '#22c55e',
  Uploading: '#a78bfa',
  Interrupted: '#ef4444',
  Restarting: '#f97316',
  Stopping: '#f59e0b',
  Stopped: '#78716c',
  MaxRuntimeExceeded: '#b45309',
  MaxWaitTimeExceeded: '#b45309',
  Completed: '#15803d',
  Failed: '#b91c1c',
};

function tickStep(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400];
  return steps.find((s) => span / s <= 10) ?? 86400 * Math.ceil(span / 86400 / 10);
}

/** The SVG timeline: a status lane, a lane per attempt, checkpoints, interruption and rebalance markers. */
export function timelineSvg(job: JobView, report: Report, nowSeconds: number): string {
  const t0 = job.CreationTime;
  const span = Math.max(1, report.ElapsedSeconds);
  const attempts = job.Attempts ?? [];
  const left = 130;
  const width = 1000;
  const plot = width - left - 20;
  const laneH = 34;
  const lanes = 2 + attempts.length; // status, attempts…, checkpoints
  const top = 24;
  const height = top + lanes * laneH + 40;
  const x = (t: number) => left + (Math.min(Math.max(t - t0, 0), span) / span) * plot;
  const parts: string[] = [];
  const label = (row: number, text: string) =>
    parts.push(`<text class="lane-label" x="${left - 10}" y="${top + row * laneH + laneH / 2 + 4}" text-anchor="end">${escapeHtml(text)}</text>`);

  // Grid and axis.
  const step = tickStep(span);
  for (let s = 0; s <= span + 1e-9; s += step) {
    const px = x(t0 + s).toFixed(1);
    parts.push(`<line class="grid" x1="${px}" x2="${px}" y1="${top - 4}" y2="${top + lanes * laneH}"/>`);
    parts.push(`<text class="tick" x="${px}" y="${top + lanes * laneH + 16}" text-anchor="middle">${escapeHtml(duration(s))}</text>`);
  }

  // Status lane.
  label(0, 'Status');
  job.SecondaryStatusTransitions.forEach((t, i) => {
    const end = t.EndTime ?? (isFinished(job) ? t.StartTime : nowSeconds);
    const x1 = x(t.StartTime);
    const w = Math.max(isFinished(job) && i === job.SecondaryStatusTransitions.length - 1 ? 3 : 1.5, x(end) - x1);
    const color = STATUS_COLORS[t.Status] ?? '#64748b';
    parts.push(
      `<g class="status" data-status="${escapeHtml(t.Status)}"><rect x="${x1.toFixed(1)}" y="${top + 4}" width="${w.toFixed(1)}" height="${laneH - 8}" rx="3" fill="${color}"><title>${escapeHtml(
        `${t.Status} at +${duration(t.StartTime - t0)} for ${duration(end - t.StartTime)}: ${t.StatusMessage ?? ''}`,
      )}</title></rect>${w > t.Status.length * 6.5 + 6 ? `<text class="in-bar" x="${(x1 + 4).toFixed(1)}" y="${top + laneH / 2 + 4}">${escapeHtml(t.Status)}</text>` : ''}</g>`,
    );
  });

  // A lane per attempt: waiting for capacity (light), running (solid).
  attempts.forEach((a, i) => {
    const row = 1 + i;
    label(row, `Attempt ${a.AttemptNumber}`);
    const y = top + row * laneH + 6;
    const h = laneH - 12;
    const attemptEnd = a.EndTime ?? (isFinished(job) ? (job.TrainingEndTime ?? nowSeconds) : nowSeconds);
    if (a.RequestedTime !== undefined) {
      const waitEnd = a.RunningTime ?? attemptEnd;
      parts.push(
        `<rect class="waiting" x="${x(a.RequestedTime).toFixed(1)}" y="${y}" width="${Math.max(1, x(waitEnd) - x(a.RequestedTime)).toFixed(1)}" height="${h}" rx="3"><title>${escapeHtml(
          `attempt ${a.AttemptNumber}: waiting for ${a.Market ?? ''} capacity for ${duration(waitEnd - a.RequestedTime)}`,
        )}</title></rect>`,
      );
    }
    if (a.RunningTime !== undefined) {
      const color = a.EndReason === 'interrupted' ? '#f87171' : a.EndReason === 'completed' ? '#22c55e' : a.EndReason ? '#f59e0b' : '#4ade80';
      const x1 = x(a.RunningTime);
      const w = Math.max(1.5, x(attemptEnd) - x1);
      const text = `${a.InstanceIds.join(', ')} · ${a.EndReason ?? 'running'}`;
      // Bold 11px text is about 7px a character.
      const fits = (t: string) => w > t.length * 7 + 8;
      parts.push(
        `<g class="attempt" data-attempt="${a.AttemptNumber}"><rect x="${x1.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${h}" rx="3" fill="${color}"><title>${escapeHtml(
          `attempt ${a.AttemptNumber} on ${a.InstanceType ?? ''} ${a.Market ?? ''} ${a.InstanceIds.join(', ')}: ran ${duration(a.TrainingTimeInSeconds ?? 0)}, ${a.EndReason ?? 'running'}`,
        )}</title></rect><text class="in-bar" x="${(x1 + 4).toFixed(1)}" y="${y + h / 2 + 4}">${escapeHtml(fits(text) ? text : fits(a.InstanceIds.join(', ')) ? a.InstanceIds.join(', ') : fits(`#${a.AttemptNumber}`) ? `#${a.AttemptNumber}` : '')}</text></g>`,
      );
    }
  });

  // Checkpoints lane.
  const cpRow = 1 + attempts.length;
  label(cpRow, 'Checkpoints');
  const cy = top + cpRow * laneH + laneH / 2;
  parts.push(`<line class="cp-axis" x1="${left}" x2="${left + plot}" y1="${cy}" y2="${cy}"/>`);
  for (const c of report.Checkpoints) {
    const cx = x(t0 + c.OffsetSeconds);
    const latest = c.CheckpointId === report.LatestCheckpoint?.CheckpointId;
    parts.push(
      `<path class="checkpoint${latest ? ' latest' : ''}" data-checkpoint="${escapeHtml(c.CheckpointId)}" d="M${cx.toFixed(1)} ${cy - 7} l7 7 l-7 7 l-7 -7 z"><title>${escapeHtml(
        `checkpoint ${c.CheckpointId} at +${duration(c.OffsetSeconds)}${latest ? ' (latest)' : ''}`,
      )}</title></path>`,
    );
  }

  // Interruptions and rebalance recommendations across every lane.
  for (const r of report.RebalanceRecommendations) {
    const px = x(t0 + r.OffsetSeconds).toFixed(1);
    parts.push(
      `<g class="rebalance"><line x1="${px}" x2="${px}" y1="${top - 6}" y2="${top + lanes * laneH}"/><title>${escapeHtml(`rebalance recommendation for ${r.InstanceId} at +${duration(r.OffsetSeconds)}`)}</title></g>`,
    );
  }
  for (const i of report.Interruptions) {
    const px = x(t0 + i.OffsetSeconds);
    parts.push(
      `<g class="interruption" data-instance="${escapeHtml(i.InstanceId)}"><line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${top - 6}" y2="${top + lanes * laneH}"/><path d="M${(px - 6).toFixed(1)} ${top - 16} h12 l-6 10 z"/><text x="${(px + 8).toFixed(1)}" y="${top - 8}">interruption (${escapeHtml(i.InstanceAction)})</text><title>${escapeHtml(
        `spot interruption warning for ${i.InstanceId} (${i.InstanceAction}) at +${duration(i.OffsetSeconds)}, attempt ${i.AttemptNumber}`,
      )}</title></g>`,
    );
  }

  return `<svg id="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 -12 ${width} ${height + 12}" width="100%" role="img" aria-label="Timeline of training job ${escapeHtml(
    job.TrainingJobName,
  )}">${parts.join('')}</svg>`;
}

/** A self-contained page: no scripts, fonts or images from anywhere else. */
export function reportHtml(job: JobView, report: Report, nowSeconds: number): string {
  const e = escapeHtml;
  const statusClass = report.TrainingJobStatus === 'Completed' ? 'ok' : report.TrainingJobStatus === 'InProgress' ? 'running' : 'bad';
  const card = (title: string, value: string, note = '') => `<div class="card"><div class="card-title">${e(title)}</div><div class="card-value">${e(value)}</div><div class="card-note">${e(note)}</div></div>`;
  const head = (titles: string[]) => `<thead><tr>${titles.map((t) => `<th>${e(t)}</th>`).join('')}</tr></thead>`;
  const rows = (cells: string[][]) => cells.map((r) => `<tr>${r.map((c) => `<td>${e(c)}</td>`).join('')}</tr>`).join('');
  const legend = Object.entries(STATUS_COLORS)
    .filter(([s]) => job.SecondaryStatusTransitions.some((t) => t.Status === s))
    .map(([s, c]) => `<span class="key"><i style="background:${c}"></i>${e(s)}</span>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(report.TrainingJobName)} — spot training report</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #0f172a; background: #f8fafc; }
  main { max-width: 1080px; margin: 0 auto; padding: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
  .sub { color: #475569; }
  .badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 13px; font-weight: 600; vertical-align: middle; margin-left: 8px; }
  .badge.ok { background: #dcfce7; color: #166534; } .badge.bad { background: #fee2e2; color: #991b1b; } .badge.running { background: #e0f2fe; color: #075985; }
  .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 18px; }
  .card { background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; padding: 12px 14px; }
  .card-title { color: #64748b; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .card-value { font-size: 24px; font-weight: 700; margin-top: 2px; } .card-note { color: #64748b; font-size: 12px; }
  .panel { background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; padding: 12px; }
  table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; overflow: hidden; }
  th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #f1f5f9; font-size: 13px; vertical-align: top; }
  th { background: #f1f5f9; font-weight: 600; color: #334155; }
  .legend { margin-top: 8px; color: #475569; font-size: 12px; } .key { margin-right: 14px; white-space: nowrap; }
  .key i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
  svg text { font: 11px system-ui, sans-serif; fill: #334155; }
  svg .lane-label { font-weight: 600; } svg .tick { fill: #64748b; }
  svg .grid { stroke: #e2e8f0; } svg .cp-axis { stroke: #cbd5e1; stroke-dasharray: 2 3; }
  svg .in-bar { fill: #fff; font-weight: 600; pointer-events: none; }
  svg .waiting { fill: #e2e8f0; stroke: #94a3b8; stroke-dasharray: 3 2; }
  svg .checkpoint { fill: #0ea5e9; stroke: #fff; } svg .checkpoint.latest { fill: #0369a1; }
  svg .interruption line { stroke: #dc2626; stroke-width: 2; stroke-dasharray: 5 3; } svg .interruption path { fill: #dc2626; }
  svg .interruption text { fill: #b91c1c; font-weight: 600; }
  svg .rebalance line { stroke: #f59e0b; stroke-width: 2; stroke-dasharray: 2 2; }
  footer { color: #94a3b8; font-size: 12px; margin-top: 28px; }
</style></head>
<body><main>
<h1>${e(report.TrainingJobName)}<span class="badge ${statusClass}" id="status">${e(report.TrainingJobStatus)}${report.SecondaryStatus !== report.TrainingJobStatus ? ` · ${e(report.SecondaryStatus)}` : ''}</span></h1>
<div class="sub">${e(`${report.InstanceType ?? '?'} × ${report.InstanceCount} · ${report.EnableManagedSpotTraining ? 'managed spot' : 'on-demand'} · created ${isoTime(job.CreationTime)} UTC · ${isFinished(job) ? 'took' : 'running for'} ${duration(report.ElapsedSeconds)}`)}</div>
${report.FailureReason ? `<p class="sub"><strong>FailureReason:</strong> ${e(report.FailureReason)}</p>` : ''}
<div class="cards">
${card('Savings', `${report.SavingsPercent}%`, `${usd(report.SavedUsd)} saved`)}
${card('Training time', `${report.TrainingTimeInSeconds} s`, 'TrainingTimeInSeconds')}
${card('Billable time', `${report.BillableTimeInSeconds} s`, 'BillableTimeInSeconds')}
${card('Cost', usd(report.SpotCostUsd), `instead of ${usd(report.OnDemandCostUsd)} on demand`)}
</div>
<h2>Timeline</h2>
<div class="panel">${timelineSvg(job, report, nowSeconds)}
<div class="legend">${legend}<span class="key"><i style="background:#e2e8f0;border:1px dashed #94a3b8"></i>waiting for capacity</span><span class="key"><i style="background:#0ea5e9"></i>checkpoint</span><span class="key"><i style="background:#dc2626"></i>interruption</span></div></div>
<h2>Attempts (${report.Attempts.length}) · interruptions (${report.Interruptions.length}) · checkpoints (${report.Checkpoints.length})</h2>
<table id="attempts">${head(ATTEMPT_HEADERS)}<tbody>
${rows(attemptCells(report))}
</tbody></table>
${report.FinalMetricDataList.length ? `<h2>Final metrics</h2>
<table id="final-metrics">${head(METRIC_HEADERS)}<tbody>
${rows(metricCells(report))}
</tbody></table>` : ''}
<h2>SecondaryStatusTransitions</h2>
<table id="transitions">${head(TIMELINE_HEADERS)}<tbody>
${rows(timelineCells(report))}
</tbody></table>
<footer>spotctl report · ${e(new Date(nowSeconds * 1000).toISOString())}</footer>
</main></body></html>
`;
}
