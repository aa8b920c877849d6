/**
 * npm run soak [-- --runs 100000 --seed 12345 --lanes 32 --max-commands 25 --chunk 250 --minutes 25]
 *
 * The model-based property test of test/property/model.ts at soak scale: `runs` random
 * histories through the real handlers' code against a DynamoDB Local of its own. The runs are
 * cut into chunks of `chunk` histories; chunk i is a fast-check run with seed `seed + i`, so a
 * violation is reproduced from the printed seed (and fast-check's counterexample path). `lanes`
 * chunks run side by side on one table. Prints the count, the rate and every violation with its
 * shrunk history; exits 1 when there was one. `--minutes M` starts no new chunk after M minutes
 * and reports the count reached (Ctrl-C would stop DynamoDB Local under the chunks in flight).
 */
import { parseArgs } from 'node:util';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    lanes: { type: 'string', default: '32' },
    'max-commands': { type: 'string', default: '25' },
    chunk: { type: 'string', default: '250' },
    minutes: { type: 'string', default: '0' },
  },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const lanes = Number(values.lanes);
const maxCommands = Number(values['max-commands']);
const chunkSize = Number(values.chunk);
const minutes = Number(values.minutes);
for (const [name, value] of Object.entries({ runs, seed, lanes, maxCommands, chunkSize })) {
  if (!Number.isSafeInteger(value) || value < (name === 'seed' ? 0 : 1)) throw new Error(`--${name} must be a positive integer, got ${value}`);
}

// Imported after the environment is set: the logger reads it when it is made.
const [fc, { CreateTableCommand }, { startDynamoDbLocal, createDynamoDbLocalClient }, { tableDefinition }, { DynamoJobStore }, { loadConfig }, model] = await Promise.all([
  import('fast-check').then((m) => m.default),
  import('@aws-sdk/client-dynamodb'),
  import('../localcloud/dynamodbLocal.js'),
  import('../shared/store/table.js'),
  import('../shared/store/dynamoJobStore.js'),
  import('../shared/config.js'),
  import('../test/property/model.js'),
]);

console.log(`soak: ${runs} histories, seed ${seed}, ${lanes} lanes, up to ${maxCommands} commands each, chunks of ${chunkSize} (chunk i uses seed ${seed} + i)`);
const dynamo = await startDynamoDbLocal();
const client = createDynamoDbLocalClient(dynamo.endpoint);
const tableName = `soak-${seed}`;
await client.send(new CreateTableCommand(tableDefinition(tableName)));
const store = new DynamoJobStore(client, tableName);
const config = loadConfig({ ALLOWED_BUCKETS: model.DATA_BUCKET, ACCOUNT_ID: '123456789012' });

const stats = model.emptyStats();
const chunks = Array.from({ length: Math.ceil(runs / chunkSize) }, (_, i) => ({ index: i, numRuns: Math.min(chunkSize, runs - i * chunkSize) }));
const violations: { chunkSeed: number; report: string }[] = [];
let executed = 0;
const started = Date.now();
const progress = setInterval(() => {
  const seconds = (Date.now() - started) / 1000;
  console.log(`  ${executed} histories in ${seconds.toFixed(0)} s (${(executed / seconds).toFixed(1)}/s), ${violations.length} violations`);
}, 30_000);

const deadline = minutes > 0 ? started + minutes * 60_000 : Infinity;
const outOfTime = () => Date.now() >= deadline;

await Promise.all(
  Array.from({ length: lanes }, async (_, lane) => {
    for (let chunk = chunks.shift(); chunk && !outOfTime(); chunk = chunks.shift()) {
      const chunkSeed = seed + chunk.index;
      const result = await fc.check(
        fc.asyncProperty(model.historyArb(maxCommands), (history) => model.runHistory(store, config, history, stats, lane)),
        { seed: chunkSeed, numRuns: chunk.numRuns },
      );
      // Runs shrinking took are not counted: only the histories fast-check generated.
      executed += result.numRuns;
      if (result.failed) {
        const report = `${fc.defaultReportMessage(result) ?? ''}\n${String(result.errorInstance)}`;
        violations.push({ chunkSeed, report });
        console.log(`VIOLATION in chunk seed ${chunkSeed}:\n${report}\n`);
      }
    }
  }),
);
clearInterval(progress);
const seconds = (Date.now() - started) / 1000;
if (outOfTime()) console.log(`soak: stopped after ${minutes} minutes (--minutes), ${runs - executed} of the ${runs} histories not run`);
console.log(
  `soak: ${executed} histories (${stats.events} events) in ${seconds.toFixed(0)} s, ${(executed / seconds).toFixed(1)} histories/s, seed ${seed}; ` +
    `${violations.length} violation(s); final statuses ${JSON.stringify(stats.byFinalStatus)}`,
);
for (const v of violations) console.log(`--- chunk seed ${v.chunkSeed}\n${v.report}`);
client.destroy();
await dynamo.stop();
process.exit(violations.length ? 1 : 0);
