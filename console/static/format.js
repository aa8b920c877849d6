// Small text helpers, as spotctl's cli/format.ts writes them.

/** 45s, 2m 05s, 1h 02m 03s; fractions only under ten seconds. */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m ${String(r).padStart(2, '0')}s`;
  if (m) return `${m}m ${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

export function usd(amount) {
  if (!Number.isFinite(amount)) return '–';
  return amount !== 0 && Math.abs(amount) < 0.01 ? `$${amount.toFixed(4)}` : `$${amount.toFixed(2)}`;
}

export function bytes(n) {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/** Epoch seconds as `YYYY-MM-DD HH:MM:SS` UTC. */
export function isoTime(t) {
  if (t === undefined || t === null) return '–';
  return new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

export const FINISHED = ['Completed', 'Failed', 'Stopped'];
export const isFinished = (job) => FINISHED.includes(job.TrainingJobStatus);

/** A symbol for each status, so that it reads without colour. */
const SYMBOLS = { InProgress: '▶', Completed: '✓', Failed: '✗', Stopping: '◼', Stopped: '◼' };

/** Builds an element: el('td', { class: 'x' }, 'text', child, …). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null && child !== false) node.append(child instanceof Node ? child : String(child));
  return node;
}

export function statusBadge(status, secondary) {
  const kind = { Completed: 'ok', Failed: 'bad', Stopped: 'stopped', Stopping: 'stopped', InProgress: 'running' }[status] ?? 'running';
  return el('span', { class: `badge ${kind}`, 'data-status': status }, el('span', { 'aria-hidden': 'true' }, `${SYMBOLS[status] ?? '•'} `), status, secondary ? el('span', { class: 'secondary' }, ` · ${secondary}`) : null);
}
