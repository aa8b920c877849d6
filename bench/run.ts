/**
 * `npm run bench`: reaction latency, DynamoDB cost per event, throughput against raw UpdateItem,
 * scale to 100,000 jobs, cold start, and a spot-market simulation. Prints one table, writes
 * it with its distributions to bench/results/latest.json (one file: earlier runs are its git
 * history); `--update-readme` puts the table in the README between its bench markers.
 *
 *   npm run bench                         # everything, 100,000 jobs (about 7 minutes on a 2-core box)
 *   npm run bench -- --quick              # smaller samples, 10,000 jobs (a few minutes)
 *   npm run bench -- --jobs 20000 --only scale,cost
 */
import './env.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDynamoDbLocalClient, startDynamoDbLocal } from '../localcloud/dynamodbLocal.js';
import { runColdStart, type ColdStartResult } from './coldStart.js';
import { runCost, runThroughput, type CostResult, type ThroughputResult } from './events.js';
import { RequestCounter } from './lib/dynamoCounter.js';
import { fmt } from './lib/stats.js';
import { runMoney, type MoneyResult } from './money.js';
import { runDataplane, type DataplaneResult } from './dataplane.js';
import { runReaction, type ReactionResult } from './reaction.js';
import { runScale, type ScaleResult } from './scale.js';

const SECTIONS = ['coldstart', 'money', 'cost', 'throughput', 'scale', 'reaction', 'dataplane'] as const;
type Section = (typeof SECTIONS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    events: { type: 'string' },
    only: { type: 'string' },
    seed: { type: 'string', default: '20261127' },
    'update-readme': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(`npm run bench -- [--quick] [--jobs N] [--events N] [--only ${SECTIONS.join(',')}] [--seed N] [--update-readme]\n`);
  process.exit(0);
}
const quick = args.quick;
const settings = {
  jobs: Number(args.jobs ?? (quick ? 10_000 : 100_000)),
  events: Number(args.events ?? (quick ? 300 : 1000)),
  burst: quick ? 64 : 256,
  costJobs: quick ? 10 : 50,
  throughput: { events: quick ? 1200 : 4000, rounds: quick ? 3 : 5, concurrency: 8 },
  scaleReps: quick ? 60 : 200,
  moneyJobsPerCell: quick ? 40 : 200,
  coldStartRuns: quick ? 3 : 7,
  seed: Number(args.seed),
};
const only = new Set<Section>((args.only ? args.only.split(',') : [...SECTIONS]) as Section[]);
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section ${s}; one of ${SECTIONS.join(', ')}`);

const root = resolve(new URL('..', import.meta.url).pathname);
const log = (line: string) => process.stderr.write(`${line}\n`);
const startedAt = new Date();
const t0 = performance.now();
const machine = {
  cpu: `${cpus()[0]?.model.trim() ?? 'unknown'} × ${cpus().length}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  os: `${platform()} ${release()}`,
  loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
};
log(`bench: ${quick ? 'quick' : 'full'} run on ${machine.cpu}, load average ${machine.loadAverageAtStart.join(' ')}`);

const results: {
  coldStart?: ColdStartResult;
  money?: MoneyResult;
  cost?: CostResult;
  throughput?: ThroughputResult;
  scale?: ScaleResult;
  reaction?: ReactionResult;
  dataplane?: DataplaneResult;
} = {};
const durations: Record<string, number> = {};
async function section<T>(name: Section, work: () => Promise<T>): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  log(`bench: ${name}…`);
  const start = performance.now();
  const value = await work();
  durations[name] = Math.round((performance.now() - start) / 100) / 10;
  log(`bench: ${name} done in ${durations[name]} s`);
  return value;
}

results.coldStart = await section('coldstart', () => runColdStart(root, settings.coldStartRuns));
results.money = await section('money', async () => runMoney({ jobsPerCell: settings.moneyJobsPerCell, seed: settings.seed }));
if (only.has('cost') || only.has('throughput') || only.has('scale')) {
  const dynamo = await startDynamoDbLocal();
  const counter = new RequestCounter();
  const client = counter.attach(createDynamoDbLocalClient(dynamo.endpoint, { requestTimeoutMs: 60_000 }));
  try {
    results.cost = await section('cost', () => runCost(client, counter, settings.costJobs));
    results.throughput = await section('throughput', () => runThroughput(client, settings.throughput));
    results.scale = await section('scale', () => runScale(client, { jobs: settings.jobs, reps: settings.scaleReps, log }));
    if (results.cost) results.cost.scans = counter.of('Scan');
  } finally {
    client.destroy();
    await dynamo.stop();
  }
}
results.reaction = await section('reaction', () => runReaction({ events: settings.events, burst: settings.burst, log }));
results.dataplane = await section('dataplane', () => runDataplane({ quick, log }));

// One table.
type Row = [string, string, string, string];
const rows: Row[] = [];
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB`;
const ms = (x: number) => `${fmt(x, x < 10 ? 1 : 0)} ms`;

if (results.reaction) {
  const r = results.reaction;
  rows.push([
    `Reaction: PutEvents(warning) → Interrupted + checkpoint request in S3, ${r.events} events one at a time`,
    `p50 ${ms(r.reactionMs.p50)}, p99 ${ms(r.reactionMs.p99)}, max ${ms(r.reactionMs.max)}`,
    'p99 ≤ 250 ms',
    verdict(r.reactionMs.p99 <= 250),
  ]);
  if (r.burst) {
    rows.push([
      `Reaction, ${r.burst.events} events ${r.burst.concurrency} at a time`,
      `p50 ${ms(r.burst.reactionMs.p50)}, p99 ${ms(r.burst.reactionMs.p99)}, max ${ms(r.burst.reactionMs.max)}`,
      '—',
      '',
    ]);
  }
  rows.push([
    'Reaction: of which the PutEvents call; the handler\'s DynamoDB requests; its S3 PutObject',
    `p50/p99 ${ms(r.putEventsMs.p50)}/${ms(r.putEventsMs.p99)}; ${ms(r.handlerDynamoMs.p50)}/${ms(r.handlerDynamoMs.p99)}; ${ms(r.handlerS3Ms.p50)}/${ms(r.handlerS3Ms.p99)}`,
    '—',
    '',
  ]);
}
const describeCounts = (perEvent: Record<string, number>) =>
  Object.entries(perEvent)
    .map(([k, n]) => `${n === 1 ? '' : `${n} × `}${k}`)
    .join(' + ') || 'none';
if (results.cost) {
  const hotPath = new Set(['interruption warning', 'rebalance recommendation', 'state change: running', 'agent report (downloaded)', 'checkpoint manifest']);
  for (const row of results.cost.rows) {
    const onHotPath = hotPath.has(row.kind);
    rows.push([
      `Cost: ${row.kind}`,
      `${describeCounts(row.perEvent)}`,
      onHotPath ? '≤ 1 consistent read + 1 conditional write' : '—',
      onHotPath ? verdict(row.consistentReads <= 1 && row.conditionalWrites <= 1) : '',
    ]);
  }
  rows.push(['Cost: Scans, whole run', String(results.cost.scans), '0', verdict(results.cost.scans === 0)]);
}
if (results.throughput) {
  const t = results.throughput;
  rows.push([
    `Throughput: warnings through the handler code in-process vs raw conditional UpdateItem, same table, ${t.concurrency} in flight, ${t.rounds} alternating rounds`,
    `${fmt(t.handlerEventsPerSecond.p50, 0)} vs ${fmt(t.rawUpdatesPerSecond.p50, 0)} per s: **${fmt(t.ratio, 2)}** (rounds ${t.roundRatios.join(', ')}); raw consistent GetItem ${fmt(t.rawConsistentGetsPerSecond.p50, 0)}/s, so 2 GetItem + 1 UpdateItem per event caps the ratio at ${fmt(1 / (1 + (2 * t.rawUpdatesPerSecond.p50) / t.rawConsistentGetsPerSecond.p50), 2)}`,
    'ratio ≥ 0.7',
    verdict(t.ratio >= 0.7),
  ]);
}
if (results.scale) {
  const s = results.scale;
  for (const [name, op] of Object.entries(s.operations)) {
    rows.push([
      `Scale: ${name}, ${s.smallJobs.toLocaleString('en')} vs ${s.largeJobs.toLocaleString('en')} jobs`,
      `p50 ${ms(op.small.p50)} vs ${ms(op.large.p50)}: **${fmt(op.ratioP50, 2)}×** (p90 ${fmt(op.ratioP90, 2)}×)`,
      '≤ 1.5×',
      verdict(op.ratioP50 <= 1.5),
    ]);
  }
  rows.push([`Scale: bulk load into DynamoDB Local (BatchWriteItem)`, `${s.loadItemsPerSecond} jobs/s, ${s.loadSeconds} s for ${s.largeJobs.toLocaleString('en')}`, '—', '']);
}
if (results.coldStart) {
  const c = results.coldStart;
  for (const f of c.functions) {
    rows.push([
      `Cold start: ${f.fn} (SDK bundled, as serverless.yml builds it)`,
      `${kb(f.bundledSdk.bytes)}, init p50 ${ms(f.bundledSdk.initP50)}`,
      '≤ 300 KB, ≤ 100 ms',
      verdict(f.bundledSdk.bytes <= 300 * 1024 && f.bundledSdk.initP50 <= 100),
    ]);
    rows.push([
      `Cold start: ${f.fn} (@aws-sdk/* external, from the runtime)`,
      `${kb(f.externalSdk.bytes)}, init p50 ${ms(f.externalSdk.initP50)} (SDK loaded from node_modules)`,
      '≤ 300 KB, ≤ 100 ms',
      verdict(f.externalSdk.bytes <= 300 * 1024 && f.externalSdk.initP50 <= 100),
    ]);
  }
  rows.push([`Cold start: an empty module, fresh node process (floor), ${c.runs} runs`, ms(c.emptyImportMs), '—', '']);
}
if (results.money) {
  const m = results.money;
  const finals = m.cells.filter((c) => c.policy === 'final checkpoint on warning');
  const periodic = m.cells.filter((c) => c.policy === 'periodic checkpoints only');
  const worst = (cells: typeof finals, key: 'ratioToLimit' | 'ratioToDiscount') => cells.reduce((w, c) => (c[key] < w[key] ? c : w));
  const where = (c: (typeof finals)[number]) => `${c.interruptionsPerHour * 100} %/h, ${c.discount * 100} % off, ${c.checkpointMinutes} min`;
  const wl = worst(finals, 'ratioToLimit');
  const wd = worst(finals, 'ratioToDiscount');
  const pd = worst(periodic, 'ratioToDiscount');
  const lost = (cells: typeof finals) => Math.max(...cells.map((c) => c.lostWorkSecondsPerInterruption));
  const resume = finals.flatMap((c) => [c.resumeSeconds.p50]);
  rows.push([
    `Money: achieved savings ÷ (discount × useful fraction), final checkpoint on the warning, ${m.cells.length / 2} markets × ${m.jobsPerCell} jobs`,
    `worst ${fmt(wl.ratioToLimit, 3)} (${where(wl)}: ${fmt(wl.achievedSavings * 100, 1)} % of ${fmt(wl.limit * 100, 1)} %)`,
    '≥ 0.95',
    verdict(wl.ratioToLimit >= 0.95),
  ]);
  rows.push([
    'Money: achieved savings ÷ discount (no paid second wasted), final checkpoint on the warning',
    `worst ${fmt(wd.ratioToDiscount, 3)} (${where(wd)}: ${fmt(wd.achievedSavings * 100, 1)} % of ${fmt(wd.discount * 100, 0)} %)`,
    '≥ 0.95',
    verdict(wd.ratioToDiscount >= 0.95),
  ]);
  rows.push(['Money: the same, periodic checkpoints only (no final checkpoint)', `worst ${fmt(pd.ratioToDiscount, 3)} (${where(pd)})`, '—', '']);
  rows.push([
    'Money: lost work per interruption (worst market\'s mean)',
    `final checkpoint: ≤ ${fmt(lost(finals), 1)} s; periodic only: ≤ ${fmt(lost(periodic.filter((c) => c.checkpointMinutes === 10)), 0)} s (10 min) / ${fmt(lost(periodic.filter((c) => c.checkpointMinutes === 30)), 0)} s (30 min)`,
    '—',
    '',
  ]);
  rows.push([
    'Money: time to resume (warning → Training again)',
    `p50 ${fmt(Math.min(...resume), 0)}–${fmt(Math.max(...resume), 0)} s over the markets (notice 120 s + launch 60–300 s + restore 60–180 s)`,
    '—',
    '',
  ]);
  rows.push(['Money: product accounting vs the model (TrainingTimeInSeconds)', `max difference ${m.accountingMismatchSeconds} s per job`, '—', '']);
}

if (results.dataplane) {
  const d = results.dataplane;
  const gb = (bytes: number) => `${fmt(bytes / 1e9, 2)} GB`;
  const ratio = (a: number, b: number) => `**${fmt(a / b, 2)}×**`;
  const what = `${gb(d.folder.totalBytes)}: one sparse ${gb(d.folder.bigFileBytes)} file + ${d.folder.smallFiles} small files`;
  rows.push([
    `Data plane: checkpoint upload of ${what}, agent vs \`aws s3 sync\`, same s3rver`,
    `${fmt(d.agent.uploadMBps, 0)} vs ${fmt(d.awsCli.uploadMBps, 0)} MB/s: ${ratio(d.agent.uploadMBps, d.awsCli.uploadMBps)} (${fmt(d.agent.uploadSeconds, 1)} s vs ${fmt(d.awsCli.uploadSeconds, 1)} s)`,
    'ratio ≥ 1',
    verdict(d.agent.uploadMBps >= d.awsCli.uploadMBps),
  ]);
  rows.push([
    'Data plane: restore of the same, agent vs `aws s3 cp --recursive`',
    `${fmt(d.agent.restoreMBps, 0)} vs ${fmt(d.awsCli.downloadMBps, 0)} MB/s: ${ratio(d.agent.restoreMBps, d.awsCli.downloadMBps)} (${fmt(d.agent.restoreSeconds, 1)} s vs ${fmt(d.awsCli.downloadSeconds, 1)} s; the agent verifies every SHA-256 and leaves holes unwritten)`,
    'ratio ≥ 1',
    verdict(d.agent.restoreMBps >= d.awsCli.downloadMBps),
  ]);
  rows.push([
    'Data plane: the server\'s own ceiling (8 MiB PUT / GET from memory, 16 in flight) and the disk',
    `PUT ${fmt(d.server.putMBps, 0)} MB/s, GET ${fmt(d.server.getMBps, 0)} MB/s; disk write ${fmt(d.server.diskWriteMBps, 0)} MB/s: agent upload at ${fmt((d.agent.uploadMBps / d.server.putMBps) * 100, 0)} % of s3rver's PUT ceiling, restore at ${fmt((d.agent.restoreMBps / d.server.getMBps) * 100, 0)} % of its GET ceiling`,
    '—',
    '',
  ]);
  rows.push([
    'Data plane: agent peak resident memory, upload; restore',
    `${d.agent.uploadPeakRssMiB} MiB; ${d.agent.restorePeakRssMiB} MiB (AWS CLI: ${d.awsCli.uploadPeakRssMiB ?? '?'} MiB; ${d.awsCli.downloadPeakRssMiB ?? '?'} MiB)`,
    '≤ 256 MiB',
    verdict(d.agent.uploadPeakRssMiB <= 256 && d.agent.restorePeakRssMiB <= 256),
  ]);
  rows.push([
    'Data plane: bytes a second checkpoint uploads with one file changed, vs that file',
    `${d.agent.incrementalUploadedBytes} B vs ${d.agent.changedFileBytes} B: ${ratio(d.agent.incrementalUploadedBytes, d.agent.changedFileBytes)}, in ${fmt(d.agent.incrementalSeconds, 2)} s (plus the manifest)`,
    'ratio ≤ 1.1',
    verdict(d.agent.incrementalUploadedBytes <= 1.1 * d.agent.changedFileBytes),
  ]);
  rows.push([
    'Data plane: final checkpoint (one file changed since the last) vs the two-minute notice; a first, full checkpoint vs the notice',
    `${fmt(d.agent.finalSeconds, 2)} s of 120 s (${fmt((d.agent.finalSeconds / 120) * 100, 1)} %); ${fmt(d.agent.uploadSeconds, 1)} s of 120 s (${fmt((d.agent.uploadSeconds / 120) * 100, 0)} %)`,
    '≤ 110 s',
    verdict(d.agent.finalSeconds <= 110),
  ]);
}

const totalSeconds = Math.round((performance.now() - t0) / 1000);
const loadAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
const header = `| benchmark | result | target | |\n|---|---|---|---|\n`;
const table = header + rows.map((r) => `| ${r.join(' | ')} |`).join('\n') + '\n';
const machineLine =
  `${startedAt.toISOString().slice(0, 10)}, ${quick ? '`--quick`' : 'full run'}, ${totalSeconds} s: ${machine.cpu}, ${machine.memoryGiB} GiB, ` +
  `Node ${machine.node}, ${machine.os}; load average ${machine.loadAverageAtStart.join(' ')} at the start, ${loadAtEnd.join(' ')} at the end (a shared machine: other work ran alongside).`;
process.stdout.write(`\n${table}\n${machineLine}\n`);

const resultsDir = join(root, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const json = JSON.stringify({ startedAt: startedAt.toISOString(), quick, settings, machine: { ...machine, loadAverageAtEnd: loadAtEnd }, durationsSeconds: { ...durations, total: totalSeconds }, table, results }, null, 2);
writeFileSync(join(resultsDir, 'latest.json'), `${json}\n`);
log('bench: results in bench/results/latest.json');

if (args['update-readme']) {
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) {
    log(`bench: README.md has no ${begin} … ${end} markers; not updated`);
  } else {
    writeFileSync(readmePath, `${readme.slice(0, a + begin.length)}\n${table}\n${machineLine}\n${readme.slice(b)}`);
    log('bench: README.md updated');
  }
}
