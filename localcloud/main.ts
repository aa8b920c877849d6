import { parseArgs } from 'node:util';

/**
 * `npm start`: the local cloud in the foreground, until Ctrl-C.
 *   --data-dir <dir>   keep state across restarts
 *   --config <file>    the simulated world (default localcloud.config.json)
 *   --agent <kind>     what runs on a simulated instance: `process` (the real agent and the
 *                      job's command, default) or `simulated` (steps counted, no command run)
 *   --verbose          the handlers' structured logs and metrics on stdout
 */
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    config: { type: 'string' },
    agent: { type: 'string', default: 'process' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('Usage: npm start -- [--data-dir <dir>] [--config <file>] [--agent process|simulated] [--verbose]\n');
  process.exit(0);
}
if (values.agent !== 'process' && values.agent !== 'simulated') {
  process.stderr.write(`--agent must be process or simulated, not '${values.agent}'\n`);
  process.exit(2);
}
// The handlers' logger and metrics read these when they are first imported.
process.env.POWERTOOLS_LOG_LEVEL ??= values.verbose ? 'INFO' : 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED ??= values.verbose ? 'false' : 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { startLocalCloud } = await import('./localCloud.js');
const started = Date.now();
const cloud = await startLocalCloud({
  // Quiet by default: only problems; --verbose shows every request the simulators serve.
  log: (entry) => {
    if (values.verbose || entry.level === 'error' || entry.level === 'warn') process.stderr.write(`${JSON.stringify(entry)}\n`);
  },
  ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  ...(values.config ? { settingsFile: values.config } : {}),
  agent: values.agent,
});
const e = cloud.endpoints;
process.stdout.write(
  [
    `spot-training local cloud is up (${Date.now() - started} ms), data in ${cloud.dataDir}`,
    '',
    `  API (SageMaker JSON protocol)  ${e.api}`,
    `  EventBridge (PutEvents)        ${e.events}`,
    `  S3                             ${e.s3}`,
    `  DynamoDB                       ${e.dynamodb}`,
    `  EC2 (simulated)                ${e.ec2}`,
    `  CloudWatch (metrics)           ${e.cloudwatch}`,
    `  CloudWatch Logs                ${e.logs}   (training output: /aws/sagemaker/TrainingJobs)`,
    `  Console (a browser)            ${e.api}/console/`,
    '',
    // AWS CLI v1 reads only AWS_DEFAULT_REGION, the SDKs and CLI v2 AWS_REGION first: both, so that either works.
    'For the AWS CLI and SDKs in another shell:',
    `  export AWS_ACCESS_KEY_ID=${cloud.env.AWS_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${cloud.env.AWS_SECRET_ACCESS_KEY} AWS_REGION=${cloud.env.AWS_REGION} AWS_DEFAULT_REGION=${cloud.env.AWS_DEFAULT_REGION}`,
    `  aws sagemaker list-training-jobs --endpoint-url ${e.api}`,
    `  aws events put-events --endpoint-url ${e.events} --entries file://interruption.json`,
    `  aws s3 ls --endpoint-url ${e.s3} s3://${cloud.env.CONTROL_BUCKET}/`,
    `  aws logs describe-log-streams --endpoint-url ${e.logs} --log-group-name /aws/sagemaker/TrainingJobs --log-stream-name-prefix <job>/`,
    'For spotctl (and spotctl console) in another shell, the same endpoints:',
    `  export AWS_ENDPOINT_URL_EVENTBRIDGE=${e.events} AWS_ENDPOINT_URL_S3=${e.s3} AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=${e.logs}`,
    '',
    'Run a demo job through an interruption:  npm run demo',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('stopping…\n');
  await cloud.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
