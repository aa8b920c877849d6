import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import type { JobView } from '../../cli/job.js';
import type { Report } from '../../cli/report.js';
import type { LocalCloud } from '../../localcloud/localCloud.js';
import { jobRequest, ROOT, spotctl, startCloud, until, userEnv } from './harness.js';

/**
 * A job interrupted with `spotctl interrupt`, watched to completion with `spotctl watch`
 * (not a TTY: plain lines), reported as text, JSON and HTML — the HTML opened in headless
 * Chromium, its timeline checked, and a screenshot kept in test-artifacts/. Each test runs its
 * own job, so that any one of them can run alone.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');

let cloud: LocalCloud;
let api: TrainingJobsClient;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  [cloud, dir] = await Promise.all([startCloud(), mkdtemp(join(tmpdir(), 'spotctl-report-'))]);
  api = new TrainingJobsClient(cloud.endpoints.api);
  env = userEnv(cloud);
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

const statuses = (j: JobView) => j.SecondaryStatusTransitions.map((t) => t.Status);

/** A job interrupted once while training, after its first checkpoint, and completed on new capacity. */
async function interruptedOnce(name: string): Promise<JobView> {
  await api.call('CreateTrainingJob', jobRequest(name, { HyperParameters: { sim_training_seconds: '320' } }));
  await until(api, name, (j) => j.SecondaryStatus === 'Training' && j.LatestCheckpoint !== undefined);
  const interrupted = await spotctl(['interrupt', name], env);
  expect(interrupted.code, interrupted.stderr).toBe(0);
  return until(api, name, (j) => j.TrainingJobStatus === 'Completed', 60_000);
}

describe('spotctl interrupt, watch and report', () => {
  it('interrupts a training job; watch follows it through the new attempt to Completed (exit 0)', async () => {
    await api.call('CreateTrainingJob', jobRequest('cli-interrupted', { HyperParameters: { sim_training_seconds: '320' } }));
    const training = await until(api, 'cli-interrupted', (j) => j.SecondaryStatus === 'Training' && j.LatestCheckpoint !== undefined);
    const first = training.Attempts?.[0]?.InstanceIds[0] ?? '';

    const [watched, interrupted] = await Promise.all([
      spotctl(['watch', 'cli-interrupted', '--interval', '0.2'], env, 80_000),
      // Sent while watch is running, as a user in a second shell would.
      new Promise((r) => setTimeout(r, 1500)).then(() => spotctl(['interrupt', 'cli-interrupted'], env)),
    ]);
    expect(interrupted.code, interrupted.stderr).toBe(0);
    expect(interrupted.stdout).toContain(`Sent "EC2 Spot Instance Interruption Warning" (instance-action terminate) for ${first} of cli-interrupted, attempt 1, source aws.ec2`);

    expect(watched.code, watched.stderr).toBe(0);
    const lines = watched.stdout.trimEnd().split('\n');
    // Plain lines (no terminal): no escape sequences, one per change.
    expect(watched.stdout).not.toContain('\x1b[');
    const seen = lines.map((l) => l.split(/\s{2,}/)[2]).filter(Boolean);
    expect(seen).toContain('Interrupted');
    expect(seen.slice(seen.indexOf('Interrupted'))).toEqual(expect.arrayContaining(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']));
    expect(lines.find((l) => l.includes('Interrupted'))).toMatch(/attempt 1 on i-\w+ {2}interruptions 1 {2}checkpoint step=\d+ \(.+ ago\) {2}training \d+s, billable \d+s, savings [\d.]+%/);
    expect(lines.some((l) => / Training .*attempt 2 on i-\w+ {2}interruptions 1/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^cli-interrupted Completed after .+: 2 attempt\(s\), 1 interruption\(s\), training \d+s, billable \d+s, savings [\d.]+% \(\$[\d.]+ saved\)$/);

    const done = await until(api, 'cli-interrupted', (j) => j.TrainingJobStatus === 'Completed', 1000);
    expect(statuses(done)).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(done.Interruptions?.[0]).toMatchObject({ InstanceId: first, InstanceAction: 'terminate', AttemptNumber: 1 });

    // Both attempts' output, a stream each, interleaved by time: the first ending with its final checkpoint, the second resuming from it.
    const logs = await spotctl(['logs', 'cli-interrupted'], env);
    const streams = [...new Set([...logs.stdout.matchAll(/^\[(algo-1-\d{10})\] /gm)].map((m) => m[1]))];
    expect(streams).toHaveLength(2);
    const [firstStream, secondStream] = streams as [string, string];
    expect(Number(firstStream.slice(7))).toBeLessThan(Number(secondStream.slice(7)));
    expect(logs.stdout).toContain(`[${firstStream}] `);
    expect(logs.stdout).toMatch(new RegExp(`\\[${firstStream}\\] \\S+ stop or interruption: final checkpoint written, training stopped\n\\[${secondStream}\\] \\S+ restored checkpoint step=\\d+ at step \\d+\n`));
    expect(logs.stdout.trimEnd()).toMatch(new RegExp(`\\[${secondStream}\\] \\S+ training completed after 320 steps$`));
    // Each attempt alone
    const [one, two] = await Promise.all([spotctl(['logs', 'cli-interrupted', '--attempt', '1'], env), spotctl(['logs', 'cli-interrupted', '--attempt', '2'], env)]);
    expect(one.stdout + two.stdout).toBe(logs.stdout);
    expect(two.stdout.startsWith(`[${secondStream}] `)).toBe(true);
  }, 90_000);

  it('report: the timeline as text and JSON, and an HTML page', async () => {
    await interruptedOnce('cli-report');
    const html = join(dir, 'cli-report.html');
    const [text, json, page] = await Promise.all([
      spotctl(['report', 'cli-report'], env),
      spotctl(['report', 'cli-report', '--json'], env),
      spotctl(['report', 'cli-report', '--html', html], env),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Training job cli-report: Completed');
    expect(text.stdout).toMatch(/Timeline \(SecondaryStatusTransitions\)\n\s+AT\s+STATUS\s+FOR\s+MESSAGE\n\s+\+0\.0s\s+Starting/);
    expect(text.stdout).toMatch(/\+\S+\s+Interrupted\s+\S+\s+Spot interruption warning for instance i-\w+ \(instance-action terminate\)/);
    expect(text.stdout).toMatch(/\n\s+1\s+g5\.xlarge\s+spot\s+i-\w+\s+\S+\s+\S+\s+interrupted \(terminate\)\s+\$0\.40\/h \/ \$1\.00\/h/);
    expect(text.stdout).toMatch(/\n\s+2\s+g5\.xlarge\s+spot\s+i-\w+\s+\S+\s+\S+\s+completed/);
    expect(text.stdout).toMatch(/Savings\s+[\d.]+%\s+\(\$[\d.]+ on spot instead of \$[\d.]+ on demand: \$[\d.]+ saved\)/);

    const report = JSON.parse(json.stdout) as Report;
    const described = await api.call<JobView>('DescribeTrainingJob', { TrainingJobName: 'cli-report' });
    expect(report.Timeline.map((t) => t.Status)).toEqual(statuses(described));
    expect(report.Attempts.map((a) => a.EndReason)).toEqual(['interrupted', 'completed']);
    expect(report.Interruptions).toHaveLength(1);
    expect(report.TrainingTimeInSeconds).toBe(described.TrainingTimeInSeconds);
    expect(report.BillableTimeInSeconds).toBe(described.BillableTimeInSeconds);
    expect(report.SavingsPercent).toBe(described.Savings?.SavingsPercent);
    expect(report.SavedUsd).toBeCloseTo((described.Savings?.OnDemandCostUsd ?? 0) - (described.Savings?.SpotCostUsd ?? 0), 6);
    // Every checkpoint of the run, from the manifests in CheckpointConfig.S3Uri, the latest among them.
    expect(report.Checkpoints.length).toBeGreaterThan(5);
    expect(report.Checkpoints.map((c) => c.CheckpointId)).toContain(described.LatestCheckpoint?.CheckpointId);

    expect(page.code, page.stderr).toBe(0);
    const source = await readFile(html, 'utf8');
    // Self-contained: nothing fetched from anywhere.
    expect(source).not.toMatch(/<script|<link|src=|url\(/i);
    expect(source).toContain('<svg id="timeline"');
  }, 120_000);

  it.skipIf(!existsSync(CHROMIUM))('the HTML report in headless Chromium: the timeline shows attempts, the interruption and checkpoints; screenshot kept', async () => {
    await interruptedOnce('cli-report-html');
    const html = join(dir, 'cli-report-html.html');
    const written = await spotctl(['report', 'cli-report-html', '--html', html], env);
    expect(written.code, written.stderr).toBe(0);
    await mkdir(ARTIFACTS, { recursive: true });
    const profile = await mkdtemp(join(tmpdir(), 'spotctl-chromium-'));
    const screenshot = join(ARTIFACTS, 'spotctl-report.png');
    await rm(screenshot, { force: true });
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--hide-scrollbars'];
    const url = `file://${html}`;
    try {
      const run = promisify(execFile);
      const { stdout: dom } = await run(CHROMIUM, [...flags, '--dump-dom', url], { timeout: 40_000, maxBuffer: 16 * 1024 * 1024 });
      await run(CHROMIUM, [...flags, '--window-size=1200,1100', `--screenshot=${screenshot}`, url], { timeout: 40_000 });

      // The DOM as Chromium built it from the page.
      expect(dom).toContain('<title>cli-report-html — spot training report</title>');
      expect(dom).toMatch(/<span class="badge ok" id="status">Completed<\/span>/);
      const lanes = [...dom.matchAll(/class="lane-label"[^>]*>([^<]+)</g)].map((m) => m[1]);
      expect(lanes).toEqual(['Status', 'Attempt 1', 'Attempt 2', 'Checkpoints']);
      const statusBars = [...dom.matchAll(/<g class="status" data-status="(\w+)"/g)].map((m) => m[1]);
      expect(statusBars).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
      expect([...dom.matchAll(/<g class="attempt" data-attempt="(\d)"/g)].map((m) => m[1])).toEqual(['1', '2']);
      expect(dom).toMatch(/<g class="interruption" data-instance="i-\w+">.*interruption \(terminate\)/);
      expect((dom.match(/class="checkpoint( latest)?" data-checkpoint="step=\d+"/g) ?? []).length).toBeGreaterThan(5);
      expect(dom).toMatch(/class="checkpoint latest"/);

      const png = await readFile(screenshot);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(1200);
      expect((await stat(screenshot)).size).toBeGreaterThan(20_000);
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  }, 150_000);

  it('interrupt --rebalance records a recommendation without a status change; --action stop brings the same instance back', async () => {
    await api.call('CreateTrainingJob', jobRequest('cli-stop-action', { SpotOptions: { InterruptionBehavior: 'stop' }, HyperParameters: { sim_training_seconds: '100000' } }));
    const training = await until(api, 'cli-stop-action', (j) => j.SecondaryStatus === 'Training');
    const instance = training.Attempts?.[0]?.InstanceIds[0] ?? '';

    const rebalance = await spotctl(['interrupt', 'cli-stop-action', '--rebalance'], env);
    expect(rebalance.code, rebalance.stderr).toBe(0);
    expect(rebalance.stdout).toContain(`Sent "EC2 Instance Rebalance Recommendation" for ${instance}`);
    const recommended = await until(api, 'cli-stop-action', (j) => (j.RebalanceRecommendations?.length ?? 0) === 1, 10_000);
    expect(recommended.SecondaryStatus).toBe('Training');

    const [badAction, stop] = await Promise.all([
      spotctl(['interrupt', 'cli-stop-action', '--action', 'explode'], env),
      spotctl(['interrupt', 'cli-stop-action', '--action', 'stop'], env),
    ]);
    expect(badAction.code).toBe(252);
    expect(stop.code, stop.stderr).toBe(0);
    const back = await until(api, 'cli-stop-action', (j) => j.SecondaryStatus === 'Training' && j.Attempts?.length === 2, 30_000);
    expect(back.Attempts?.[1]?.InstanceIds).toEqual([instance]);
    expect(statuses(back).slice(-3)).toEqual(['Interrupted', 'Downloading', 'Training']);

    await api.call('StopTrainingJob', { TrainingJobName: 'cli-stop-action' });
    await until(api, 'cli-stop-action', (j) => j.TrainingJobStatus === 'Stopped', 20_000);
    const finished = await spotctl(['interrupt', 'cli-stop-action'], env);
    expect(finished.code).toBe(255);
    expect(finished.stderr).toContain('cli-stop-action has no running instance to interrupt (Stopped, Stopped)');
  }, 90_000);
});
