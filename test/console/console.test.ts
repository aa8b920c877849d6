import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import { Context } from '../../cli/context.js';
import { contextBackend } from '../../console/contextBackend.js';
import { startConsoleServer, type ConsoleServer } from '../../console/server.js';
import type { LocalCloud } from '../../localcloud/localCloud.js';
import { jobRequest, ROOT, SPOTCTL, spotctl, startCloud, until, userEnv } from '../cli/harness.js';

/**
 * The console in headless Chromium against a local cloud: the jobs list, a job's page that
 * follows the job by itself through an interruption, the Stop and Interrupt buttons; and the
 * console server's own guard: 127.0.0.1 only, no other Host or Origin, no POST without the page.
 * A screenshot of each page is kept in test-artifacts/.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');

let cloud: LocalCloud;
let api: TrainingJobsClient;
let env: Record<string, string>;
let server: ConsoleServer;
let browser: Browser | undefined;

beforeAll(async () => {
  cloud = await startCloud();
  api = new TrainingJobsClient(cloud.endpoints.api);
  env = userEnv(cloud);
  server = await startConsoleServer({ backend: contextBackend(new Context({}, env)), pollIntervalMs: 300, logIntervalMs: 300 });
  await mkdir(ARTIFACTS, { recursive: true });
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await cloud?.stop();
}, 60_000);

async function open(path: string, width = 1200): Promise<Page> {
  const page = await (browser as Browser).newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  await page.goto(`${server.url}${path}`);
  (page as Page & { problems: string[] }).problems = problems;
  return page;
}

/** An HTTP request with headers fetch would not let a test set (Host). */
function raw(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string; host?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: options.host ?? '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe.skipIf(!existsSync(CHROMIUM))('the console in headless Chromium', () => {
  it('lists a job created through the API, with its status, instance, market and attempts; filters by name', async () => {
    await api.call('CreateTrainingJob', jobRequest('console-listed', { HyperParameters: { sim_training_seconds: '100000' } }));
    await api.call('CreateTrainingJob', jobRequest('other-job', { HyperParameters: { sim_training_seconds: '100000' } }));
    await until(api, 'console-listed', (j) => j.SecondaryStatus === 'Training');
    const page = await open('');
    const row = page.locator('tr[data-job="console-listed"]');
    await row.waitFor();
    // Refreshed by itself: the row reaches Training without a reload.
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('Training');
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('InProgress');
    expect(text).toContain('g5.xlarge');
    expect(text).toContain('spot');
    expect(await row.locator('a').getAttribute('href')).toBe('#/jobs/console-listed');

    await page.fill('#filter-name', 'console-list');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('tr[data-job="other-job"]').count()).toBe(0);
    expect(page.url()).toContain('name=console-list');

    const screenshot = join(ARTIFACTS, 'console-list.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect((await stat(screenshot)).size).toBeGreaterThan(10_000);
    expect((page as Page & { problems: string[] }).problems).toEqual([]);
    await page.close();
    await api.call('StopTrainingJob', { TrainingJobName: 'console-listed' });
    await api.call('StopTrainingJob', { TrainingJobName: 'other-job' });
  }, 60_000);

  it("a job's page shows its transitions and follows a synthetic interruption by itself, to Completed", async () => {
    await api.call('CreateTrainingJob', jobRequest('console-live', { HyperParameters: { sim_training_seconds: '320' } }));
    await until(api, 'console-live', (j) => j.SecondaryStatus === 'Training' && j.LatestCheckpoint !== undefined);
    const page = await open('#/jobs/console-live');
    await page.locator('g.status[data-status="Training"]').waitFor();
    expect(await page.locator('#transitions tbody tr').allTextContents()).toEqual([expect.stringContaining('Starting'), expect.stringContaining('Downloading'), expect.stringContaining('Training')]);
    // A mark that a reload would lose.
    await page.evaluate('window.notReloaded = true');

    const interrupted = await spotctl(['interrupt', 'console-live'], env);
    expect(interrupted.code, interrupted.stderr).toBe(0);

    await page.locator('g.interruption[data-action="terminate"]').waitFor({ timeout: 15_000 });
    await page.locator('g.status[data-status="Interrupted"]').waitFor();
    await page.locator('.badge[data-status="Completed"]').waitFor({ timeout: 60_000 });
    const statuses = await page.locator('g.status').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-status')));
    expect(statuses).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(await page.locator('g.attempt').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-attempt')))).toEqual(['1', '2']);
    expect(await page.locator('g.checkpoint').count()).toBeGreaterThan(2);
    expect(Number(await page.locator('g.checkpoint.latest').getAttribute('data-size'))).toBeGreaterThan(0);
    expect(await page.evaluate('window.notReloaded')).toBe(true);

    const job = await api.call<{ TrainingTimeInSeconds: number; BillableTimeInSeconds: number }>('DescribeTrainingJob', { TrainingJobName: 'console-live' });
    await expect.poll(() => page.locator('#training-seconds').textContent()).toContain(`${job.TrainingTimeInSeconds} s`);
    expect(await page.locator('#billable-seconds').textContent()).toContain(`${job.BillableTimeInSeconds} s`);
    // The log of both attempts, read as spotctl logs reads it.
    // A stream per attempt: <job>/algo-1-<epoch seconds>, shown without the job.
    const streamsShown = async () => new Set((await page.locator('#log').textContent())?.match(/\[algo-1-\d{10}\]/g) ?? []).size;
    await expect.poll(streamsShown, { timeout: 15_000 }).toBe(2);
    expect(await page.locator('#log').textContent()).toMatch(/\[algo-1-\d{10}\] \S+ restored checkpoint step=\d+/);
    expect(await page.locator('#stop').isDisabled()).toBe(true);

    const screenshot = join(ARTIFACTS, 'console-job.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect((await stat(screenshot)).size).toBeGreaterThan(20_000);
    // A narrow window: the page still fits, nothing wider than the viewport but the chart's scroller.
    await page.setViewportSize({ width: 380, height: 800 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, 'console-job-narrow.png'), fullPage: true });
    expect((page as Page & { problems: string[] }).problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('Interrupt and Stop, each after a confirmation, with the keyboard', async () => {
    await api.call('CreateTrainingJob', jobRequest('console-stop', { HyperParameters: { sim_training_seconds: '100000' } }));
    await until(api, 'console-stop', (j) => j.SecondaryStatus === 'Training');
    const page = await open('#/jobs/console-stop');
    await page.locator('#interrupt:not([disabled])').waitFor();

    // Cancel sends nothing.
    await page.locator('#interrupt').focus();
    await page.keyboard.press('Enter');
    await page.locator('dialog#confirm[open]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog#confirm:not([open])').waitFor({ state: 'attached' });
    expect((await api.call<{ Interruptions?: unknown[] }>('DescribeTrainingJob', { TrainingJobName: 'console-stop' })).Interruptions ?? []).toEqual([]);

    await page.locator('#interrupt').click();
    await page.selectOption('#confirm-choice', 'rebalance');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 10_000 }).toContain('Rebalance Recommendation');
    await page.locator('g.rebalance').waitFor({ timeout: 15_000 });

    await page.locator('#stop').click();
    await page.locator('#confirm-ok').click();
    await page.locator('.badge[data-status="Stopped"]').waitFor({ timeout: 30_000 });
    const job = await api.call<{ TrainingJobStatus: string; SecondaryStatus: string }>('DescribeTrainingJob', { TrainingJobName: 'console-stop' });
    expect([job.TrainingJobStatus, job.SecondaryStatus]).toEqual(['Stopped', 'Stopped']);
    expect((page as Page & { problems: string[] }).problems).toEqual([]);
    await page.close();
  }, 90_000);
});

describe('the console server', () => {
  it('binds 127.0.0.1 only and refuses other hosts, origins and POSTs not from its page', async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i && !i.internal && i.family === 'IPv4')
      .map((i) => i?.address as string);
    for (const address of [...others, '::1']) await expect(raw(server.port, { host: address })).rejects.toThrow(/ECONNREFUSED|EADDRNOTAVAIL|ENETUNREACH/);

    const page = await raw(server.port, { headers: { host: `127.0.0.1:${server.port}` } });
    expect(page.status).toBe(200);
    const token = /name="console-token" content="([^"]+)"/.exec(page.body)?.[1] ?? '';
    expect(token.length).toBeGreaterThan(20);
    expect((await raw(server.port, { headers: { host: `localhost:${server.port}` }, path: '/api/jobs' })).status).toBe(200);

    // DNS rebinding: a page of evil.example resolved to 127.0.0.1.
    expect((await raw(server.port, { headers: { host: `evil.example:${server.port}` }, path: '/api/jobs' })).status).toBe(403);
    // Another origin reading the API.
    expect((await raw(server.port, { headers: { host: `127.0.0.1:${server.port}`, origin: 'http://evil.example' }, path: '/api/jobs' })).status).toBe(403);
    expect((await raw(server.port, { headers: { host: `127.0.0.1:${server.port}`, 'sec-fetch-site': 'cross-site' }, path: '/api/jobs' })).status).toBe(403);

    await api.call('CreateTrainingJob', jobRequest('console-csrf', { HyperParameters: { sim_training_seconds: '100000' } }));
    const post = (headers: Record<string, string>) => raw(server.port, { method: 'POST', path: '/api/jobs/console-csrf/stop', headers: { host: `127.0.0.1:${server.port}`, ...headers }, body: '{}' });
    const same = `http://127.0.0.1:${server.port}`;
    expect((await post({ origin: 'http://evil.example', 'x-console-token': token, 'content-type': 'application/json' })).status).toBe(403);
    expect((await post({ 'x-console-token': token, 'content-type': 'application/json' })).status).toBe(403);
    expect((await post({ origin: same, 'content-type': 'application/json' })).status).toBe(403);
    expect((await post({ origin: same, 'x-console-token': token, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await api.call<{ TrainingJobStatus: string }>('DescribeTrainingJob', { TrainingJobName: 'console-csrf' })).TrainingJobStatus).toBe('InProgress');
    const stopped = await post({ origin: same, 'x-console-token': token, 'content-type': 'application/json' });
    expect(stopped.status, stopped.body).toBe(200);
    expect((await api.call<{ TrainingJobStatus: string }>('DescribeTrainingJob', { TrainingJobName: 'console-csrf' })).TrainingJobStatus).toMatch(/Stopping|Stopped/);
  }, 60_000);

  it('`spotctl console` prints the free port it serves on; the local cloud serves it at its API port', async () => {
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [SPOTCTL, 'console', '--no-browser'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child?.stdout?.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /spot-training console: (http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(out);
          if (m) resolve(m[1] as string);
        });
        child?.on('exit', (code) => reject(new Error(`spotctl console exited ${code}: ${out}`)));
      });
      const list = await fetch(`${url}api/jobs?name=console`);
      expect(list.status).toBe(200);
      expect(((await list.json()) as { jobs: { TrainingJobName: string }[] }).jobs.map((j) => j.TrainingJobName)).toContain('console-csrf');
    } finally {
      child?.kill('SIGINT');
    }
    const redirect = await fetch(`${cloud.endpoints.api}/`, { redirect: 'manual' });
    expect(redirect.headers.get('location')).toBe('/console/');
    const page = await fetch(`${cloud.endpoints.api}/console/`);
    expect(await page.text()).toContain('<script type="module" src="static/app.js">');
    const jobs = (await (await fetch(`${cloud.endpoints.api}/console/api/jobs?name=console-csrf`)).json()) as { jobs: { TrainingJobName: string; TrainingJobStatus: string }[] };
    expect(jobs.jobs.map((j) => j.TrainingJobName)).toEqual(['console-csrf']);
    // The API itself still answers on the same port.
    expect((await api.call<{ TrainingJobSummaries: unknown[] }>('ListTrainingJobs', { NameContains: 'console-csrf' })).TrainingJobSummaries).toHaveLength(1);
  }, 60_000);
});
