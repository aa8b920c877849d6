import { api } from './api.js';
import { duration, el, isFinished, isoTime, statusBadge, usd } from './format.js';
import { metricSeries, metricsSection } from './metrics.js';
import { timelineChart } from './timeline.js';

// A job's page: its state pushed by the console server (server-sent events, one Describe poller
// per job shared by every page that watches it), the timeline, time and money, metrics, the
// training log (followed while the job runs), and Stop / Interrupt behind a confirmation.

const MAX_LOG_LINES = 5000;

export function renderJob(main, name) {
  let snapshot;
  let alive = true;
  const logLines = [];
  let droppedLines = 0;

  const heading = el('h1', {}, name);
  const badge = el('div', { class: 'status-line' });
  const live = el('p', { class: 'message', role: 'status', 'aria-live': 'polite', id: 'live' });
  const problem = el('p', { class: 'problem', role: 'alert', hidden: true });
  const stopButton = el('button', { type: 'button', id: 'stop', class: 'danger' }, 'Stop…');
  const interruptButton = el('button', { type: 'button', id: 'interrupt' }, 'Interrupt…');
  const summary = el('dl', { class: 'summary' });
  const chartBox = el('figure', { class: 'chart' });
  const transitions = el('table', { class: 'transitions', id: 'transitions' });
  const attempts = el('table', { class: 'attempts', id: 'attempts' });
  const money = el('div', { class: 'money', id: 'money' });
  const metrics = el('div', { id: 'metrics' });
  const follow = el('input', { type: 'checkbox', id: 'follow', checked: true });
  const log = el('pre', { class: 'log', id: 'log', tabindex: '0', 'aria-label': 'Training log' });
  const logNote = el('p', { class: 'message', id: 'log-note' });

  const dialog = el('dialog', { id: 'confirm', 'aria-labelledby': 'confirm-title' });
  main.append(
    el('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, el('a', { href: '#/' }, '← All training jobs')),
    el('div', { class: 'job-head' }, el('div', {}, heading, badge), el('div', { class: 'actions' }, interruptButton, stopButton)),
    live,
    problem,
    summary,
    el('section', { 'aria-labelledby': 'h-timeline' }, el('h2', { id: 'h-timeline' }, 'Timeline'), chartBox),
    el('section', { 'aria-labelledby': 'h-transitions' }, el('h2', { id: 'h-transitions' }, 'Secondary status transitions'), el('div', { class: 'scroll' }, transitions)),
    el('section', { 'aria-labelledby': 'h-attempts' }, el('h2', { id: 'h-attempts' }, 'Attempts'), el('div', { class: 'scroll' }, attempts)),
    el('section', { 'aria-labelledby': 'h-money' }, el('h2', { id: 'h-money' }, 'Time and money'), money),
    el('section', { 'aria-labelledby': 'h-metrics' }, el('h2', { id: 'h-metrics' }, 'Metrics'), metrics),
    el('section', { 'aria-labelledby': 'h-log' }, el('h2', { id: 'h-log' }, 'Training log'), el('label', { class: 'follow' }, follow, ' Follow (keep reading new output and scroll to it)'), logNote, log),
    dialog,
  );

  function showProblem(text) {
    problem.hidden = !text;
    problem.textContent = text ?? '';
  }

  // --- The live state ----------------------------------------------------------------------
  const events = new EventSource(`api/jobs/${encodeURIComponent(name)}/events`);
  events.addEventListener('job', (event) => {
    const previous = snapshot?.job;
    snapshot = JSON.parse(event.data);
    showProblem(undefined);
    render();
    const job = snapshot.job;
    if (previous && previous.SecondaryStatus !== job.SecondaryStatus) live.textContent = `${isoTime(Date.now() / 1000)}: now ${job.TrainingJobStatus} · ${job.SecondaryStatus}`;
    if (isFinished(job)) events.close();
  });
  events.addEventListener('problem', (event) => showProblem(JSON.parse(event.data).message));
  events.addEventListener('error', () => {
    if (alive && events.readyState === EventSource.CONNECTING) live.textContent = 'Connection to the console server lost; reconnecting…';
  });
  // The elapsed time moves on by itself; nothing is asked of the server for it.
  const clock = setInterval(() => snapshot && !isFinished(snapshot.job) && renderSummary(), 1000);

  // --- The log -----------------------------------------------------------------------------
  let logStream;
  function openLog() {
    logLines.length = 0;
    droppedLines = 0;
    log.textContent = '';
    logStream = new EventSource(`api/jobs/${encodeURIComponent(name)}/logs`);
    logStream.addEventListener('lines', (event) => appendLines(JSON.parse(event.data)));
    logStream.addEventListener('end', () => {
      logNote.textContent = 'The job has ended: this is all of its output.';
      logStream.close();
    });
    logStream.addEventListener('problem', (event) => (logNote.textContent = `The log could not be read: ${JSON.parse(event.data).message}`));
  }
  function appendLines(lines) {
    for (const { stream, line } of lines) logLines.push(`[${stream}] ${line}`);
    if (logLines.length > MAX_LOG_LINES) {
      droppedLines += logLines.length - MAX_LOG_LINES;
      logLines.splice(0, logLines.length - MAX_LOG_LINES);
    }
    log.textContent = `${droppedLines ? `… ${droppedLines} earlier lines not shown\n` : ''}${logLines.join('\n')}`;
    if (follow.checked) log.scrollTop = log.scrollHeight;
    if (snapshot) renderMetrics();
  }
  follow.addEventListener('change', () => {
    if (follow.checked) openLog();
    else {
      logStream?.close();
      logNote.textContent = 'Not following: new output is not read until Follow is on again.';
    }
  });
  openLog();

  // --- Stop and Interrupt, each behind a confirmation ----------------------------------------
  function confirmAction({ title, text, choices, confirmLabel, run }) {
    const select = choices ? el('select', { id: 'confirm-choice' }, choices.map(([value, label]) => el('option', { value }, label))) : null;
    const cancel = el('button', { type: 'button', value: 'cancel' }, 'Cancel');
    const ok = el('button', { type: 'submit', value: 'ok', class: 'danger', id: 'confirm-ok' }, confirmLabel);
    const form = el('form', { method: 'dialog' }, el('h2', { id: 'confirm-title' }, title), el('p', {}, text), select ? el('label', { for: 'confirm-choice' }, 'What to send ') : null, select, el('div', { class: 'dialog-buttons' }, cancel, ok));
    cancel.addEventListener('click', () => dialog.close('cancel'));
    dialog.replaceChildren(form);
    dialog.returnValue = '';
    dialog.addEventListener(
      'close',
      async () => {
        if (dialog.returnValue !== 'ok') return;
        try {
          const done = await run(select?.value);
          live.textContent = done;
        } catch (error) {
          showProblem(error.message);
        }
      },
      { once: true },
    );
    dialog.showModal();
    cancel.focus();
  }
  stopButton.addEventListener('click', () =>
    confirmAction({
      title: `Stop ${name}?`,
      text: 'StopTrainingJob: the training command gets SIGTERM and time to save, the model is uploaded, and the job ends Stopped. This cannot be undone.',
      confirmLabel: 'Stop the job',
      run: async () => {
        await api(`jobs/${encodeURIComponent(name)}/stop`, { method: 'POST', body: {} });
        return `Stop requested for ${name}.`;
      },
    }),
  );
  interruptButton.addEventListener('click', () =>
    confirmAction({
      title: `Interrupt ${name}?`,
      text: "A synthetic EC2 event for the instances of the job's current attempt, put on EventBridge as spotctl interrupt sends it. A warning interrupts the attempt; the job resumes on new capacity from its latest checkpoint.",
      choices: [
        ['terminate', 'Spot interruption warning, instance-action terminate'],
        ['stop', 'Spot interruption warning, instance-action stop'],
        ['hibernate', 'Spot interruption warning, instance-action hibernate'],
        ['rebalance', 'Rebalance recommendation (a checkpoint now, no status change)'],
      ],
      confirmLabel: 'Send it',
      run: async (choice) => {
        const sent = await api(`jobs/${encodeURIComponent(name)}/interrupt`, { method: 'POST', body: choice === 'rebalance' ? { rebalance: true } : { action: choice } });
        return `Sent “${sent.detailType}” for ${sent.entries.map((e) => e.instanceId).join(', ')} (attempt ${sent.attempt}).`;
      },
    }),
  );

  // --- Rendering ---------------------------------------------------------------------------
  function renderSummary() {
    const job = snapshot.job;
    const now = Date.now() / 1000;
    const end = isFinished(job) ? (job.TrainingEndTime ?? job.LastModifiedTime ?? now) : now;
    const last = job.Attempts?.at(-1);
    const item = (term, ...value) => [el('dt', {}, term), el('dd', {}, ...value)];
    summary.replaceChildren(
      ...item('Instance', `${job.ResourceConfig?.InstanceType ?? '–'} ×${job.ResourceConfig?.InstanceCount ?? 1}`, last?.Market ? ` (${last.Market})` : job.EnableManagedSpotTraining ? ' (spot)' : ' (on-demand)'),
      ...item('Created', isoTime(job.CreationTime), ' UTC'),
      ...item('Elapsed', el('span', { id: 'elapsed' }, duration(end - job.CreationTime))),
      ...item('Attempts', String(job.Attempts?.length ?? 0)),
      ...item('Interruptions', String(job.Interruptions?.length ?? 0)),
      ...item('MaxRuntimeInSeconds', job.StoppingCondition?.MaxRuntimeInSeconds === undefined ? '–' : duration(job.StoppingCondition.MaxRuntimeInSeconds)),
      ...item('MaxWaitTimeInSeconds', job.StoppingCondition?.MaxWaitTimeInSeconds === undefined ? '–' : duration(job.StoppingCondition.MaxWaitTimeInSeconds)),
      ...item('Latest checkpoint', job.LatestCheckpoint ? `${job.LatestCheckpoint.CheckpointId}${job.LatestCheckpoint.Time ? `, ${duration(now - job.LatestCheckpoint.Time)} ago` : ''}` : 'none'),
      ...(job.FailureReason ? item('FailureReason', job.FailureReason) : []),
    );
  }

  function renderMetrics() {
    metrics.replaceChildren(metricsSection(snapshot.job, metricSeries(snapshot.job, logLines)));
  }

  function render() {
    const job = snapshot.job;
    const now = Date.now() / 1000;
    document.title = `${name} · ${job.SecondaryStatus} — spot-training console`;
    badge.replaceChildren(statusBadge(job.TrainingJobStatus, job.SecondaryStatus));
    const running = job.Attempts?.at(-1);
    const canInterrupt = !isFinished(job) && running && running.EndTime === undefined && running.InstanceIds.length > 0;
    stopButton.disabled = job.TrainingJobStatus !== 'InProgress';
    interruptButton.disabled = !canInterrupt;
    interruptButton.title = canInterrupt ? '' : 'No running instance to interrupt';
    renderSummary();
    chartBox.replaceChildren(
      timelineChart(snapshot, now),
      el('figcaption', {}, 'Status bars; per attempt: hatched while waiting for capacity, solid while running; ▼ interruption warning, ◆ rebalance recommendation; ticks: complete checkpoints; dashed: deadlines.', snapshot.checkpointsError ? ` Checkpoints could not be listed: ${snapshot.checkpointsError}` : ''),
    );
    transitions.replaceChildren(
      el('thead', {}, el('tr', {}, ['Status', 'Start (UTC)', 'End (UTC)', 'Duration', 'Message'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        {},
        job.SecondaryStatusTransitions.map((t) =>
          el('tr', { 'data-status': t.Status }, el('td', {}, t.Status), el('td', {}, isoTime(t.StartTime)), el('td', {}, t.EndTime ? isoTime(t.EndTime) : '–'), el('td', { class: 'num' }, duration((t.EndTime ?? (isFinished(job) ? t.StartTime : now)) - t.StartTime)), el('td', {}, t.StatusMessage ?? '')),
        ),
      ),
    );
    attempts.replaceChildren(
      el('thead', {}, el('tr', {}, ['#', 'Instance', 'Market', 'Instances', 'Running from', 'Ended', 'How it ended', 'Training time'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        {},
        (job.Attempts ?? []).map((a) =>
          el(
            'tr',
            { 'data-attempt': a.AttemptNumber },
            el('td', {}, a.AttemptNumber),
            el('td', {}, a.InstanceType ?? '–'),
            el('td', {}, a.Market ?? '–'),
            el('td', {}, a.InstanceIds.join(', ') || (a.LastLaunchError ? `waiting: ${a.LastLaunchError}` : 'waiting for capacity')),
            el('td', {}, isoTime(a.RunningTime)),
            el('td', {}, isoTime(a.EndTime)),
            el('td', {}, [a.EndReason, a.InstanceAction ? `(${a.InstanceAction})` : '', a.ExitCode !== undefined ? `exit ${a.ExitCode}` : ''].filter(Boolean).join(' ') || (a.EndTime === undefined ? 'running' : '–')),
            el('td', { class: 'num' }, a.TrainingTimeInSeconds === undefined ? '–' : duration(a.TrainingTimeInSeconds)),
          ),
        ),
      ),
    );
    const training = job.TrainingTimeInSeconds ?? 0;
    const billable = job.BillableTimeInSeconds ?? 0;
    const savings = job.Savings ?? { SavingsPercent: 0, SpotCostUsd: 0, OnDemandCostUsd: 0 };
    const fraction = training ? Math.min(1, billable / training) : 0;
    money.replaceChildren(
      el(
        'dl',
        { class: 'summary' },
        el('dt', {}, 'TrainingTimeInSeconds'),
        el('dd', { id: 'training-seconds' }, `${training} s (${duration(training)})`),
        el('dt', {}, 'BillableTimeInSeconds'),
        el('dd', { id: 'billable-seconds' }, `${billable} s (${duration(billable)})`),
        el('dt', {}, 'Cost on spot'),
        el('dd', {}, usd(savings.SpotCostUsd)),
        el('dt', {}, 'Cost on demand'),
        el('dd', {}, usd(savings.OnDemandCostUsd)),
        el('dt', {}, 'Savings'),
        el('dd', { id: 'savings' }, `${savings.SavingsPercent.toFixed(1)} % (${usd(savings.OnDemandCostUsd - savings.SpotCostUsd)})`),
      ),
      el('div', { class: 'meter', role: 'img', 'aria-label': `Billable is ${(fraction * 100).toFixed(0)} % of training time` }, el('div', { class: 'meter-training' }, el('span', {}, 'training')), el('div', { class: 'meter-billable', 'data-fraction': fraction.toFixed(3) }, el('span', {}, 'billable'))),
    );
    // CSP forbids inline style attributes; the width is set through the DOM instead.
    money.querySelector('.meter-billable').style.width = `${(fraction * 100).toFixed(1)}%`;
    renderMetrics();
  }

  return () => {
    alive = false;
    events.close();
    logStream?.close();
    clearInterval(clock);
    if (dialog.open) dialog.close();
  };
}
