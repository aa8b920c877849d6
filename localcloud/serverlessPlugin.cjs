'use strict';
/**
 * `serverless offline start --stage local`: serverless-offline serves the HTTP API from
 * serverless.yml (the `api` function, bundled by serverless-esbuild as a deploy bundles it), and
 * this plugin starts the rest of the local cloud around it — DynamoDB Local, S3 (s3rver) with
 * its object-created notifications, EventBridge PutEvents with rule matching, the simulated EC2,
 * CloudWatch Logs (the training output), the agents and the deadline sweep — the pieces and ports of `npm start`
 * (localcloud/localCloud.ts), wired from serverless.yml by localcloud/serverlessConfig.ts.
 *
 * serverless-offline runs only the HTTP event here. EventBridge, S3 and schedule events would
 * need its companion plugins (the EventBridge one was found defective), so the local cloud
 * delivers those to the same handlers itself, as under `npm start`.
 *
 * Options (after `serverless offline start --stage local`):
 *   --data-dir DIR     keep jobs, objects and logs across restarts (as `npm start -- --data-dir`)
 *   --agent KIND       process (default) or simulated, as `npm start -- --agent`
 *   --local-config F   the simulated world (default localcloud.config.json)
 *   --events-port N, --s3-port N, --dynamodb-port N, --ec2-port N, --logs-port N
 *                      the local cloud's other ports (default 4601-4604 and 4606, as `npm start`);
 *                      the API's is serverless-offline's --httpPort (custom.serverless-offline: 4600)
 */
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const STAGE = 'local';

class SpotTrainingLocalCloud {
  constructor(serverless, options, utils) {
    this.serverless = serverless;
    this.options = options;
    this.log = utils?.log ?? console;
    this.cloud = undefined;
    this.commands = {
      offline: {
        commands: {
          start: {
            options: {
              'data-dir': { usage: 'Keep the local cloud state (jobs, objects, logs) in this folder', type: 'string' },
              agent: { usage: 'What runs on a simulated instance: process (default) or simulated', type: 'string' },
              'local-config': { usage: 'The simulated world (default localcloud.config.json)', type: 'string' },
              'events-port': { usage: 'EventBridge PutEvents port (default 4601)', type: 'string' },
              's3-port': { usage: 'S3 port (default 4602)', type: 'string' },
              'dynamodb-port': { usage: 'DynamoDB Local port (default 4603)', type: 'string' },
              'ec2-port': { usage: 'Simulated EC2 port (default 4604)', type: 'string' },
              'logs-port': { usage: 'CloudWatch Logs port (default 4606)', type: 'string' },
            },
          },
        },
      },
    };
    // serverless-localstack points the Framework's own AWS calls at LocalStack for the `local`
    // stage; `serverless offline` makes none and runs no LocalStack, so it stands aside.
    if (serverless.processedInput?.commands?.[0] === 'offline') {
      const localstack = serverless.pluginManager.plugins.find((p) => p.constructor.name === 'LocalstackPlugin');
      if (localstack?.config) localstack.config.stages = [];
    }
    this.hooks = {
      // `serverless offline start` has init/ready/end; `serverless offline` only its own hook.
      'before:offline:start:init': () => this.start(),
      'before:offline:start': () => this.start(),
      'offline:start:end': () => this.stop(),
    };
  }

  stage() {
    return this.options.stage ?? this.serverless.service.provider.stage;
  }

  async start() {
    if (this.cloud) return;
    if (this.stage() !== STAGE) {
      throw new Error(`serverless offline runs the local cloud for --stage ${STAGE} only (got '${this.stage()}'): other stages are AWS or LocalStack, deploy them instead`);
    }
    const offline = this.serverless.service.custom?.['serverless-offline'] ?? {};
    const apiPort = Number(this.options.httpPort ?? offline.httpPort);
    if (!Number.isInteger(apiPort) || apiPort <= 0) throw new Error('custom.serverless-offline.httpPort must be set to the local API port (4600)');
    const ports = { api: apiPort };
    for (const name of ['events', 's3', 'dynamodb', 'ec2', 'logs']) {
      const given = this.options[`${name}-port`];
      if (given === undefined) continue;
      const port = Number(given);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--${name}-port must be a port number, got '${given}'`);
      ports[name] = port;
    }
    const agent = this.options.agent ?? 'process';
    if (agent !== 'process' && agent !== 'simulated') throw new Error(`--agent must be process or simulated, not '${agent}'`);
    // As `npm start` sets them before the handlers are first imported.
    process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { register } = await import('tsx/esm/api');
    register();
    const root = this.serverless.serviceDir ?? this.serverless.config.servicePath;
    const { startLocalCloud } = await import(pathToFileURL(join(root, 'localcloud', 'localCloud.ts')).href);
    const started = Date.now();
    this.cloud = await startLocalCloud({
      api: 'external',
      ports,
      agent,
      serverlessFile: join(root, 'serverless.yml'),
      ...(this.options['data-dir'] ? { dataDir: this.options['data-dir'] } : {}),
      ...(this.options['local-config'] ? { settingsFile: this.options['local-config'] } : {}),
      log: (entry) => {
        if (entry.level === 'error' || entry.level === 'warn') process.stderr.write(`${JSON.stringify(entry)}\n`);
      },
    });
    // Should serverless-offline fail to start, the local cloud goes too (else its servers keep
    // the process alive after the error).
    for (const entry of this.serverless.pluginManager.hooks['offline:start:init'] ?? []) {
      if (entry.pluginName !== 'ServerlessOffline') continue;
      const original = entry.hook;
      entry.hook = async (...args) => {
        try {
          return await original(...args);
        } catch (error) {
          await this.stop();
          throw error;
        }
      };
    }
    // The API handler runs in serverless-offline's worker with provider.environment and the
    // AWS_* variables of this process (which startLocalCloud set): the local cloud's values
    // replace serverless.yml's, and CloudFormation values (Fn::GetAtt) that exist only on AWS go.
    const environment = this.serverless.service.provider.environment ?? {};
    for (const [key, value] of Object.entries(environment)) if (value !== null && typeof value === 'object') delete environment[key];
    for (const [key, value] of Object.entries(this.cloud.env)) if (!key.startsWith('AWS_')) environment[key] = value;
    this.serverless.service.provider.environment = environment;
    const e = this.cloud.endpoints;
    process.stdout.write(
      [
        `spot-training local cloud is up (${Date.now() - started} ms), data in ${this.cloud.dataDir}; serverless-offline serves the API`,
        '',
        `  API (SageMaker JSON protocol)  ${e.api}   (serverless-offline)`,
        `  EventBridge (PutEvents)        ${e.events}`,
        `  S3                             ${e.s3}`,
        `  DynamoDB                       ${e.dynamodb}`,
        `  EC2 (simulated)                ${e.ec2}`,
        `  CloudWatch (metrics)           ${e.cloudwatch}`,
        `  CloudWatch Logs                ${e.logs}   (training output: /aws/sagemaker/TrainingJobs)`,
        `  Console                        npx spotctl console`,
        '',
        `  export AWS_ACCESS_KEY_ID=${this.cloud.env.AWS_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${this.cloud.env.AWS_SECRET_ACCESS_KEY} AWS_REGION=${this.cloud.env.AWS_REGION} AWS_DEFAULT_REGION=${this.cloud.env.AWS_DEFAULT_REGION}`,
        '',
      ].join('\n'),
    );
  }

  async stop() {
    const cloud = this.cloud;
    this.cloud = undefined;
    if (cloud) await cloud.stop();
  }
}

module.exports = SpotTrainingLocalCloud;
