import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createOperations } from '../shared/api/operations.js';
import type { Config } from '../shared/config.js';
import type { DynamoJobStore } from '../shared/store/dynamoJobStore.js';
import { benchConfig, jobRecord } from './lib/fixtures.js';
import { distribution, instanceIdOf, now as clock, type Distribution } from './lib/stats.js';
import { bulkPut, createTable, dropTable, jobItem, verifyItemShape } from './lib/table.js';

export interface ScaleResult {
  smallJobs: number;
  largeJobs: number;
  dueJobs: number;
  loadItemsPerSecond: number;
  loadSeconds: number;
  operations: Record<string, { small: Distribution; large: Distribution; ratioP50: number; ratioP90: number }>;
}

const DAY = 86_400_000;
/** Jobs whose runtime deadline passed: the same number in both tables, so the sweep has the same work. */
const DUE = 10;

/** `count` jobs in Training, created over the last five days; the first DUE of them overdue. */
async function load(client: DynamoDBClient, config: Config, count: number, at: number, progress: (done: number) => void): Promise<number> {
  let rateSum = 0;
  let chunks = 0;
  const CHUNK = 5000;
  for (let start = 0; start < count; start += CHUNK) {
    const items: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(count, start + CHUNK); i++) {
      const created = i < DUE ? at - 10 * DAY + i * 1000 : at - 5 * DAY * (i / count);
      items.push(jobItem(jobRecord(config, `scale-${String(i).padStart(6, '0')}`, { state: 'Training', now: created, instanceId: instanceIdOf(i + 1) })));
    }
    rateSum += await bulkPut(client, config.tableName, items);
    chunks++;
    progress(Math.min(count, start + CHUNK));
  }
  return rateSum / chunks;
}

export async function runScale(client: DynamoDBClient, options: { jobs: number; reps: number; log: (line: string) => void }): Promise<ScaleResult> {
  const at = Date.now();
  const smallConfig = benchConfig('bench-scale-small');
  const largeConfig = benchConfig('bench-scale-large');
  const small = await createTable(client, smallConfig.tableName);
  const large = await createTable(client, largeConfig.tableName);
  try {
    await verifyItemShape(client, small, smallConfig.tableName, jobRecord(smallConfig, 'shape-check', { state: 'Training', now: at, instanceId: instanceIdOf(1) }));
    const smallJobs = Math.min(1000, options.jobs);
    await load(client, smallConfig, smallJobs, at, () => undefined);
    const loadStart = clock();
    const loadItemsPerSecond = await load(client, largeConfig, options.jobs, at, (done) => {
      if (done % 20_000 === 0 || done === options.jobs) options.log(`  scale: ${done} of ${options.jobs} jobs loaded`);
    });
    const loadSeconds = (clock() - loadStart) / 1000;

    const ops = (store: DynamoJobStore, config: Config, count: number) => {
      const api = createOperations({ store, config, now: () => at });
      return {
        DescribeTrainingJob: async (i: number) => {
          const name = `scale-${String((i * 7919) % count).padStart(6, '0')}`;
          await api.DescribeTrainingJob({ TrainingJobName: name });
        },
        'ListTrainingJobs (default page, 10)': async () => {
          const page = await api.ListTrainingJobs({});
          if ((page.response.TrainingJobSummaries as unknown[]).length !== 10) throw new Error('list page is not full');
        },
        'ListTrainingJobs (100, StatusEquals)': async () => {
          await api.ListTrainingJobs({ MaxResults: 100, StatusEquals: 'InProgress', SortBy: 'CreationTime' });
        },
        'deadline sweep query (dueJobs)': async () => {
          const due = await store.dueJobs(at);
          if (due.length !== DUE) throw new Error(`sweep found ${due.length} due jobs, expected ${DUE}`);
        },
      };
    };
    const smallOps = ops(small, smallConfig, smallJobs);
    const largeOps = ops(large, largeConfig, options.jobs);
    const samples: Record<string, { small: number[]; large: number[] }> = {};
    // Interleaved rounds: the two sizes see the same noise of this shared machine.
    const ROUND = 10;
    for (let round = 0; round * ROUND < options.reps; round++) {
      for (const name of Object.keys(smallOps) as (keyof typeof smallOps)[]) {
        const s = (samples[name] ??= { small: [], large: [] });
        for (const [which, table] of [['small', smallOps], ['large', largeOps]] as const) {
          for (let r = 0; r < ROUND; r++) {
            const i = round * ROUND + r;
            const start = clock();
            await table[name](i);
            s[which].push(clock() - start);
          }
        }
      }
    }
    const operations: ScaleResult['operations'] = {};
    for (const [name, s] of Object.entries(samples)) {
      const a = distribution(s.small);
      const b = distribution(s.large);
      operations[name] = { small: a, large: b, ratioP50: Math.round((b.p50 / a.p50) * 100) / 100, ratioP90: Math.round((b.p90 / a.p90) * 100) / 100 };
    }
    return { smallJobs, largeJobs: options.jobs, dueJobs: DUE, loadItemsPerSecond: Math.round(loadItemsPerSecond), loadSeconds: Math.round(loadSeconds), operations };
  } finally {
    await dropTable(client, smallConfig.tableName);
    await dropTable(client, largeConfig.tableName);
  }
}
