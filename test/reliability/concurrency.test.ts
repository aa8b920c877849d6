import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../shared/jobEvents/applyEvent.js';
import { JobHarness, StoreBackend } from '../support/jobHarness.js';
import { createTestTable, type TestTable } from '../support/testTable.js';
import { checkRecord } from '../property/model.js';

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table?.drop();
});

const applied = (outcomes: Outcome[]) => outcomes.filter((o) => o.status === 'applied');
const transitionsOf = (outcomes: Outcome[]) => applied(outcomes).reduce((n, o) => n + (o.status === 'applied' ? o.decision.transitions.length : 0), 0);

async function training(name: string, instanceId: string): Promise<JobHarness> {
  const h = new JobHarness(new StoreBackend(table.store), name);
  await h.at(0).create();
  await h.at(10).launch([instanceId]);
  await h.at(40).running(instanceId);
  await h.at(70).report('downloaded');
  return h;
}

describe('50 concurrent deliveries racing on one job', () => {
  it('the same warning 50 times at once: exactly one wins the transition', async () => {
    const h = await training('race-fifty-same', 'i-5000000000000001');
    const before = await h.job();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => h.at(500).warn('i-5000000000000001', 'terminate')));
    expect(applied(outcomes)).toHaveLength(1);
    const after = await h.job();
    expect(after.Transitions.map((t) => t.Status)).toEqual([...before.Transitions.map((t) => t.Status), 'Interrupted']);
    expect(after.Interruptions).toHaveLength(1);
    expect(after.Version).toBe(before.Version + 1);
  });

  it('50 different changes at once all land, none lost; then 50 contending status changes: each transition won by exactly one', async () => {
    const id = 'i-5100000000000001';
    const h = await training('race-fifty-mixed', id);
    const before = await h.job();
    // 25 distinct rebalance recommendations and 25 distinct checkpoints: records, no transition.
    const records = await Promise.all([
      ...Array.from({ length: 25 }, (_, i) => h.at(100).rebalance(id, `rebalance-${i}`)),
      ...Array.from({ length: 25 }, (_, i) => h.at(100).checkpoint(i + 1)),
    ]);
    const middle = await h.job();
    expect(middle.RebalanceRecommendations).toHaveLength(25);
    expect(middle.LatestCheckpoint?.Sequence).toBe(25);
    // Each applied outcome is one write: the version counts them all, none overwritten.
    expect(middle.Version).toBe(before.Version + applied(records).length);

    // 50 status changes that contend: the upload starting, finishing, a stop, a warning, the instance going.
    const changes = await Promise.all([
      ...Array.from({ length: 15 }, () => h.at(200).report('uploading')),
      ...Array.from({ length: 10 }, () => h.at(200).report('completed')),
      ...Array.from({ length: 10 }, () => h.at(200).stop()),
      ...Array.from({ length: 10 }, () => h.at(200).warn(id)),
      ...Array.from({ length: 5 }, () => h.at(200).gone(id)),
    ]);
    const after = await h.job();
    expect(after.Version).toBe(middle.Version + applied(changes).length);
    // Every transition in the record was made by exactly one delivery.
    expect(after.Transitions.length - middle.Transitions.length).toBe(transitionsOf(changes));
    expect(after.Transitions.length).toBeGreaterThan(middle.Transitions.length);
    const uploaded = new Set(Array.from({ length: 25 }, (_, i) => `s3://spot-training-data/checkpoints/${h.name}/${h.name}/step=${i + 1}/manifest.json`));
    checkRecord(h.name, after, uploaded, h.now);
    expect(after.RebalanceRecommendations).toHaveLength(25);
    expect(after.LatestCheckpoint?.Sequence).toBe(25);
  });
});

describe('1,000 jobs receiving their events concurrently', () => {
  it('every record is consistent afterwards', async () => {
    const jobs = 1000;
    const harnesses = Array.from({ length: jobs }, (_, i) => new JobHarness(new StoreBackend(table.store), `thousand-${i}`));
    const instance = (i: number) => `i-52${i.toString(16).padStart(15, '0')}`;
    // Bounded concurrency: 50 jobs' deliveries in flight at any time (two cores, one DynamoDB Local).
    const queue = harnesses.map((h, i) => ({ h, i }));
    const lifecycle = async ({ h, i }: { h: JobHarness; i: number }) => {
      await h.at(0).create();
      await h.at(10).launch([instance(i)]);
      await h.at(40).running(instance(i));
      // Different events for one job concurrently, and duplicates below, as EventBridge and S3 may deliver them.
      await Promise.all([h.at(60).report('downloaded'), h.at(60).checkpoint(1)]);
      if (i % 3 === 0) {
        await Promise.all([h.at(90).warn(instance(i)), h.at(90).warn(instance(i))]);
        await h.at(100).gone(instance(i));
      } else if (i % 3 === 1) {
        await Promise.all([h.at(91).report('completed'), h.at(91).report('completed')]);
      } else {
        await Promise.all([h.at(90).stop(), h.at(90).report('uploading')]);
        await h.at(120).gone(instance(i));
      }
    };
    await Promise.all(Array.from({ length: 50 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await lifecycle(next);
    }));
    const records = await Promise.all(harnesses.map((h) => h.job()));
    records.forEach((job, i) => {
      const h = harnesses[i]!;
      checkRecord(h.name, job, new Set([`s3://spot-training-data/checkpoints/${h.name}/${h.name}/step=1/manifest.json`]), h.now);
      expect(job.LatestCheckpoint?.Sequence).toBe(1);
      if (i % 3 === 0) expect(job.Transitions.map((t) => t.Status)).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting']);
      else if (i % 3 === 1) expect(job.SecondaryStatus).toBe('Completed');
      else expect(job.SecondaryStatus).toBe('Stopped');
    });
  }, 300_000);
});
