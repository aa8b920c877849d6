import { describe, expect, it } from 'vitest';
import { Context, isLocalUrl, LOCAL_CREDENTIALS, sigV4Signer } from '../../cli/context.js';
import { applyCreateFlags } from '../../cli/createInput.js';
import { numberFlag } from '../../cli/flags.js';
import { escapeHtml } from '../../cli/report.js';
import { endingExitCode, type JobView } from '../../cli/job.js';
import { LOCAL_CREDENTIALS as CLOUD_CREDENTIALS } from '../../localcloud/localCloud.js';

describe('spotctl pieces', () => {
  it("uses the local cloud's key pair", () => {
    expect(LOCAL_CREDENTIALS).toEqual(CLOUD_CREDENTIALS);
  });

  it('tells local endpoints from AWS', () => {
    expect(isLocalUrl('http://127.0.0.1:4600')).toBe(true);
    expect(isLocalUrl('http://localhost:4566/restapis')).toBe(true);
    expect(isLocalUrl('https://abc123.execute-api.eu-west-1.amazonaws.com')).toBe(false);
    const ctx = new Context({}, { SPOT_TRAINING_ENDPOINT: 'https://abc123.execute-api.eu-west-1.amazonaws.com/' });
    expect(ctx.local).toBe(false);
    expect(ctx.region).toBe('eu-west-1');
    expect(ctx.eventSource()).toBe('spot-training.synthetic');
    expect(ctx.endpointFor('events')).toBeUndefined();
    const local = new Context({}, {});
    expect(local.apiEndpoint).toBe('http://127.0.0.1:4600');
    expect(local.eventSource()).toBe('aws.ec2');
    expect(local.endpointFor('s3')).toBe('http://127.0.0.1:4602');
    // Training output is read where SageMaker puts it, from the local cloud's CloudWatch Logs or AWS's
    expect(local.endpointFor('logs')).toBe('http://127.0.0.1:4606');
    expect(ctx.endpointFor('logs')).toBeUndefined();
    expect(local.logGroup()).toBe('/aws/sagemaker/TrainingJobs');
  });

  it('falls back to the local key pair only for local endpoints with nothing configured', async () => {
    await expect(new Context({}, {}).credentials()()).resolves.toEqual(LOCAL_CREDENTIALS);
    const configured = new Context({}, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });
    expect(configured.credentials()).not.toBe(undefined);
  });

  it('signs API requests with SigV4 for execute-api', async () => {
    const sign = sigV4Signer('eu-west-1', async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'token' }));
    const headers = await sign({
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'SageMaker.ListTrainingJobs' },
      body: '{}',
    });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-security-token']).toBe('token');
    expect(headers['x-amz-content-sha256']).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    expect(headers.host).toBeUndefined();
  });

  it('merges flags over --cli-input-json as the AWS CLI does', () => {
    const merged = applyCreateFlags(
      { TrainingJobName: 'a', ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 2 }, Tags: [{ Key: 'x', Value: '1' }] },
      { 'instance-type': 'g4dn.xlarge', 'max-runtime-in-seconds': '60', 'instance-count': 'three', tags: ['team=ml,owner=me'], environment: ['A=b=c'] },
      'b',
    );
    expect(merged).toEqual({
      TrainingJobName: 'b',
      ResourceConfig: { InstanceType: 'g4dn.xlarge', InstanceCount: 'three' },
      StoppingCondition: { MaxRuntimeInSeconds: 60 },
      Tags: [{ Key: 'x', Value: '1' }, { Key: 'team', Value: 'ml' }, { Key: 'owner', Value: 'me' }],
      Environment: { A: 'b=c' },
    });
  });

  it('exit codes by ending, and HTML escaping', () => {
    const job = (TrainingJobStatus: string, SecondaryStatus: string) => ({ TrainingJobStatus, SecondaryStatus }) as JobView;
    expect(endingExitCode(job('Completed', 'Completed'))).toBe(0);
    expect(endingExitCode(job('Failed', 'Failed'))).toBe(10);
    expect(endingExitCode(job('Stopped', 'Stopped'))).toBe(11);
    expect(endingExitCode(job('Stopped', 'MaxRuntimeExceeded'))).toBe(12);
    expect(endingExitCode(job('Stopped', 'MaxWaitTimeExceeded'))).toBe(13);
    expect(escapeHtml(`<script>"x"&'y'</script>`)).toBe('&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;');
  });

  it('reads a number flag, and names the flag and what it counts when it is wrong', () => {
    expect(numberFlag({ interval: '0.5' }, 'interval', { unit: 'seconds', min: 0.05 })).toBe(0.5);
    expect(numberFlag({}, 'interval', { unit: 'seconds', min: 0.05 })).toBeUndefined();
    expect(() => numberFlag({ interval: '0.01' }, 'interval', { unit: 'seconds', min: 0.05 })).toThrow("--interval must be a number ≥ 0.05 (seconds), got '0.01'");
    expect(() => numberFlag({ 'max-items': '2.5' }, 'max-items', { unit: 'jobs', min: 1, integer: true })).toThrow("--max-items must be a whole number ≥ 1 (jobs), got '2.5'");
    expect(() => numberFlag({ 'page-size': '' }, 'page-size', { unit: 'jobs per request', min: 1, integer: true })).toThrow("--page-size must be a whole number ≥ 1 (jobs per request), got ''");
  });
});
