import { UpdateItemCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createOperations } from '../shared/api/operations.js';
import { ingestInstanceStateChange, ingestInterruptionWarning, ingestRebalanceRecommendation, ingestS3Notification, sweepDeadlines } from '../shared/ingest.js';
import { impliedEffects } from '../shared/lifecycle/decide.js';
import type { JobRecord } from '../shared/lifecycle/job.js';
import { runEffects } from '../shared/jobEvents/runEffects.js';
import { MANIFEST_NAME, reportKey } from '../shared/protocol.js';
import { diff, RequestCounter } from './lib/dynamoCounter.js';
import { benchConfig, benchServices, createRequest, DATA_BUCKET, ec2Event, jobRecord, putJob, s3Event } from './lib/fixtures.js';
import { distribution, instanceIdOf, now as clock, pool, type Distribution } from './lib/stats.js';
import { createTable, dropTable } from './lib/table.js';

const WARNING = 'EC2 Spot Instance Interruption Warning';
const REBALANCE = 'EC2 Instance Rebalance Recommendation';
const STATE = 'EC2 Instance State-change Notification';

export interface CostRow {
  kind: string;
  events: number;
  /** DynamoDB requests per event, by command and flags. */
  perEvent: Record<string, number>;
  total: number;
  consistentReads: number;
  conditionalWrites: number;
  note?: string;
}

export interface CostResult {
  rows: CostRow[];
  scans: number;
}

const per = (counts: Record<string, number>, events: number) =>
  Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, Math.round((n / events) * 100) / 100]));
const sumWhere = (counts: Record<string, number>, test: (key: string) => boolean) =>
  Object.entries(counts).reduce((s, [k, n]) => (test(k) ? s + n : s), 0);

/**
 * DynamoDB requests per handled event, by kind: `jobs` jobs are taken through a whole life,
 * each event through the handlers' own code (shared/ingest.ts) with the real store; EC2 and
 * S3 are stubs (they make no DynamoDB requests).
 */
export async function runCost(client: DynamoDBClient, counter: RequestCounter, jobs: number): Promise<CostResult> {
  const config = benchConfig('bench-cost');
  await createTable(client, config.tableName);
  const services = benchServices(client, config, 0x200000);
  const api = createOperations({ store: services.store, config, now: services.now });
  const rows: CostRow[] = [];
  const names = Array.from({ length: jobs }, (_, i) => `cost-${i}`);
  const instances = new Map<string, string>();
  const measure = async (kind: string, work: (name: string, i: number) => Promise<unknown>, note?: string) => {
    const before = counter.snapshot();
    for (const [i, name] of names.entries()) await work(name, i);
    const counts = diff(counter.snapshot(), before);
    const perEvent = per(counts, names.length);
    rows.push({
      kind,
      events: names.length,
      perEvent,
      total: Math.round((sumWhere(counts, () => true) / names.length) * 100) / 100,
      consistentReads: Math.round((sumWhere(counts, (k) => k.includes('consistent')) / names.length) * 100) / 100,
      conditionalWrites: Math.round((sumWhere(counts, (k) => k.includes('conditional')) / names.length) * 100) / 100,
      ...(note ? { note } : {}),
    });
  };
  const expect = (what: string, result: { status: string } | { status: string }[]) => {
    const statuses = Array.isArray(result) ? result.map((r) => r.status) : [result.status];
    if (!statuses.every((s) => s === 'processed')) throw new Error(`cost: ${what} was not processed: ${JSON.stringify(result)}`);
  };
  try {
    await measure('CreateTrainingJob (API)', async (name) => {
      await api.CreateTrainingJob(createRequest(name));
    });
    // The API handler reads the created job once, then runs its effects: the launch.
    const created = new Map<string, JobRecord>();
    for (const name of names) created.set(name, (await services.store.get(name))!);
    await measure('launch effect of a create (register instance + launchSucceeded)', async (name) => {
      const job = created.get(name)!;
      await runEffects(services, job, impliedEffects(job), { source: 'bench' });
    });
    if (services.capacity.launches !== names.length) throw new Error('launch effects did not launch');
    for (const name of names) instances.set(name, (await services.store.get(name))?.CurrentInstanceIds[0] ?? '');
    await measure('state change: running', async (name) =>
      expect('running', await ingestInstanceStateChange(services, ec2Event(STATE, { 'instance-id': instances.get(name), state: 'running' }))),
    );
    await measure('agent report (downloaded)', async (name) =>
      expect('report', await ingestS3Notification(services, s3Event(config.controlBucket, reportKey(name, 1, 'downloaded')))),
    );
    await measure('checkpoint manifest', async (name) =>
      expect('manifest', await ingestS3Notification(services, s3Event(DATA_BUCKET, `checkpoints/${name}/step=10/${MANIFEST_NAME}`))),
    );
    await measure('rebalance recommendation', async (name) =>
      expect('rebalance', await ingestRebalanceRecommendation(services, ec2Event(REBALANCE, { 'instance-id': instances.get(name) }))),
    );
    const warnings = new Map<string, Record<string, unknown>>();
    await measure('interruption warning', async (name) => {
      const event = ec2Event(WARNING, { 'instance-id': instances.get(name), 'instance-action': 'terminate' });
      warnings.set(name, event);
      expect('warning', await ingestInterruptionWarning(services, event));
    });
    await measure('interruption warning, redelivered', async (name) => {
      const result = await ingestInterruptionWarning(services, warnings.get(name));
      if (result.status !== 'ignored') throw new Error('redelivered warning was not ignored');
    });
    await measure(
      'state change: terminated (→ relaunch)',
      async (name) => expect('terminated', await ingestInstanceStateChange(services, ec2Event(STATE, { 'instance-id': instances.get(name), state: 'terminated' }))),
      'includes the relaunch effect: a PutItem registering the new instance and the launchSucceeded event (GetItem + UpdateItem)',
    );
    await measure('agent report (completed) on a stale attempt', async (name) => {
      const [result] = await ingestS3Notification(services, s3Event(config.controlBucket, reportKey(name, 1, 'completed')));
      if (result?.status !== 'ignored') throw new Error('stale report was not ignored');
    });

    // The deadline sweep: the same number of jobs, all past their MaxWaitTimeInSeconds.
    const dueConfig = benchConfig('bench-cost-due');
    await createTable(client, dueConfig.tableName);
    const due = benchServices(client, dueConfig, 0x300000);
    const longAgo = Date.now() - 3 * 3_600_000;
    for (const [i, name] of names.entries()) {
      const instanceId = instanceIdOf(0x300000 + i);
      const job = jobRecord(dueConfig, name, { state: 'Training', instanceId, now: longAgo, overrides: { StoppingCondition: { MaxRuntimeInSeconds: 1800, MaxWaitTimeInSeconds: 3600 } } });
      await putJob(due.store, job, instanceId, longAgo);
    }
    const before = counter.snapshot();
    const swept = await sweepDeadlines(due);
    if (swept.changed !== names.length) throw new Error(`sweep changed ${swept.changed} of ${names.length} due jobs`);
    const counts = diff(counter.snapshot(), before);
    rows.push({
      kind: 'timer (deadline sweep, per due job)',
      events: names.length,
      perEvent: per(counts, names.length),
      total: Math.round((sumWhere(counts, () => true) / names.length) * 100) / 100,
      consistentReads: Math.round((sumWhere(counts, (k) => k.includes('consistent')) / names.length) * 100) / 100,
      conditionalWrites: Math.round((sumWhere(counts, (k) => k.includes('conditional')) / names.length) * 100) / 100,
      note: `one sweep: ${counts.Query ?? 0} Query on the ByDeadline index for ${names.length} due jobs, then GetItem + UpdateItem per job`,
    });
    const idle = counter.snapshot();
    await sweepDeadlines(due);
    const idleCounts = diff(counter.snapshot(), idle);
    rows.push({ kind: 'timer (sweep with nothing due)', events: 1, perEvent: idleCounts, total: sumWhere(idleCounts, () => true), consistentReads: 0, conditionalWrites: 0 });
    await dropTable(client, dueConfig.tableName);
  } finally {
    await dropTable(client, config.tableName);
  }
  return { rows, scans: counter.of('Scan') };
}

export interface ThroughputResult {
  concurrency: number;
  rounds: number;
  eventsPerRound: number;
  handlerEventsPerSecond: Distribution;
  rawUpdatesPerSecond: Distribution;
  rawConsistentGetsPerSecond: Distribution;
  /** median handler rate ÷ median raw UpdateItem rate */
  ratio: number;
  /** per round, handler ÷ raw, measured back to back */
  roundRatios: number[];
}

/**
 * Interruption warnings through the handler code in-process (validate, instance lookup, job
 * read, decide, conditional write, effects stubbed), against raw conditional UpdateItems and
 * raw consistent GetItems on the same items of the same table, in alternating rounds.
 */
export async function runThroughput(client: DynamoDBClient, options: { events: number; rounds: number; concurrency: number }): Promise<ThroughputResult> {
  const config = benchConfig('bench-throughput');
  await createTable(client, config.tableName);
  const services = benchServices(client, config);
  const at = Date.now();
  const ids = Array.from({ length: options.events }, (_, i) => instanceIdOf(0x400000 + i));
  try {
    await pool(options.events, 16, async (i) => {
      const name = `tp-${i}`;
      await putJob(services.store, jobRecord(config, name, { state: 'Training', instanceId: ids[i], now: at }), ids[i], at);
    });
    const perRound = Math.floor(options.events / options.rounds);
    const handler: number[] = [];
    const raw: number[] = [];
    const gets: number[] = [];
    const roundRatios: number[] = [];
    const rate = async (work: (i: number) => Promise<void>, offset: number) => {
      const start = clock();
      await pool(perRound, options.concurrency, (i) => work(offset + i));
      return perRound / ((clock() - start) / 1000);
    };
    for (let round = 0; round < options.rounds; round++) {
      const offset = round * perRound;
      const r = await rate(async (i) => {
        await client.send(
          new UpdateItemCommand({
            TableName: config.tableName,
            Key: { pk: { S: `job#tp-${i}` } },
            UpdateExpression: 'SET #touch = :n',
            ConditionExpression: 'attribute_exists(pk) AND #status = :training',
            ExpressionAttributeNames: { '#touch': 'BenchTouch', '#status': 'SecondaryStatus' },
            ExpressionAttributeValues: { ':n': { N: String(i) }, ':training': { S: 'Training' } },
          }),
        );
      }, offset);
      const g = await rate(async (i) => {
        await client.send(new GetItemCommand({ TableName: config.tableName, Key: { pk: { S: `job#tp-${i}` } }, ConsistentRead: true }));
      }, offset);
      const h = await rate(async (i) => {
        const result = await ingestInterruptionWarning(services, ec2Event(WARNING, { 'instance-id': ids[i], 'instance-action': 'terminate' }));
        if (result.status !== 'processed') throw new Error(`throughput: warning ${i} ${JSON.stringify(result)}`);
      }, offset);
      raw.push(r);
      gets.push(g);
      handler.push(h);
      roundRatios.push(Math.round((h / r) * 100) / 100);
    }
    const hd = distribution(handler);
    const rd = distribution(raw);
    return {
      concurrency: options.concurrency,
      rounds: options.rounds,
      eventsPerRound: perRound,
      handlerEventsPerSecond: hd,
      rawUpdatesPerSecond: rd,
      rawConsistentGetsPerSecond: distribution(gets),
      ratio: Math.round((hd.p50 / rd.p50) * 100) / 100,
      roundRatios,
    };
  } finally {
    await dropTable(client, config.tableName);
  }
}
