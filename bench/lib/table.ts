import { BatchWriteItemCommand, CreateTableCommand, DeleteItemCommand, DeleteTableCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { nextDeadline } from '../../shared/lifecycle/deadlines.js';
import type { JobRecord } from '../../shared/lifecycle/job.js';
import { DynamoJobStore } from '../../shared/store/dynamoJobStore.js';
import { tableDefinition } from '../../shared/store/table.js';
import { pool } from './stats.js';

export async function createTable(client: DynamoDBClient, tableName: string): Promise<DynamoJobStore> {
  await client.send(new CreateTableCommand(tableDefinition(tableName)));
  return new DynamoJobStore(client, tableName);
}

export async function dropTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
}

const sortable = (t: number) => String(Math.max(0, Math.floor(t))).padStart(13, '0');

/**
 * The job item as DynamoJobStore.create writes it (the record plus the index attributes of
 * dynamoJobStore.ts). Bulk loading needs BatchWriteItem, which the store does not offer;
 * `verifyItemShape` checks this copy against the store before any bulk load.
 */
export function jobItem(job: JobRecord): Record<string, unknown> {
  const due = nextDeadline(job);
  return {
    pk: `job#${job.TrainingJobName.toLowerCase()}`,
    ...job,
    JobList: 'jobs',
    CreationKey: `${sortable(job.CreationTime)}#${job.TrainingJobName}`,
    NameKey: job.TrainingJobName,
    StatusKey: `${job.TrainingJobStatus}#${sortable(job.CreationTime)}#${job.TrainingJobName}`,
    ...(due === undefined ? {} : { DueList: 'due', DueAt: due }),
  };
}

/** Writes `job` with the store, reads the raw item back and compares it with `jobItem(job)`. */
export async function verifyItemShape(client: DynamoDBClient, store: DynamoJobStore, tableName: string, job: JobRecord): Promise<void> {
  await store.create(job, nextDeadline(job));
  const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: `job#${job.TrainingJobName.toLowerCase()}` } }, ConsistentRead: true }));
  const stored = JSON.stringify(sortKeys(unmarshall(Item ?? {})));
  await client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: `job#${job.TrainingJobName.toLowerCase()}` } } }));
  const ours = JSON.stringify(sortKeys(JSON.parse(JSON.stringify(jobItem(job))) as Record<string, unknown>));
  if (stored !== ours) throw new Error(`bench/lib/table.ts jobItem() no longer matches DynamoJobStore's item shape:\n store: ${stored}\n bench: ${ours}`);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
  return value;
}

/** BatchWriteItem, 25 items a request, unprocessed items retried. Returns items per second. */
export async function bulkPut(client: DynamoDBClient, tableName: string, items: Record<string, unknown>[], concurrency = 4): Promise<number> {
  const start = performance.now();
  const batches = Math.ceil(items.length / 25);
  await pool(batches, concurrency, async (b) => {
    let requests = items.slice(b * 25, b * 25 + 25).map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } }));
    for (let round = 0; requests.length; round++) {
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
      requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      if (requests.length) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** round)));
    }
  });
  return items.length / ((performance.now() - start) / 1000);
}
