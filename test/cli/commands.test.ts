import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingJobsClient } from '../../cli/apiClient.js';
import type { JobView } from '../../cli/job.js';
import type { LocalCloud } from '../../localcloud/localCloud.js';
import { jobRequest, spotctl, startCloud, until, userEnv } from './harness.js';

/** Every spotctl command as a real process against a local cloud started here. */
let cloud: LocalCloud;
let api: TrainingJobsClient;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  [cloud, dir] = await Promise.all([startCloud(), mkdtemp(join(tmpdir(), 'spotctl-'))]);
  api = new TrainingJobsClient(cloud.endpoints.api);
  env = userEnv(cloud);
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const COMMANDS = ['create-training-job', 'describe-training-job', 'list-training-jobs', 'stop-training-job', 'delete-training-job', 'watch', 'logs', 'interrupt', 'report'];

describe('spotctl', () => {
  it('--help on every command, and usage errors exit 252', async () => {
    const [top, ...each] = await Promise.all([spotctl(['--help'], env), ...COMMANDS.map((c) => spotctl([c, '--help'], env))]);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c);
    each.forEach((run, i) => {
      expect(run.code, COMMANDS[i]).toBe(0);
      expect(run.stdout).toContain(`Usage: spotctl ${COMMANDS[i]}`);
      expect(run.stdout).toContain('--endpoint-url');
    });
    const [unknownCommand, unknownFlag, missingJob] = await Promise.all([
      spotctl(['describe-jobs'], env),
      spotctl(['list-training-jobs', '--colour'], env),
      spotctl(['watch'], env),
    ]);
    expect(unknownCommand.code).toBe(252);
    expect(unknownCommand.stderr).toContain("unknown command 'describe-jobs'");
    expect(unknownFlag.code).toBe(252);
    expect(unknownFlag.stderr).toContain("Unknown option '--colour'");
    expect(missingJob.code).toBe(252);
    expect(missingJob.stderr).toContain('<job>');
  }, 60_000);

  it('create-training-job from --cli-input-json (the aws sagemaker file, ml. type) and from flags; describe and list', async () => {
    const file = join(dir, 'job.json');
    await writeFile(file, JSON.stringify(jobRequest('cli-from-file', { HyperParameters: { sim_training_seconds: '40' } })));
    const [fromFile, fromFlags] = await Promise.all([
      // A flag overrides the file's value, as in the AWS CLI.
      spotctl(['create-training-job', '--cli-input-json', `file://${file}`, '--max-runtime-in-seconds', '1800'], env),
      spotctl(
        [
          'create-training-job',
          'cli-from-flags',
          '--training-image=train:latest',
          '--instance-type=ml.g5.xlarge',
          '--enable-managed-spot-training',
          '--max-runtime-in-seconds=3600',
          '--max-wait-time-in-seconds=7200',
          '--checkpoint-s3-uri=s3://spot-training-data/checkpoints/cli-from-flags',
          '--output-s3-path=s3://spot-training-data/output',
          '--hyper-parameters',
          'sim_training_seconds=40',
          '--environment',
          'EPOCHS=3',
          '--tags',
          'team=ml',
        ],
        env,
      ),
    ]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toEqual({ TrainingJobArn: 'arn:aws:sagemaker:us-east-1:000000000000:training-job/cli-from-file' });
    expect(fromFlags.code, fromFlags.stderr).toBe(0);

    const described = await spotctl(['describe-training-job', 'cli-from-flags'], env);
    expect(described.code).toBe(0);
    const job = JSON.parse(described.stdout) as JobView & { Environment: Record<string, string>; HyperParameters: Record<string, string> };
    // As submitted; the EC2 type each attempt ran on is in its Attempts
    expect(job.ResourceConfig).toEqual({ InstanceType: 'ml.g5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 });
    expect(job.EnableManagedSpotTraining).toBe(true);
    expect(job.Environment).toEqual({ EPOCHS: '3' });
    expect(job.HyperParameters).toEqual({ sim_training_seconds: '40' });
    const fileJob = JSON.parse((await spotctl(['describe-training-job', '--training-job-name', 'cli-from-file'], env)).stdout) as JobView;
    expect(fileJob.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 1800, MaxWaitTimeInSeconds: 7200 });
    expect(fileJob.ResourceConfig?.InstanceType).toBe('ml.g5.xlarge');

    const [tableRun, jsonRun, filtered] = await Promise.all([
      spotctl(['list-training-jobs'], env),
      spotctl(['list-training-jobs', '--output', 'json', '--page-size', '1'], env),
      spotctl(['list-training-jobs', '--name-contains', 'from-file', '--output', 'json'], env),
    ]);
    expect(tableRun.code).toBe(0);
    const [header, ...rows] = tableRun.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+STATUS\s+SECONDARY STATUS\s+CREATED \(UTC\)\s+DURATION$/);
    expect(rows.map((r) => r.split(/\s+/)[0]).sort()).toEqual(expect.arrayContaining(['cli-from-file', 'cli-from-flags']));
    // Every page, one job per request.
    const listed = JSON.parse(jsonRun.stdout) as { TrainingJobSummaries: { TrainingJobName: string }[] };
    expect(listed.TrainingJobSummaries.map((s) => s.TrainingJobName)).toEqual(expect.arrayContaining(['cli-from-file', 'cli-from-flags']));
    expect((JSON.parse(filtered.stdout) as typeof listed).TrainingJobSummaries.map((s) => s.TrainingJobName)).toEqual(['cli-from-file']);
  }, 60_000);

  it("errors read like SageMaker's through the AWS CLI, name the field, and exit 254; an unreachable endpoint exits 255", async () => {
    const [invalid, unknownField, missing, unreachable] = await Promise.all([
      spotctl(['create-training-job', 'cli-bad', '--training-image=train:latest', '--instance-type=g5.xlarge', '--enable-managed-spot-training', '--max-runtime-in-seconds=3600', '--max-wait-time-in-seconds=60', '--output-s3-path=s3://spot-training-data/output'], env),
      spotctl(['create-training-job', '--cli-input-json', JSON.stringify({ ...jobRequest('cli-bad-2'), InputDataConfigs: [] })], env),
      spotctl(['describe-training-job', 'no-such-job'], env),
      spotctl(['list-training-jobs', '--endpoint-url', `http://127.0.0.1:${await closedPort()}`], env),
    ]);
    expect(invalid.code).toBe(254);
    expect(invalid.stderr).toContain('An error occurred (ValidationException) when calling the CreateTrainingJob operation: ');
    expect(invalid.stderr).toContain('MaxWaitTimeInSeconds');
    expect(unknownField.code).toBe(254);
    expect(unknownField.stderr).toMatch(/ValidationException.*Unknown field 'InputDataConfigs'/);
    expect(missing.code).toBe(254);
    expect(missing.stderr).toMatch(/An error occurred \(ValidationException\) when calling the DescribeTrainingJob operation: Requested resource not found.*no-such-job/);
    expect(unreachable.code).toBe(255);
    expect(unreachable.stderr).toMatch(/Could not connect to the endpoint URL: "http:\/\/127\.0\.0\.1:\d+" \(ECONNREFUSED\)\. Is the local cloud running \(npm start\)\?/);
  }, 60_000);

  it('logs: every attempt and instance from the local cloud, and --follow until the job ends', async () => {
    await api.call('CreateTrainingJob', jobRequest('cli-logs', { HyperParameters: { sim_training_seconds: '160' } }));
    await until(api, 'cli-logs', (j) => j.SecondaryStatus === 'Training');
    const followed = await spotctl(['logs', 'cli-logs', '--follow', '--interval', '0.3'], env);
    expect(followed.code, followed.stderr).toBe(0);
    const done = await until(api, 'cli-logs', (j) => j.TrainingJobStatus === 'Completed', 5_000);
    expect(done.Attempts).toHaveLength(1);
    const lines = followed.stdout.trimEnd().split('\n');
    // SageMaker's stream, <job>/algo-1-<epoch seconds>, shown without the job; the event's time; the line
    expect(lines[0]).toMatch(/^\[algo-1-\d{10}\] \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z no checkpoint to restore; starting from step 0$/);
    // Each line once, in order, through to the end.
    const steps = lines.map((l) => /step (\d+)\/160$/.exec(l)?.[1]).filter(Boolean).map(Number);
    expect(steps).toEqual(Array.from({ length: 160 }, (_, i) => i + 1));
    expect(lines.at(-1)).toMatch(/training completed after 160 steps$/);
    expect(followed.stderr).toContain('cli-logs ended Completed');

    const again = await spotctl(['logs', 'cli-logs'], env);
    expect(again.stdout).toBe(followed.stdout);
    const none = await spotctl(['logs', 'cli-logs', '--attempt', '2'], env);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no training output for cli-logs');
  }, 60_000);

  it('stop-training-job, watched to Stopped (exit 11), then delete-training-job', async () => {
    await api.call('CreateTrainingJob', jobRequest('cli-stop', { HyperParameters: { sim_training_seconds: '100000' } }));
    await until(api, 'cli-stop', (j) => j.SecondaryStatus === 'Training');
    const inProgressDelete = await spotctl(['delete-training-job', 'cli-stop'], env);
    expect(inProgressDelete.code).toBe(254);
    expect(inProgressDelete.stderr).toContain('when calling the DeleteTrainingJob operation');
    const stopped = await spotctl(['stop-training-job', 'cli-stop'], env);
    expect(stopped.code, stopped.stderr).toBe(0);
    const watched = await spotctl(['watch', 'cli-stop', '--interval', '0.2'], env);
    expect(watched.code).toBe(11);
    expect(watched.stdout).toMatch(/cli-stop Stopped after/);
    const deleted = await spotctl(['delete-training-job', 'cli-stop'], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await spotctl(['describe-training-job', 'cli-stop'], env);
    expect(gone.code).toBe(254);
    expect(gone.stderr).toContain('Requested resource not found');
  }, 60_000);

  it('watch exits 13 when MaxWaitTimeInSeconds runs out without capacity, and 14 on --timeout', async () => {
    await api.call('CreateTrainingJob', jobRequest('cli-no-capacity', { ResourceConfig: { InstanceType: 'p3.2xlarge', InstanceCount: 1 }, StoppingCondition: { MaxRuntimeInSeconds: 3, MaxWaitTimeInSeconds: 3 } }));
    await api.call('CreateTrainingJob', jobRequest('cli-long', { HyperParameters: { sim_training_seconds: '100000' } }));
    const [noCapacity, timedOut] = await Promise.all([
      spotctl(['watch', 'cli-no-capacity', '--interval', '0.2'], env),
      spotctl(['watch', 'cli-long', '--interval', '0.2', '--timeout', '1'], env),
    ]);
    expect(noCapacity.code).toBe(13);
    expect(noCapacity.stdout).toContain('Stopped (MaxWaitTimeExceeded)');
    expect(timedOut.code).toBe(14);
    expect(timedOut.stderr).toContain('cli-long is still InProgress');
    await api.call('StopTrainingJob', { TrainingJobName: 'cli-long' });
  }, 60_000);
});
