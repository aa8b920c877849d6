import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalCloud } from '../localcloud/localCloud.js';
import { loadConfig } from '../shared/config.js';
import { ControlChannel } from '../shared/control.js';
import { requestsPrefix } from '../shared/protocol.js';
import { createServices, useServices } from '../shared/runtime.js';
import { DynamoJobStore } from '../shared/store/dynamoJobStore.js';
import { diff, RequestCounter } from './lib/dynamoCounter.js';
import { jobRecord, putJob } from './lib/fixtures.js';
import { distribution, instanceIdOf, now as clock, pool, sleep, type Distribution } from './lib/stats.js';

export interface ReactionResult {
  events: number;
  concurrency: number;
  /** PutEvents call → job Interrupted (consistent read) and the checkpoint request listed in S3. */
  reactionMs: Distribution;
  /** The PutEvents call alone, as the caller sees it. */
  putEventsMs: Distribution;
  /** Inside the handler, per warning: its DynamoDB requests (2 GetItem + 1 UpdateItem), and its S3 PutObject. */
  handlerDynamoMs: Distribution;
  handlerS3Ms: Distribution;
  /** DynamoDB requests the handlers made, per warning (counted on the handlers' client). */
  handlerRequestsPerEvent: Record<string, number>;
  burst?: { events: number; concurrency: number; reactionMs: Distribution };
  cloudWarnings: number;
}

/**
 * The whole local cloud (`npm start`'s), in this process. Jobs are put in Training with their
 * instance registered (as launches do), so that no simulated agent runs and loads the machine;
 * each warning then goes the public way: EventBridge PutEvents over HTTP → rule matching →
 * the spotInterruptionWarning handler → DynamoDB Local and S3 (s3rver). The bench observes
 * both effects through the public endpoints: a consistent GetItem of the job and a
 * ListObjectsV2 of control/<job>/attempt-1/requests/.
 */
export async function runReaction(options: { events: number; burst: number; log: (line: string) => void }): Promise<ReactionResult> {
  let cloudWarnings = 0;
  const cloud = await startLocalCloud({
    ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 },
    agent: 'simulated',
    log: (entry) => {
      if (entry.level === 'error' || entry.level === 'warn') {
        cloudWarnings++;
        if (cloudWarnings <= 5) options.log(`  local cloud: ${JSON.stringify(entry)}`);
      }
    },
  });
  const config = loadConfig(cloud.env);
  // The handlers' services, as the local cloud made them, with a counted DynamoDB client.
  const counter = new RequestCounter();
  const handlerDynamo = counter.attach(new DynamoDBClient({ region: LOCAL_REGION, endpoint: cloud.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS }));
  // Time spent in the handlers' requests: summed by a middleware on their clients.
  const spent = { dynamo: 0, s3: 0 };
  const timing = (which: 'dynamo' | 's3') => ({
    applyToStack: (stack: { add: (m: unknown, o: unknown) => void }) =>
      stack.add(
        (next: (a: unknown) => Promise<unknown>, context: { commandName?: string }) => async (a: unknown) => {
          const start = clock();
          try {
            return await next(a);
          } finally {
            // The local cloud's deadline sweep queries every second; that is not a warning's time.
            if (context.commandName !== 'QueryCommand') spent[which] += clock() - start;
          }
        },
        { step: 'initialize', name: 'benchTiming' },
      ),
  });
  handlerDynamo.middlewareStack.use(timing('dynamo') as never);
  const handlerS3 = new S3Client({ region: LOCAL_REGION, endpoint: cloud.endpoints.s3, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  handlerS3.middlewareStack.use(timing('s3') as never);
  useServices({ ...createServices(config), store: new DynamoJobStore(handlerDynamo, config.tableName), control: new ControlChannel(handlerS3, config.controlBucket) });
  const dynamo = new DynamoDBClient({ region: LOCAL_REGION, endpoint: cloud.endpoints.dynamodb, credentials: LOCAL_CREDENTIALS });
  const s3 = new S3Client({ region: LOCAL_REGION, endpoint: cloud.endpoints.s3, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  const events = new EventBridgeClient({ region: LOCAL_REGION, endpoint: cloud.endpoints.events, credentials: LOCAL_CREDENTIALS });
  const store = new DynamoJobStore(dynamo, config.tableName);
  const WARMUP = 20;
  const total = WARMUP + options.events + options.burst;
  try {
    const at = Date.now();
    await pool(total, 16, async (i) => {
      const instanceId = instanceIdOf(0x500000 + i);
      await putJob(store, jobRecord(config, `react-${i}`, { state: 'Training', instanceId, now: at }), instanceId, at);
    });
    // Warm the path (connections, JIT) on a few jobs that are not measured.
    const warn = async (i: number) => {
      const name = `react-${i}`;
      const instanceId = instanceIdOf(0x500000 + i);
      const start = clock();
      const put = await events.send(
        new PutEventsCommand({
          Entries: [{ Source: 'aws.ec2', DetailType: 'EC2 Spot Instance Interruption Warning', Detail: JSON.stringify({ 'instance-id': instanceId, 'instance-action': 'terminate' }) }],
        }),
      );
      const putMs = clock() - start;
      if (put.FailedEntryCount) throw new Error(`PutEvents refused: ${JSON.stringify(put.Entries)}`);
      // The checkpoint request is written after the job's conditional write succeeded (effects
      // follow the write), so the moment it is listed both effects are in place; a consistent
      // read of the job then confirms Interrupted. Polling one endpoint keeps the observer light.
      let listed: number | undefined;
      while (listed === undefined) {
        if (clock() - start > 30_000) throw new Error(`reaction: ${name}: no checkpoint request after 30 s`);
        const r = await s3.send(new ListObjectsV2Command({ Bucket: config.controlBucket, Prefix: requestsPrefix(name, 1) }));
        if ((r.Contents ?? []).some((o) => o.Key?.includes('checkpoint-'))) listed = clock();
        else await sleep(1);
      }
      const job = await dynamo.send(new GetItemCommand({ TableName: config.tableName, Key: { pk: { S: `job#${name}` } }, ConsistentRead: true, ProjectionExpression: 'SecondaryStatus' }));
      if (job.Item?.SecondaryStatus?.S !== 'Interrupted') throw new Error(`reaction: ${name} has its checkpoint request but is ${job.Item?.SecondaryStatus?.S}`);
      return { reaction: listed - start, put: putMs };
    };
    for (let i = 0; i < WARMUP; i++) await warn(i);
    await cloud.idle();
    const reaction: number[] = [];
    const putMs: number[] = [];
    const dynamoMs: number[] = [];
    const s3Ms: number[] = [];
    const before = counter.snapshot();
    for (let i = WARMUP; i < WARMUP + options.events; i++) {
      const spentBefore = { ...spent };
      const r = await warn(i);
      await cloud.idle();
      reaction.push(r.reaction);
      putMs.push(r.put);
      dynamoMs.push(spent.dynamo - spentBefore.dynamo);
      s3Ms.push(spent.s3 - spentBefore.s3);
      if ((i + 1 - WARMUP) % 250 === 0) options.log(`  reaction: ${i + 1 - WARMUP} of ${options.events} warnings`);
    }
    await cloud.idle();
    const counts = diff(counter.snapshot(), before);
    // The deadline sweep runs every second in the local cloud; its Queries are not the warnings'.
    delete counts.Query;
    const measured = reaction.length;
    const handlerRequestsPerEvent = Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, Math.round((n / measured) * 100) / 100]));
    let burst: ReactionResult['burst'];
    if (options.burst > 0) {
      const burstMs: number[] = [];
      const concurrency = 16;
      await pool(options.burst, concurrency, async (i) => {
        burstMs.push((await warn(WARMUP + options.events + i)).reaction);
      });
      burst = { events: options.burst, concurrency, reactionMs: distribution(burstMs) };
    }
    await cloud.idle();
    return {
      events: measured,
      concurrency: 1,
      reactionMs: distribution(reaction),
      putEventsMs: distribution(putMs),
      handlerDynamoMs: distribution(dynamoMs),
      handlerS3Ms: distribution(s3Ms),
      handlerRequestsPerEvent,
      ...(burst ? { burst } : {}),
      cloudWarnings,
    };
  } finally {
    dynamo.destroy();
    s3.destroy();
    events.destroy();
    handlerDynamo.destroy();
    handlerS3.destroy();
    await cloud.stop();
  }
}
