import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG } from '../support/jobHarness.js';
import { createTestTable, type TestTable } from '../support/testTable.js';
import { emptyStats, historyArb, runHistory, type History } from './model.js';

/**
 * The model-based property test: random histories of everything a job can see,
 * through the real handlers' code against DynamoDB Local, invariants after every step.
 * LANES fast-check loops run side by side on one table (one job per history), so that the
 * ≥ 1,000 histories of a CI run fit in about a minute on two cores. A failure prints the
 * lane's seed and the shrunk history; `npm run soak -- --seed <seed>` reproduces a soak run.
 */
const LANES = 32;
const RUNS_PER_LANE = Number(process.env.PROPERTY_RUNS_PER_LANE ?? 32);
const SEED = Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table?.drop();
});

describe('randomized event histories through the real handlers on DynamoDB Local', () => {
  it(`${LANES * RUNS_PER_LANE} histories keep every invariant (seed ${SEED})`, async () => {
    const stats = emptyStats();
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: LANES }, (_, lane) =>
        fc.check(
          fc.asyncProperty(historyArb(12), (history) => runHistory(table.store, TEST_CONFIG, history, stats, lane)),
          { seed: SEED + lane, numRuns: RUNS_PER_LANE, maxSkipsPerRun: 0 },
        ),
      ),
    );
    const failures = results.filter((r) => r.failed);
    for (const failure of failures) console.error(fc.defaultReportMessage(failure));
    console.info(`property: ${stats.histories} histories, ${stats.events} events in ${Date.now() - started} ms, seed ${SEED}; final statuses ${JSON.stringify(stats.byFinalStatus)}`);
    expect(failures.map((f) => `seed ${f.seed}: ${String(f.errorInstance)}`)).toEqual([]);
    expect(results.reduce((sum, r) => sum + r.numRuns, 0)).toBeGreaterThanOrEqual(1000);
  }, 300_000);
});

/** Shrunk histories that once broke an invariant, kept so that they never break one again. */
const found = JSON.parse(readFileSync(new URL('./found.json', import.meta.url), 'utf8')) as { found: string; history: History }[];

describe('histories the soak found', () => {
  it.each(found)('$found', async ({ history }) => {
    const stats = emptyStats();
    await runHistory(table.store, TEST_CONFIG, history, stats);
    expect(stats.histories).toBe(1);
  });
});
