import { api } from './api.js';
import { duration, el, statusBadge } from './format.js';

// The jobs list: ListTrainingJobs through the console server, one page at a time (NextToken),
// filtered by status and name and sorted as the API sorts. Refreshed every few seconds while
// the tab is visible; a page of unchanged jobs costs the server one ListTrainingJobs call.

const REFRESH_MS = 5000;
const STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'];
const SORTABLE = { TrainingJobName: 'Name', TrainingJobStatus: 'Status', CreationTime: 'CreationTime' };

const COLUMNS = [
  ['TrainingJobName', 'Name'],
  ['TrainingJobStatus', 'Status'],
  ['InstanceType', 'Instance'],
  ['Market', 'Market'],
  ['Elapsed', 'Elapsed'],
  ['Attempts', 'Attempts'],
  ['Interruptions', 'Interruptions'],
  ['SavingsPercent', 'Savings'],
  ['CreationTime', 'Created'],
];

export function renderList(main, query) {
  const state = {
    status: query.get('status') ?? '',
    name: query.get('name') ?? '',
    sort: query.get('sort') ?? 'CreationTime',
    order: query.get('order') ?? 'Descending',
    // Tokens of the pages before this one, to go back.
    tokens: [],
    token: undefined,
  };
  let timer;
  let alive = true;

  const statusSelect = el('select', { id: 'filter-status', name: 'status' }, el('option', { value: '' }, 'any'), STATUSES.map((s) => el('option', { value: s, selected: s === state.status }, s)));
  const nameInput = el('input', { id: 'filter-name', name: 'name', type: 'search', value: state.name, placeholder: 'part of a name', pattern: '[a-zA-Z0-9\\-]*', maxlength: 63, autocomplete: 'off' });
  const form = el(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter jobs' },
    el('label', { for: 'filter-status' }, 'Status '),
    statusSelect,
    el('label', { for: 'filter-name' }, 'Name contains '),
    nameInput,
    el('button', { type: 'submit' }, 'Filter'),
  );
  const message = el('p', { class: 'message', role: 'status', 'aria-live': 'polite' });
  const table = el('table', { class: 'jobs' });
  const previous = el('button', { type: 'button', disabled: true }, '← Previous page');
  const next = el('button', { type: 'button', disabled: true }, 'Next page →');
  const pageLabel = el('span', { class: 'page' });
  main.append(el('h1', {}, 'Training jobs'), form, message, el('div', { class: 'scroll' }, table), el('nav', { class: 'pager', 'aria-label': 'Pages' }, previous, pageLabel, next));

  const applyHash = () => {
    const q = new URLSearchParams();
    for (const k of ['status', 'name', 'sort', 'order']) if (state[k]) q.set(k, state[k]);
    history.replaceState(null, '', `#/?${q}`);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    state.status = statusSelect.value;
    state.name = nameInput.value.trim();
    state.tokens = [];
    state.token = undefined;
    applyHash();
    void load();
  });
  next.addEventListener('click', () => {
    state.tokens.push(state.token);
    state.token = next.dataset.token;
    void load();
  });
  previous.addEventListener('click', () => {
    state.token = state.tokens.pop();
    void load();
  });

  function header() {
    return el(
      'tr',
      {},
      COLUMNS.map(([key, label]) => {
        const sortKey = SORTABLE[key];
        if (!sortKey) return el('th', { scope: 'col' }, label);
        const active = state.sort === sortKey;
        const button = el('button', { type: 'button', class: 'sort', 'data-sort': sortKey }, label, active ? el('span', { 'aria-hidden': 'true' }, state.order === 'Ascending' ? ' ▲' : ' ▼') : null);
        button.addEventListener('click', () => {
          state.order = active && state.order === 'Descending' ? 'Ascending' : active ? 'Descending' : sortKey === 'Name' ? 'Ascending' : 'Descending';
          state.sort = sortKey;
          state.tokens = [];
          state.token = undefined;
          applyHash();
          void load();
        });
        return el('th', { scope: 'col', 'aria-sort': active ? (state.order === 'Ascending' ? 'ascending' : 'descending') : 'none' }, button);
      }),
    );
  }

  function row(job) {
    if (job.problem) return el('tr', { 'data-job': job.TrainingJobName }, el('td', {}, job.TrainingJobName), el('td', { colspan: COLUMNS.length - 1 }, job.problem));
    const now = Date.now() / 1000;
    const elapsed = (job.EndTime ?? now) - job.CreationTime;
    return el(
      'tr',
      { 'data-job': job.TrainingJobName },
      el('th', { scope: 'row' }, el('a', { href: `#/jobs/${encodeURIComponent(job.TrainingJobName)}` }, job.TrainingJobName)),
      el('td', {}, statusBadge(job.TrainingJobStatus, job.SecondaryStatus)),
      el('td', {}, job.InstanceType ?? '–', job.InstanceCount > 1 ? ` ×${job.InstanceCount}` : ''),
      el('td', {}, job.Market),
      el('td', { class: 'num' }, duration(elapsed)),
      el('td', { class: 'num' }, job.Attempts),
      el('td', { class: 'num' }, job.Interruptions),
      el('td', { class: 'num' }, job.SavingsPercent === undefined ? '–' : `${job.SavingsPercent.toFixed(1)} %`),
      el('td', {}, new Date(job.CreationTime * 1000).toISOString().replace('T', ' ').slice(0, 19)),
    );
  }

  async function load() {
    clearTimeout(timer);
    const q = new URLSearchParams({ sort: state.sort, order: state.order, max: '25' });
    if (state.status) q.set('status', state.status);
    if (state.name) q.set('name', state.name);
    if (state.token) q.set('next', state.token);
    try {
      const page = await api(`jobs?${q}`);
      if (!alive) return;
      table.replaceChildren(el('caption', {}, 'Training jobs, ', state.status ? `status ${state.status}, ` : '', state.name ? `name containing “${state.name}”, ` : '', `sorted by ${state.sort} ${state.order.toLowerCase()}`), el('thead', {}, header()), el('tbody', {}, page.jobs.map(row)));
      message.textContent = page.jobs.length ? '' : 'No training jobs match.';
      next.disabled = !page.nextToken;
      next.dataset.token = page.nextToken ?? '';
      previous.disabled = state.tokens.length === 0;
      pageLabel.textContent = `Page ${state.tokens.length + 1}`;
    } catch (error) {
      if (alive) message.textContent = `Could not list the jobs: ${error.message}`;
    }
    if (alive) timer = setTimeout(() => (document.hidden ? (timer = setTimeout(load, REFRESH_MS)) : load()), REFRESH_MS);
  }

  void load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
