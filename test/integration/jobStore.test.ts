import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStore } from '../../shared/store/jobStore.js';
import { MemoryJobStore } from '../../shared/store/memoryJobStore.js';
import { JobHarness, StoreBackend } from '../support/jobHarness.js';
import { lifecycleScenarios } from '../support/lifecycleScenarios.js';
import { createTestTable, type TestTable } from '../support/testTable.js';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table?.drop();
});

describe('the lifecycle on DynamoDB Local, every transition one conditional write', () => {
  lifecycleScenarios(() => new StoreBackend(table.store), 'ddb');
});

// The same races on DynamoDB Local and on the in-memory store: both keep the JobStore contract.
const stores: [string, () => JobStore][] = [
  ['DynamoDB Local', () => table.store],
  ['the in-memory store', () => new MemoryJobStore()],
];

describe.each(stores)('concurrent deliveries on %s', (_, store) => {
  it('the same event delivered 20 times at once makes exactly one transition', async () => {
    // Given a job training on one instance
    const h = new JobHarness(new StoreBackend(store()), `ddb-twenty-at-once-${stores.findIndex(([, s]) => s === store)}`);
    await h.at(0).create();
    await h.at(10).launch(['i-2000000000000001']);
    await h.at(40).running('i-2000000000000001');
    await h.at(70).report('downloaded');
    const before = await h.job();

    // When the interruption warning is delivered 20 times concurrently
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => h.at(500).warn('i-2000000000000001', 'terminate')));

    // Then one delivery applied it and 19 saw a duplicate
    expect(outcomes.filter((o) => o.status === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'ignored' && o.reason === 'duplicate')).toHaveLength(19);
    const after = await h.job();
    expect(after.Transitions.map((t) => t.Status)).toEqual([...before.Transitions.map((t) => t.Status), 'Interrupted']);
    expect(after.Interruptions).toHaveLength(1);
    expect(after.Version).toBe(before.Version + 1);
  });

  it('different events racing on one job all apply, none lost', async () => {
    const h = new JobHarness(new StoreBackend(store()), `ddb-racing-${stores.findIndex(([, s]) => s === store)}`);
    await h.at(0).create();
    await h.at(10).launch(['i-2100000000000001']);
    await h.at(40).running('i-2100000000000001');
    await h.at(70).report('downloaded');
    // Rebalance recommendations (distinct events) and checkpoints race each other
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => h.at(100).rebalance('i-2100000000000001', `rebalance-${i}`)),
      ...Array.from({ length: 10 }, (_, i) => h.at(100).checkpoint(i + 1)),
    ]);
    const job = await h.job();
    expect(job.RebalanceRecommendations).toHaveLength(10);
    expect(job.LatestCheckpoint?.Id).toBe('step=10');
    expect(job.SecondaryStatus).toBe('Training');
  });
});
