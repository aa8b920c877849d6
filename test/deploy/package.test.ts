import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_GROUP } from '../../cli/context.js';
import { tableDefinition } from '../../shared/store/table.js';

/**
 * `serverless package` for AWS (prod) and LocalStack (local), offline, and what the generated
 * CloudFormation must say: least privilege, a hardened bucket and table, a dead-letter queue
 * and retry policy on every event target, IAM authorization on the API; cfn-lint finds no error.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ACCOUNT = '123456789012';
const FUNCTIONS = ['api', 'spotInterruptionWarning', 'rebalanceRecommendation', 'instanceStateChange', 's3ObjectCreated', 'deadlineSweep'];

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json; Condition?: string; DependsOn?: unknown; DeletionPolicy?: string };
type Template = { Resources: Record<string, Resource>; Conditions?: Json; Outputs?: Json };
type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource?: unknown; Condition?: Json; Principal?: unknown };

interface Packaged {
  stage: string;
  dir: string;
  output: string;
  status: number | null;
  template: Template;
  lint: { status: number | null; output: string };
}

const STAGES: Record<string, string[]> = {
  prod: [
    `--param=accountId=${ACCOUNT}`,
    '--param=vpcId=vpc-0123456789abcdef0',
    '--param=subnetIds=subnet-0123456789abcdef0,subnet-0fedcba9876543210',
    '--param=imageId=ami-0123456789abcdef0',
    '--param=allowedBuckets=spot-training-data,spot-training-archive',
    '--param=alarmEmail=ops@example.com',
  ],
  local: ['--param=localstackDebug=true'],
};

/** Runs a command without blocking the test worker (vitest's RPC must keep answering). */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = (error as { code?: unknown } | null)?.code;
      resolve({ status: error ? (typeof code === 'number' ? code : null) : 0, stdout, stderr });
    });
  });
}

async function packageStage(stage: string): Promise<Packaged> {
  const dir = mkdtempSync(join(tmpdir(), `spot-training-package-${stage}-`));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (/^(AWS_|LOCALSTACK_|EDGE_PORT|SLS_)/.test(key)) delete env[key];
  Object.assign(env, {
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_REGION: 'us-east-1',
    AWS_SDK_LOAD_CONFIG: '0',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });
  // serverless-esbuild hangs forever on a build error: never without a timeout.
  const packaging = await run('timeout', ['300', 'npx', 'serverless', 'package', '--stage', stage, '--region', 'us-east-1', '--package', dir, ...(STAGES[stage] ?? [])], { cwd: ROOT, env });
  const output = `${packaging.stdout}\n${packaging.stderr}`;
  const templateFile = join(dir, 'cloudformation-template-update-stack.json');
  let template: Template = { Resources: {} };
  let lint = { status: null as number | null, output: '' };
  if (packaging.status === 0) {
    template = JSON.parse(readFileSync(templateFile, 'utf8')) as Template;
    const linted = await run('cfn-lint', ['--format', 'parseable', templateFile], { timeout: 120_000 });
    lint = { status: linted.status, output: `${linted.stdout}${linted.stderr}` };
  }
  return { stage, dir, output, status: packaging.status, template, lint };
}

const packaged: Record<string, Packaged> = {};

beforeAll(async () => {
  // One after the other: both builds share the project's .esbuild work folder.
  for (const stage of Object.keys(STAGES)) packaged[stage] = await packageStage(stage);
}, 700_000);

afterAll(() => {
  for (const p of Object.values(packaged)) rmSync(p.dir, { recursive: true, force: true });
});

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const getAttName = (value: unknown): string | undefined => {
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  return getAtt?.[0];
};

/** Every statement of every identity policy in the template (roles' inline policies, managed policies). */
function identityStatements(t: Template): { owner: string; statement: Statement }[] {
  const found: { owner: string; statement: Statement }[] = [];
  const unwrap = (s: unknown): Statement[] => {
    const fnIf = (s as { 'Fn::If'?: [string, unknown, unknown] })['Fn::If'];
    if (fnIf) return [...unwrap(fnIf[1]), ...unwrap(fnIf[2])];
    if ((s as { Ref?: string }).Ref === 'AWS::NoValue') return [];
    return [s as Statement];
  };
  for (const [name, r] of Object.entries(t.Resources)) {
    const documents: unknown[] = [];
    if (r.Type === 'AWS::IAM::Role') for (const p of asArray(r.Properties?.Policies as { PolicyDocument: unknown }[])) documents.push(p.PolicyDocument);
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') documents.push(r.Properties?.PolicyDocument);
    for (const d of documents) for (const s of asArray((d as { Statement: unknown[] }).Statement)) for (const u of unwrap(s)) found.push({ owner: name, statement: u });
  }
  return found;
}

describe.each(Object.keys(STAGES))('serverless package --stage %s', (stage) => {
  const p = () => packaged[stage]!;

  it('packages offline', () => {
    expect(p().status, p().output.slice(-3000)).toBe(0);
    expect(Object.keys(p().template.Resources).length).toBeGreaterThan(40);
  });

  it('cfn-lint reports no error', () => {
    expect(p().lint.status, 'cfn-lint ran').not.toBeNull();
    const errors = p().lint.output.split('\n').filter((line) => /:E\d{4}:/.test(line) || /^E\d{4}/.test(line));
    expect(errors).toEqual([]);
    // cfn-lint's exit code is a bit mask: 2 means errors (4 and 8 are warnings and notes).
    expect((p().lint.status ?? 1) & 2).toBe(0);
  });

  it('grants no "*" action, and no "*" resource to a DynamoDB or S3 action', () => {
    const statements = identityStatements(p().template).filter(({ statement }) => statement.Effect === 'Allow');
    expect(statements.length).toBeGreaterThan(30);
    for (const { owner, statement } of statements) {
      const actions = asArray(statement.Action);
      for (const action of actions) expect(action === '*' || action.endsWith(':*'), `${owner} ${statement.Sid}: ${action}`).toBe(false);
      if (asArray(statement.Resource).includes('*')) {
        for (const action of actions) expect(/^(dynamodb|s3):/.test(action), `${owner} ${statement.Sid}: ${action} on *`).toBe(false);
        // EC2's Describe* actions, ECR's GetAuthorizationToken and CloudWatch's PutMetricData have
        // no resource-level permissions: the only "*" resources there are, PutMetricData bound to one namespace.
        for (const action of actions) expect(action, `${owner} ${statement.Sid}`).toMatch(/^(ec2:Describe|ecr:GetAuthorizationToken$|cloudwatch:PutMetricData$)/);
        if (actions.includes('cloudwatch:PutMetricData')) expect(statement.Condition, `${owner} ${statement.Sid}`).toEqual({ StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } });
      }
    }
  });

  it('gives every function a role of its own and no shared default role', () => {
    const t = p().template;
    const functions = ofType(t, 'AWS::Lambda::Function');
    expect(functions.map(([name]) => name).sort()).toEqual(FUNCTIONS.map((f) => `${f[0]!.toUpperCase()}${f.slice(1)}LambdaFunction`).sort());
    const roles = functions.map(([, fn]) => getAttName(fn.Properties?.Role));
    for (const role of roles) expect(t.Resources[role ?? '']?.Type).toBe('AWS::IAM::Role');
    expect(new Set(roles).size).toBe(functions.length);
    expect(t.Resources.IamRoleLambdaExecution).toBeUndefined();
    // Each role may write logs only to its own function's log group.
    for (const [name, fn] of functions) {
      const role = t.Resources[getAttName(fn.Properties?.Role)!]!;
      const logs = identityStatements({ Resources: { role } }).filter(({ statement }) => asArray(statement.Action).some((a) => a.startsWith('logs:')));
      expect(JSON.stringify(logs.map(({ statement }) => statement.Resource)), name).toContain(`log-group:/aws/lambda/${fn.Properties?.FunctionName}:*`);
    }
  });

  it('lets each function do only what it does', () => {
    const t = p().template;
    const actionsOf = (fn: string) => {
      const role = getAttName(t.Resources[`${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`]!.Properties?.Role)!;
      return new Set(identityStatements({ Resources: { role: t.Resources[role]! } }).flatMap(({ statement }) => asArray(statement.Action)));
    };
    expect(actionsOf('api').has('dynamodb:DeleteItem')).toBe(true);
    // The API reads checkpoint folders (a new job may start from a finished one's checkpoint), never the agent protocol.
    const apiReads = identityStatements(t)
      .filter(({ owner, statement }) => owner === 'ApiRole' && asArray(statement.Action).includes('s3:GetObject'))
      .flatMap(({ statement }) => asArray(statement.Resource).map((r) => JSON.stringify(r)));
    expect(apiReads.length).toBeGreaterThan(0);
    for (const resource of apiReads) expect(resource).not.toMatch(/\/(control|reports|logs)\/\*/);
    expect(actionsOf('s3ObjectCreated').has('s3:GetObject')).toBe(true);
    expect(actionsOf('deadlineSweep').has('dynamodb:DeleteItem')).toBe(false);
    expect(actionsOf('instanceStateChange').has('ec2:DescribeSpotPriceHistory')).toBe(true);
    expect(actionsOf('spotInterruptionWarning').has('ec2:DescribeSpotPriceHistory')).toBe(false);
    for (const fn of FUNCTIONS) {
      const actions = actionsOf(fn);
      expect([...actions].filter((a) => !/^(logs|dynamodb|s3|ec2|iam|sqs):/.test(a)), fn).toEqual([]);
      // iam:PassRole only for the training instances' role, only to EC2.
      const passRole = identityStatements(t).find(({ owner, statement }) => owner.toLowerCase() === `${fn}role`.toLowerCase() && asArray(statement.Action).includes('iam:PassRole'));
      expect(getAttName(passRole?.statement.Resource), fn).toBe('TrainingInstanceRole');
      expect(passRole?.statement.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
    }
    // Index queries only on the indexes each function reads.
    const queries = (fn: string) =>
      identityStatements(t)
        .filter(({ owner, statement }) => owner.toLowerCase() === `${fn}role`.toLowerCase() && asArray(statement.Action).includes('dynamodb:Query'))
        .flatMap(({ statement }) => asArray(statement.Resource).map((r) => JSON.stringify(r)));
    expect(queries('api').join()).toMatch(/ByCreationTime.*ByName.*ByStatus/);
    expect(queries('api').join()).not.toContain('ByDeadline');
    expect(queries('deadlineSweep')).toEqual([JSON.stringify({ 'Fn::Sub': '${JobsTable.Arn}/index/ByDeadline' })]);
    expect(queries('s3ObjectCreated')).toEqual([]);
  });

  it('hardens every bucket: public access blocked, encrypted, TLS only', () => {
    const t = p().template;
    const buckets = ofType(t, 'AWS::S3::Bucket');
    expect(buckets.map(([name]) => name).sort()).toEqual(['S3BucketControlBucket', 'ServerlessDeploymentBucket']);
    const policies = ofType(t, 'AWS::S3::BucketPolicy');
    for (const [name, bucket] of buckets) {
      expect(bucket.Properties?.PublicAccessBlockConfiguration, name).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      const encryption = (bucket.Properties?.BucketEncryption as { ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string } }[] })
        .ServerSideEncryptionConfiguration;
      expect(['AES256', 'aws:kms']).toContain(encryption[0]?.ServerSideEncryptionByDefault.SSEAlgorithm);
      const policy = policies.find(([, r]) => (r.Properties?.Bucket as { Ref?: string }).Ref === name);
      expect(policy, `${name} has a bucket policy`).toBeDefined();
      const denyPlainHttp = asArray((policy![1].Properties?.PolicyDocument as { Statement: Statement[] }).Statement).find(
        (s) => s.Effect === 'Deny' && [false, 'false'].includes((s.Condition as { Bool?: Record<string, unknown> } | undefined)?.Bool?.['aws:SecureTransport'] as string),
      );
      expect(denyPlainHttp, `${name} refuses requests without TLS`).toBeDefined();
      expect(asArray(denyPlainHttp!.Action)).toContain('s3:*');
    }
  });

  it('expires control objects and agent reports of the control bucket', () => {
    const control = p().template.Resources.S3BucketControlBucket!;
    expect(control.Properties?.BucketName).toMatch(new RegExp(`^spot-training-${stage}-\\d{12}-control$`));
    const rules = (control.Properties?.LifecycleConfiguration as { Rules: { Prefix?: string; ExpirationInDays?: number; Status: string }[] }).Rules;
    for (const prefix of ['control/', 'reports/']) {
      const rule = rules.find((r) => r.Prefix === prefix);
      expect(rule?.Status, prefix).toBe('Enabled');
      expect(rule?.ExpirationInDays).toBeGreaterThanOrEqual(29);
    }
    expect((control.Properties?.OwnershipControls as { Rules: unknown[] }).Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    // Its notifications go to s3ObjectCreated: reports and manifests.
    const configurations = (control.Properties?.NotificationConfiguration as { LambdaConfigurations: { Function: unknown; Filter: unknown }[] }).LambdaConfigurations;
    expect(configurations).toHaveLength(2);
    for (const c of configurations) expect(getAttName(c.Function)).toBe('S3ObjectCreatedLambdaFunction');
  });

  it('keeps the table as shared/store/table.ts defines it, with PITR, encryption and TTL', () => {
    const table = p().template.Resources.JobsTable!;
    const props = table.Properties as Json;
    const expected = tableDefinition(String(props.TableName));
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(items: T[]) => [...items].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));
    expect(props.TableName).toBe(`spot-training-${stage}-jobs`);
    expect(props.BillingMode).toBe(expected.BillingMode);
    expect(props.KeySchema).toEqual(expected.KeySchema);
    expect(byName(props.AttributeDefinitions as { AttributeName: string }[])).toEqual(byName(expected.AttributeDefinitions as { AttributeName: string }[]));
    expect(byName(props.GlobalSecondaryIndexes as { IndexName: string }[])).toEqual(byName(expected.GlobalSecondaryIndexes as { IndexName: string }[]));
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'ExpiresAt', Enabled: true });
    // Deletion protection and Retain outside `local`.
    expect(props.DeletionProtectionEnabled).toBe(stage !== 'local');
    expect(table.DeletionPolicy).toBe(stage === 'local' ? 'Delete' : 'Retain');
  });

  it('puts a retry policy and a dead-letter queue on every EventBridge target', () => {
    const t = p().template;
    const rules = ofType(t, 'AWS::Events::Rule');
    // The three EC2 rules, the deadline schedule and the checkpoint manifests of the allowed buckets.
    expect(rules).toHaveLength(5);
    for (const [name, rule] of rules) {
      const targets = asArray(rule.Properties?.Targets as { RetryPolicy?: Json; DeadLetterConfig?: { Arn: unknown } }[]);
      expect(targets.length, name).toBeGreaterThan(0);
      for (const target of targets) {
        expect(target.RetryPolicy, name).toEqual({ MaximumEventAgeInSeconds: expect.any(Number), MaximumRetryAttempts: expect.any(Number) });
        const dlq = getAttName(target.DeadLetterConfig?.Arn);
        expect(t.Resources[dlq ?? '']?.Type, `${name} dead-letters to a queue of the stack`).toBe('AWS::SQS::Queue');
      }
    }
    // EventBridge may send to the dead-letter queue, and only this stack's rules.
    const queuePolicy = ofType(t, 'AWS::SQS::QueuePolicy').find(([, r]) => JSON.stringify(r.Properties?.Queues).includes('EventDeliveryDLQ'));
    const allow = asArray((queuePolicy?.[1].Properties?.PolicyDocument as { Statement: Statement[] }).Statement).find((s) => s.Effect === 'Allow');
    expect(allow?.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(JSON.stringify(allow?.Condition)).toContain(`rule/spot-training-${stage}-*`);
    // The asynchronous invocations fail over to a queue as well.
    for (const [name, config] of ofType(t, 'AWS::Lambda::EventInvokeConfig')) {
      expect(getAttName((config.Properties?.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure.Destination), name).toBe('FailedEventsDLQ');
    }
    expect(ofType(t, 'AWS::Lambda::EventInvokeConfig')).toHaveLength(FUNCTIONS.length - 1);
  });

  it('routes S3 "Object Created" events of the allowed buckets to s3ObjectCreated', () => {
    const rule = p().template.Resources.CheckpointManifestRule!;
    expect(rule.Condition).toBe('HasCheckpointBuckets');
    expect(rule.Properties?.EventPattern).toMatchObject({ source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { object: { key: [{ suffix: '/manifest.json' }] } } });
    const buckets = stage === 'local' ? 'spot-training-local-data' : 'spot-training-data,spot-training-archive';
    expect((rule.Properties?.EventPattern as { detail: { bucket: { name: unknown } } }).detail.bucket.name).toEqual({ 'Fn::Split': [',', buckets] });
    expect(getAttName((rule.Properties?.Targets as { Arn: unknown }[])[0]?.Arn)).toBe('S3ObjectCreatedLambdaFunction');
  });

  it('authorizes every HTTP API route with IAM', () => {
    const routes = ofType(p().template, 'AWS::ApiGatewayV2::Route');
    expect(routes.length).toBeGreaterThan(0);
    for (const [name, route] of routes) expect(route.Properties?.AuthorizationType, name).toBe('AWS_IAM');
    // LocalStack's community image has no HTTP API: there the API also has a function URL.
    expect(ofType(p().template, 'AWS::Lambda::Url')).toHaveLength(stage === 'local' ? 1 : 0);
  });

  it('alarms on dead-letter queue depth and on every function error', () => {
    const alarms = ofType(p().template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as { Namespace: string; MetricName: string; Dimensions: { Value: unknown }[] });
    const dimension = (a: (typeof alarms)[number]) => JSON.stringify(a.Dimensions[0]?.Value);
    for (const queue of ['EventDeliveryDLQ', 'FailedEventsDLQ']) {
      expect(alarms.some((a) => a.Namespace === 'AWS/SQS' && a.MetricName === 'ApproximateNumberOfMessagesVisible' && dimension(a).includes(queue)), queue).toBe(true);
    }
    for (const fn of FUNCTIONS) {
      const logical = `${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`;
      expect(alarms.some((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === 'Errors' && dimension(a) === JSON.stringify({ Ref: logical })), fn).toBe(true);
    }
    // Checkpoints that fail, stop arriving, never start (an empty folder) or miss their deadline
    for (const metric of ['CheckpointFailed', 'CheckpointOverdue', 'CheckpointFolderEmpty', 'FinalCheckpointLate']) {
      expect(alarms.some((a) => a.Namespace === 'SpotTraining' && a.MetricName === metric && dimension(a) === JSON.stringify('spot-training')), metric).toBe(true);
    }
  });

  it('confines the training instances: S3 under the job prefixes, one log group, one metrics namespace, no inbound traffic', () => {
    const t = p().template;
    const statements = identityStatements({ Resources: { role: t.Resources.TrainingInstanceRole! } }).map(({ statement }) => statement);
    const text = JSON.stringify(statements);
    // S3 and logs; the image pull (ECR) and algo-<n>'s addresses (DescribeInstances) of the container contract; metrics.
    for (const action of statements.flatMap((s) => asArray(s.Action))) expect(action).toMatch(/^(s3:|logs:|ecr:|ec2:DescribeInstances$|cloudwatch:PutMetricData$)/);
    // MetricDefinitions' values go where SageMaker puts them, and nowhere else.
    const metrics = statements.filter((s) => asArray(s.Action).some((a) => String(a).startsWith('cloudwatch:')));
    expect(metrics).toEqual([expect.objectContaining({ Sid: 'TrainingMetrics', Action: 'cloudwatch:PutMetricData', Condition: { StringEquals: { 'cloudwatch:namespace': '/aws/sagemaker/TrainingJobs' } } })]);
    const controlBucket = String(t.Resources.S3BucketControlBucket!.Properties?.BucketName);
    for (const prefix of ['control/*', 'reports/*', 'checkpoints/*', 'output/*']) expect(text).toContain(`${controlBucket}/${prefix}`);
    expect(text).not.toContain(`${controlBucket}/*`);
    // Training output: streams and events in SageMaker's group only, and that group made if it is missing
    const logGroupArn = 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/TrainingJobs';
    const logStatements = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('logs:')));
    expect(logStatements.map((s) => [s.Sid, asArray(s.Action).sort(), s.Resource])).toEqual([
      ['TrainingLogs', ['logs:CreateLogStream', 'logs:PutLogEvents'], { 'Fn::Sub': `${logGroupArn}:log-stream:*` }],
      ['TrainingLogGroup', ['logs:CreateLogGroup'], [{ 'Fn::Sub': logGroupArn }, { 'Fn::Sub': `${logGroupArn}:*` }]],
    ]);
    // The stack does not own the group: an account that ran SageMaker has it already
    expect(ofType(t, 'AWS::Logs::LogGroup').filter(([, r]) => r.Properties?.LogGroupName === '/aws/sagemaker/TrainingJobs')).toEqual([]);
    expect(t.Resources.TrainingInstanceProfile?.Properties?.Roles).toEqual([{ Ref: 'TrainingInstanceRole' }]);
    const group = t.Resources.TrainingSecurityGroup!.Properties!;
    expect(group.SecurityGroupIngress).toBeUndefined();
    if (stage !== 'local') expect(group.SecurityGroupEgress).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 })]);
    // The functions launch with this profile and this group.
    const env = (t.Resources.ApiLambdaFunction!.Properties?.Environment as { Variables: Json }).Variables;
    expect(env.EC2_INSTANCE_PROFILE_ARN).toEqual({ 'Fn::GetAtt': ['TrainingInstanceProfile', 'Arn'] });
    expect(JSON.stringify(env.EC2_SECURITY_GROUP_IDS)).toContain('TrainingSecurityGroup');
  });

  it('builds each function with esbuild into a bundle of its own, the AWS SDK v3 clients inside', () => {
    const t = p().template;
    const sizes: Record<string, { zip: number; code: number }> = {};
    for (const fn of FUNCTIONS) {
      const zip = join(p().dir, `${fn}.zip`);
      const listing = spawnSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).stdout.trim().split('\n');
      expect(listing, fn).toEqual([`functions/${fn}.mjs`]);
      const code = spawnSync('unzip', ['-p', zip, `functions/${fn}.mjs`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout;
      // esbuild's output: our ESM banner, minified, the SDK bundled rather than imported.
      expect(code.startsWith("import { createRequire } from 'module';"), fn).toBe(true);
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      for (const client of ['DynamoDB_20120810', 'AmazonEC2', 'AmazonS3']) expect(code, `${fn} bundles ${client}`).toContain(client);
      sizes[fn] = { zip: statSync(zip).size, code: Buffer.byteLength(code) };
      expect(sizes[fn]!.zip).toBeLessThan(2 * 1024 * 1024);
      const lambda = t.Resources[`${fn[0]!.toUpperCase()}${fn.slice(1)}LambdaFunction`]!;
      expect(lambda.Properties?.Handler).toBe(`functions/${fn}.handler`);
      expect(lambda.Properties?.Runtime).toBe('nodejs22.x');
    }
    console.log(`bundle sizes (${stage}): ${JSON.stringify(sizes)}`);
  });
});

describe('the two stages', () => {
  it('deploys local to LocalStack and prod to AWS', () => {
    expect(packaged.local!.output).toContain('Using serverless-localstack');
    expect(packaged.local!.output).toMatch(/Reconfiguring service cloudformation to use http:\/\/(localhost|127\.0\.0\.1):4566/);
    expect(packaged.local!.output).toContain('serverless-localstack: Reconfigured endpoints');
    expect(packaged.prod!.output).toContain('Skipping serverless-localstack');
    expect(packaged.prod!.output).not.toMatch(/Reconfiguring service/);
  });

  it('gives each stage its own names', () => {
    const env = (stage: string) => (packaged[stage]!.template.Resources.ApiLambdaFunction!.Properties?.Environment as { Variables: Json }).Variables;
    expect(env('prod')).toMatchObject({
      TABLE_NAME: 'spot-training-prod-jobs',
      CONTROL_BUCKET: `spot-training-prod-${ACCOUNT}-control`,
      ALLOWED_BUCKETS: `spot-training-prod-${ACCOUNT}-control,spot-training-data,spot-training-archive`,
      ACCOUNT_ID: ACCOUNT,
      EC2_IMAGE_ID: 'ami-0123456789abcdef0',
      EC2_SUBNET_IDS: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
      PRICE_SOURCE: 'ec2',
    });
    expect(env('local')).toMatchObject({ TABLE_NAME: 'spot-training-local-jobs', CONTROL_BUCKET: 'spot-training-local-000000000000-control', ACCOUNT_ID: '000000000000' });
    // The agents write, and spotctl logs reads, SageMaker's log group on every stage
    expect(env('prod').JOB_LOG_GROUP).toBe(DEFAULT_LOG_GROUP);
    expect(env('local').JOB_LOG_GROUP).toBe('/aws/sagemaker/TrainingJobs');
  });
});
