import { el, isoTime } from './format.js';

// Metrics: the job's MetricDefinitions applied to its training log as SageMaker applies them
// (each Regex's first group is the value), plotted over the log's lines, and the
// FinalMetricDataList the API reports when the job has one.

const NS = 'http://www.w3.org/2000/svg';

export function metricSeries(job, lines) {
  const definitions = job.AlgorithmSpecification?.MetricDefinitions ?? [];
  return definitions.map((d) => {
    let regex;
    try {
      regex = new RegExp(d.Regex);
    } catch (error) {
      return { name: d.Name, problem: `Regex ${d.Regex} is not one JavaScript reads: ${error.message}`, points: [] };
    }
    const points = [];
    lines.forEach((line, i) => {
      const m = regex.exec(line);
      const value = m ? Number(m[1]) : NaN;
      if (Number.isFinite(value)) points.push({ i, value });
    });
    return { name: d.Name, points };
  });
}

function plot(series) {
  const W = 420;
  const H = 120;
  const pad = 28;
  const values = series.points.map((p) => p.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const n = series.points.length;
  const x = (k) => pad + (n > 1 ? (k / (n - 1)) * (W - 2 * pad) : (W - 2 * pad) / 2);
  const y = (v) => H - pad / 2 - ((v - min) / span) * (H - pad);
  const chart = document.createElementNS(NS, 'svg');
  chart.setAttribute('viewBox', `0 0 ${W} ${H}`);
  chart.setAttribute('class', 'metric-plot');
  chart.setAttribute('role', 'img');
  chart.setAttribute('aria-label', `${series.name}: ${n} values from ${values[0]} to ${values[n - 1]} (min ${min}, max ${max})`);
  chart.setAttribute('data-metric', series.name);
  const path = document.createElementNS(NS, 'polyline');
  path.setAttribute('points', series.points.map((p, k) => `${x(k).toFixed(1)},${y(p.value).toFixed(1)}`).join(' '));
  path.setAttribute('class', 'metric-line');
  const label = (text, lx, ly, anchor = 'start') => {
    const t = document.createElementNS(NS, 'text');
    t.setAttribute('x', lx);
    t.setAttribute('y', ly);
    t.setAttribute('class', 'axis-label');
    t.setAttribute('text-anchor', anchor);
    t.textContent = text;
    return t;
  };
  chart.append(path, label(String(max), 2, 12), label(String(min), 2, H - 4), label(`${n} values, latest ${values[n - 1]}`, W - 2, 12, 'end'));
  return chart;
}

export function metricsSection(job, series) {
  const final = job.FinalMetricDataList ?? [];
  const parts = [];
  if (final.length) {
    parts.push(
      el(
        'table',
        { class: 'final-metrics' },
        el('caption', {}, 'FinalMetricDataList'),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Metric'), el('th', { scope: 'col' }, 'Value'), el('th', { scope: 'col' }, 'Time (UTC)'))),
        el('tbody', {}, final.map((m) => el('tr', {}, el('td', {}, m.MetricName), el('td', { class: 'num' }, m.Value), el('td', {}, isoTime(m.Timestamp))))),
      ),
    );
  }
  for (const s of series) {
    parts.push(el('figure', { class: 'metric' }, el('figcaption', {}, s.name), s.problem ? el('p', {}, s.problem) : s.points.length ? plot(s) : el('p', {}, 'No value in the training log yet.')));
  }
  if (!parts.length) parts.push(el('p', {}, 'This job has no MetricDefinitions and no FinalMetricDataList.'));
  return el('div', { class: 'metrics' }, ...parts);
}
