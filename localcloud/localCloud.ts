import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { S3Client } from '@aws-sdk/client-s3';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { MANIFEST_NAME } from '../shared/protocol.js';
import { groupByDelimiter, type ListingStore } from './s3rverListing.js';
import { tableDefinition } from '../shared/store/table.js';
import { startDynamoDbLocal, type DynamoDbLocalHandle } from './dynamodbLocal.js';
import { Ec2Simulator } from './ec2Simulator.js';
import { LocalEventBus, type EventBridgeEnvelope } from './eventBus.js';
import { readServerlessWiring, type FunctionWiring } from './serverlessConfig.js';
import { readSettings, type LocalCloudSettings } from './settings.js';
import { SimulatedAgents } from './simulatedAgent.js';
import { AgentProcesses } from './agentProcesses.js';
import { CloudWatchMetrics } from './cloudwatchMetrics.js';
import { CloudWatchLogsServer } from './cloudwatchLogs.js';
import type { ConsoleHandler } from '../console/server.js';

/**
 * The whole system on one machine, no Docker, no AWS account: DynamoDB Local, S3 (s3rver) with
 * object-created notifications, an EventBridge PutEvents endpoint with rule matching, a
 * simulated EC2 endpoint, CloudWatch Logs (where the training output goes), the HTTP API, and the handlers of serverless.yml wired to them as
 * serverless.yml wires them on AWS. Every endpoint is a real API-compatible server on
 * 127.0.0.1, so the AWS CLI and SDKs work against it with --endpoint-url.
 */
export interface LocalCloudOptions {
  /** Keep state (tables, objects, logs) here across restarts; a temporary folder otherwise. */
  dataDir?: string;
  /** Ports; 0 picks a free one. Defaults: the api 4600, events 4601, s3 4602, dynamodb 4603, ec2 4604, logs 4606 (4605 is serverless-offline's), cloudwatch 4607. */
  ports?: Partial<Record<'api' | 'events' | 's3' | 'dynamodb' | 'ec2' | 'logs' | 'cloudwatch', number>>;
  settings?: LocalCloudSettings;
  settingsFile?: string;
  serverlessFile?: string;
  stage?: string;
  /**
   * What runs on a simulated instance: `simulated` counts simulated seconds as steps; `process`
   * runs the real agent (agent/main.ts) as a process, which runs the job's real command.
   */
  agent?: 'simulated' | 'process';
  /** Buckets jobs may checkpoint and write output to, created at start. Default: spot-training-data. */
  allowedBuckets?: string[];
  log?: (entry: Record<string, unknown>) => void;
  /**
   * Who serves the HTTP API: `local` (default) this process at ports.api, with the console at
   * /console/; `external` another server at ports.api (serverless-offline, localcloud/serverlessPlugin.cjs).
   */
  api?: 'local' | 'external';
}

export interface LocalCloud {
  endpoints: { api: string; events: string; s3: string; dynamodb: string; ec2: string; logs: string; cloudwatch: string };
  /** The environment a client needs: endpoints, region, credentials, table and bucket names. */
  env: Record<string, string>;
  bus: LocalEventBus;
  simulator: Ec2Simulator;
  settings: LocalCloudSettings;
  dataDir: string;
  /** Resolves when no event, notification or sweep is in flight. */
  idle(): Promise<void>;
  /** Runs the deadline sweep now, as its schedule would. */
  sweep(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_DATA_BUCKET = 'spot-training-data';
export const DEFAULT_PORTS = { api: 4600, events: 4601, s3: 4602, dynamodb: 4603, ec2: 4604, logs: 4606, cloudwatch: 4607 };
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
/** s3rver accepts only keys it knows: the local cloud adds this pair for every client. */
// DynamoDB Local accepts access key ids of letters and digits only.
export const LOCAL_CREDENTIALS = { accessKeyId: 'spottraining', secretAccessKey: 'spottraininglocal' };

type Handler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

function lambdaContext(name: string): Record<string, unknown> {
  return { functionName: name, awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 30_000, callbackWaitsForEmptyEventLoop: false };
}

/**
 * The request body, or undefined when it is over `limit`. The rest of an oversized body is read
 * and dropped rather than the connection cut, so the client gets its 413 instead of a reset.
 */
async function readBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size > limit ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** The console against this local cloud, as `spotctl console` would run it with the endpoints of `npm start` exported. */
async function localConsole(endpoints: LocalCloud['endpoints'], controlBucket: string): Promise<ConsoleHandler> {
  const [{ createConsoleHandler }, { contextBackend }, { Context }] = await Promise.all([import('../console/server.js'), import('../console/contextBackend.js'), import('../cli/context.js')]);
  const ctx = new Context(
    {},
    {
      SPOT_TRAINING_ENDPOINT: endpoints.api,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.events,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoints.logs,
      SPOT_TRAINING_CONTROL_BUCKET: controlBucket,
      AWS_REGION: LOCAL_REGION,
    },
  );
  return createConsoleHandler({ backend: contextBackend(ctx), basePath: '/console' });
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const root = resolve(new URL('..', import.meta.url).pathname);
  const log = options.log ?? ((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  const settings = options.settings ?? readSettings(options.settingsFile ?? join(root, 'localcloud.config.json'));
  const ports = {
    ...DEFAULT_PORTS,
    // Callers that ask for free ports (tests, the demo) and name none for CloudWatch get a free one too.
    ...(options.ports?.api === 0 ? { cloudwatch: 0 } : {}),
    ...options.ports,
  };
  const dataBuckets = options.allowedBuckets ?? [DEFAULT_DATA_BUCKET];
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ? resolve(options.dataDir) : await mkdtemp(join(tmpdir(), 'spot-training-'));
  await mkdir(join(dataDir, 's3'), { recursive: true });
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch((error: unknown) => log({ level: 'warn', msg: 'stopping failed', error: String(error) }));
    if (temporary) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    // DynamoDB Local, its data in the data directory.
    const dynamo: DynamoDbLocalHandle = await startDynamoDbLocal({
      ...(ports.dynamodb ? { port: ports.dynamodb } : {}),
      ...(temporary ? {} : { dataDir: join(dataDir, 'dynamodb') }),
    });
    stoppers.push(() => dynamo.stop());

    // S3: s3rver, with a key pair for our clients and the buckets the stack needs.
    const stage = options.stage ?? 'local';
    const wiring = readServerlessWiring(options.serverlessFile ?? join(root, 'serverless.yml'), {
      stage,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      params: { allowedBuckets: dataBuckets.join(',') },
    });
    const controlBucket = wiring.environment.CONTROL_BUCKET ?? 'spot-training-local-control';
    const allowed = [...new Set([controlBucket, ...dataBuckets])];
    const { default: S3rver } = await import('s3rver');
    const accounts = (await import('s3rver/lib/models/account.js' as string)) as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
    accounts.DUMMY_ACCOUNT.createKeyPair(LOCAL_CREDENTIALS.accessKeyId, LOCAL_CREDENTIALS.secretAccessKey);
    const s3rver = new S3rver({
      address: '127.0.0.1',
      port: ports.s3,
      silent: true,
      directory: join(dataDir, 's3'),
      configureBuckets: allowed.map((name) => ({ name, configs: [] })),
    });
    groupByDelimiter((s3rver as unknown as { store: ListingStore }).store);
    const s3Address = await s3rver.run();
    stoppers.push(() => s3rver.close());
    const endpoints = {
      api: '',
      events: '',
      s3: `http://127.0.0.1:${s3Address.port}`,
      dynamodb: dynamo.endpoint,
      ec2: '',
      cloudwatch: '',
      logs: '',
    };

    // CloudWatch Logs: the training output, as SageMaker keeps it (/aws/sagemaker/TrainingJobs);
    // with a data directory, kept in it across restarts.
    const cloudWatchLogs = new CloudWatchLogsServer({
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      ...(temporary ? {} : { file: join(dataDir, 'cloudwatch-logs.jsonl') }),
      log,
    });
    const logsServer = await cloudWatchLogs.listen(ports.logs);
    stoppers.push(() => logsServer.close());
    endpoints.logs = logsServer.url;

    // The bus and the simulated EC2, which emits to it.
    const bus = new LocalEventBus({ region: LOCAL_REGION, account: LOCAL_ACCOUNT, log });
    const busServer = await bus.listen(ports.events);
    stoppers.push(() => busServer.close());
    endpoints.events = busServer.url;
    const simulator = new Ec2Simulator({
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      timeScale: settings.timeScale,
      types: Object.fromEntries(
        Object.entries(settings.instanceTypes).map(([type, t]) => [
          type,
          { launchDelayMs: t.launchDelaySeconds * 1000, spotCapacity: t.spotCapacity, spotPrice: t.spotPrice, onDemandPrice: t.onDemandPrice },
        ]),
      ),
      emit: async (event) => {
        await bus.putEvents([{ Source: event.source, DetailType: event.detailType, Detail: JSON.stringify(event.detail), Resources: event.resources, Time: event.time }]);
      },
      log,
    });
    const ec2Server = await simulator.listen(ports.ec2);
    stoppers.push(() => simulator.close());
    endpoints.ec2 = ec2Server.url;

    // CloudWatch metrics, where the agents put MetricDefinitions' values.
    const metricsServer = await new CloudWatchMetrics({ log }).listen(ports.cloudwatch);
    stoppers.push(() => metricsServer.close());
    endpoints.cloudwatch = metricsServer.url;

    // The product's configuration, as serverless.yml sets it, pointed at the local servers.
    const env: Record<string, string> = {
      ...wiring.environment,
      ALLOWED_BUCKETS: allowed.join(','),
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.events,
      AWS_ENDPOINT_URL_EC2: endpoints.ec2,
      AWS_ENDPOINT_URL_CLOUDWATCH: endpoints.cloudwatch,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoints.logs,
      ACCOUNT_ID: LOCAL_ACCOUNT,
      EC2_IMAGE_ID: 'ami-0spottraininglocal',
      PRICE_SOURCE: 'table',
      PRICE_TABLE: JSON.stringify(Object.fromEntries(Object.entries(settings.instanceTypes).map(([type, t]) => [type, { Spot: t.spotPrice, OnDemand: t.onDemandPrice }]))),
    };
    Object.assign(process.env, env);
    const [{ createServices, useServices }, { loadConfig }] = await Promise.all([import('../shared/runtime.js'), import('../shared/config.js')]);
    const config = loadConfig(env);
    const services = createServices(config);
    useServices(services);
    stoppers.push(async () => useServices(undefined));

    const dynamoClient = new DynamoDBClient({ endpoint: endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      await dynamoClient.send(new CreateTableCommand(tableDefinition(config.tableName)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    } finally {
      dynamoClient.destroy();
    }

    // The handlers, wired as serverless.yml wires them.
    const inFlight = new Set<Promise<unknown>>();
    const track = <T>(work: Promise<T>): Promise<T> => {
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work)).catch(() => undefined);
      return work;
    };
    const load = async (fn: FunctionWiring): Promise<Handler> => {
      const module = (await import(join(root, `${fn.module}.ts`))) as Record<string, Handler>;
      const handler = module[fn.exportName];
      if (typeof handler !== 'function') throw new Error(`serverless.yml: ${fn.module}.${fn.exportName} is not a function`);
      return handler;
    };
    let apiHandler: Handler | undefined;
    let sweepHandler: Handler | undefined;
    const s3Routes: { fn: string; bucket: string; prefix: string; suffix: string; handler: Handler }[] = [];
    for (const fn of wiring.functions) {
      const handler = await load(fn);
      for (const event of fn.events) {
        if (event.kind === 'eventBridge') {
          bus.addRule({ name: fn.name, pattern: event.pattern, target: (envelope: EventBridgeEnvelope) => handler(envelope, lambdaContext(fn.name)) });
        } else if (event.kind === 's3') {
          s3Routes.push({ fn: fn.name, bucket: event.bucket, prefix: event.prefix, suffix: event.suffix, handler });
        } else if (event.kind === 'httpApi') {
          apiHandler = handler;
        } else {
          sweepHandler = handler;
        }
      }
    }

    // S3 notifications as AWS sends them: one record per event, the key URL-encoded; retried like an async invoke.
    s3rver.on('event', (notification: { Records: Record<string, unknown>[] }) => {
      for (const record of notification.Records) {
        const s3 = record.s3 as { bucket: { name: string }; object: { key: string } };
        const key = s3.object.key;
        const encoded = encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
        const delivered = { ...record, awsRegion: LOCAL_REGION, s3: { ...s3, bucket: { ...s3.bucket, arn: `arn:aws:s3:::${s3.bucket.name}` }, object: { ...s3.object, key: encoded } } };
        for (const route of s3Routes) {
          // Checkpoint manifests are listened for in every allowed bucket, as the deployment does.
          const bucketMatches = route.bucket === s3.bucket.name || (route.suffix === `/${MANIFEST_NAME}` && allowed.includes(s3.bucket.name));
          if (!bucketMatches || !key.startsWith(route.prefix) || !key.endsWith(route.suffix)) continue;
          void track(
            (async () => {
              for (let attempt = 1; attempt <= 3; attempt++) {
                try {
                  await route.handler({ Records: [delivered] }, lambdaContext(route.fn));
                  return;
                } catch (error) {
                  log({ level: attempt === 3 ? 'error' : 'warn', msg: `s3 notification to ${route.fn} failed (attempt ${attempt} of 3)`, key, error: String(error) });
                  await new Promise((r) => setTimeout(r, 200 * attempt));
                }
              }
            })(),
          );
        }
      }
    });

    // The agents on simulated instances start when their instance runs and stop when it goes.
    const s3Client = new S3Client({ endpoint: endpoints.s3, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
    const logsClient = new CloudWatchLogsClient({ endpoint: endpoints.logs, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const agentEnv = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_CLOUDWATCH: endpoints.cloudwatch,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoints.logs,
    };
    const cloudwatchClient = new CloudWatchClient({ endpoint: endpoints.cloudwatch, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const agents =
      options.agent === 'process'
        ? new AgentProcesses({ simulator, settings, dataDir, controlBucket, env: agentEnv, log })
        : new SimulatedAgents({ s3: s3Client, logs: logsClient, cloudwatch: cloudwatchClient, controlBucket, settings, simulator, log });
    bus.addRule({
      name: 'instance-agents',
      pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['running', 'stopping', 'shutting-down'] } },
      target: async (event) => {
        const instanceId = String(event.detail['instance-id']);
        if (event.detail.state === 'running') await agents.instanceRunning(instanceId);
        else if (agents instanceof AgentProcesses) void agents.instanceGoing(instanceId);
      },
    });
    // A warning put on the bus by someone else (spotctl, the AWS CLI) is carried out by the
    // simulator too: after the notice window the instance terminates or stops.
    bus.addRule({
      name: 'simulated-interruptions',
      pattern: { source: ['aws.ec2', config.syntheticSource], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
      target: async (event) => {
        const instanceId = String(event.detail['instance-id']);
        const instance = simulator.instance(instanceId);
        if (!instance || instance.market !== 'spot' || !['pending', 'running'].includes(instance.state) || simulator.interrupting(instanceId)) return;
        const requested = String(event.detail['instance-action']) as 'terminate' | 'stop' | 'hibernate';
        // A one-time request can only end in termination, whatever the synthetic event says.
        const action = instance.spotRequestType === 'persistent' ? requested : 'terminate';
        await simulator.interrupt(instanceId, action, { warned: true });
      },
    });
    stoppers.push(async () => {
      await agents.close();
      s3Client.destroy();
      cloudwatchClient.destroy();
      logsClient.destroy();
    });

    // The deadline sweep on its schedule (every minute on AWS; faster here).
    let sweeping: Promise<unknown> | undefined;
    const sweep = async () => {
      if (!sweepHandler) return;
      sweeping ??= track(sweepHandler({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString() }, lambdaContext('deadlineSweep'))).finally(() => {
        sweeping = undefined;
      });
      await sweeping;
    };
    const timer = setInterval(() => void sweep().catch((error: unknown) => log({ level: 'error', msg: 'deadline sweep failed', error: String(error) })), settings.sweepIntervalSeconds * 1000);
    stoppers.push(async () => clearInterval(timer));

    if (options.api === 'external') {
      endpoints.api = `http://127.0.0.1:${ports.api}`;
    } else {
      // The HTTP API, and the console at /console/ of the same port (GET / leads there).
      let consoleHandler: ConsoleHandler | undefined;
      let apiPort = ports.api;
      const api = createServer((request: IncomingMessage, response: ServerResponse) => {
        if (request.method === 'GET' && request.url === '/' && !request.headers['x-amz-target']) {
          response.writeHead(302, { location: '/console/' });
          response.end();
          return;
        }
        if (consoleHandler?.handle(request, response, apiPort)) return;
        void (async () => {
          const body = await readBody(request, 2 * 1024 * 1024);
          if (body === undefined || !apiHandler) {
            response.writeHead(413, { 'content-type': 'application/x-amz-json-1.1' });
            response.end(JSON.stringify({ __type: 'ValidationException', message: 'Request body is larger than 2 MB' }));
            return;
          }
          const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
          const result = (await track(apiHandler({ headers, body, isBase64Encoded: false, requestContext: { http: { method: request.method, path: request.url } } }, lambdaContext('api')))) as {
            statusCode: number;
            headers: Record<string, string>;
            body: string;
          };
          response.writeHead(result.statusCode, result.headers);
          response.end(result.body);
        })().catch((error: unknown) => {
          log({ level: 'error', msg: 'api request failed', error: String(error) });
          if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
          response.end(JSON.stringify({ __type: 'InternalFailure', message: 'Internal failure' }));
        });
      });
      await new Promise<void>((resolveListen, reject) => {
        api.once('error', reject);
        api.listen(ports.api, '127.0.0.1', () => resolveListen());
      });
      stoppers.push(
        () =>
          new Promise<void>((resolveClose) => {
            api.closeAllConnections();
            api.close(() => resolveClose());
          }),
      );
      const apiAddress = api.address();
      apiPort = typeof apiAddress === 'object' && apiAddress ? apiAddress.port : ports.api;
      endpoints.api = `http://127.0.0.1:${apiPort}`;
      consoleHandler = await localConsole(endpoints, controlBucket);
      stoppers.push(async () => consoleHandler?.close());
    }

    // A restart with a data directory: the jobs are in the table, but the simulated instances
    // died with the previous process. EC2 would say so with state changes; so does the local
    // cloud, and the jobs resume on new capacity from their latest checkpoints.
    if (!temporary) {
      for (const status of ['InProgress', 'Stopping']) {
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await services.store.list({ sortBy: 'CreationTime', ascending: true, limit: 100, statusEquals: status, ...(startKey ? { startKey } : {}) });
          for (const job of page.jobs) {
            for (const instanceId of job.CurrentInstanceIds.filter((id) => !simulator.instance(id))) {
              log({ level: 'warn', msg: 'instance lost with the previous local cloud: terminated', job: job.TrainingJobName, instanceId });
              await bus.putEvents([
                { Source: 'aws.ec2', DetailType: 'EC2 Instance State-change Notification', Detail: JSON.stringify({ 'instance-id': instanceId, state: 'terminated' }) },
              ]);
            }
          }
          startKey = page.lastKey;
        } while (startKey);
      }
    }

    const idle = async () => {
      for (let quiet = 0; quiet < 2; ) {
        await bus.idle();
        if (inFlight.size) {
          quiet = 0;
          await Promise.allSettled([...inFlight]);
        } else {
          quiet++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };

    return {
      endpoints,
      env: { ...env, SPOT_TRAINING_ENDPOINT: endpoints.api },
      bus,
      simulator,
      settings,
      dataDir,
      idle,
      sweep,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
