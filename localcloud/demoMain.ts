import { parseArgs } from 'node:util';

/**
 * `npm run demo`: runs the demo against the local cloud of `npm start`, or, when none is
 * running (or with --embedded), against one of its own on free ports.
 */
const { values } = parseArgs({ options: { embedded: { type: 'boolean', default: false }, api: { type: 'string' }, events: { type: 'string' } } });
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { DEFAULT_PORTS, LOCAL_CREDENTIALS, startLocalCloud } = await import('./localCloud.js');
const { runDemo } = await import('./demo.js');

let api = values.api ?? `http://127.0.0.1:${DEFAULT_PORTS.api}`;
let events = values.events ?? `http://127.0.0.1:${DEFAULT_PORTS.events}`;
const running = !values.embedded && (await fetch(api, { method: 'POST' }).then(() => true, () => false));
let stop: (() => Promise<void>) | undefined;
if (!running) {
  process.stdout.write('no local cloud at the default endpoints: starting one for the demo\n');
  const cloud = await startLocalCloud({ ports: { api: 0, events: 0, s3: 0, dynamodb: 0, ec2: 0, logs: 0 }, agent: 'process', log: () => undefined });
  ({ api, events } = cloud.endpoints);
  stop = cloud.stop;
}
try {
  const job = await runDemo({ api, events, credentials: LOCAL_CREDENTIALS });
  process.exitCode = job.TrainingJobStatus === 'Completed' ? 0 : 1;
} finally {
  await stop?.();
}
