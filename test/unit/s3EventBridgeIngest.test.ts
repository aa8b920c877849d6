import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ingestS3Notification } from '../../shared/ingest.js';
import type { Services } from '../../shared/services.js';
import type { JobStore } from '../../shared/store/jobStore.js';
import { readCreateRequest } from '../../shared/api/createRequest.js';
import { newJob, type JobRecord } from '../../shared/lifecycle/job.js';
import { jobRequest, TEST_CONFIG } from '../support/jobHarness.js';

/** S3's "Object Created" event as EventBridge delivers it (the product's fixture). */
const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/events/s3-object-created-eventbridge.json', import.meta.url), 'utf8')) as {
  detail: { bucket: { name: string }; object: { key: string } };
  [key: string]: unknown;
};

const withKey = (key: string, bucket = FIXTURE.detail.bucket.name) => ({
  ...FIXTURE,
  detail: { ...FIXTURE.detail, bucket: { name: bucket }, object: { ...FIXTURE.detail.object, key } },
});

/**
 * Just enough of the services to see which job a manifest is applied to: the store knows the
 * jobs given (their CheckpointConfig.S3Uri), and keeps the checkpoint each write records.
 */
function fakeServices(jobs: Record<string, string> = {}) {
  const lookups: string[] = [];
  const recorded: string[] = [];
  const store = {
    get: async (name: string) => {
      lookups.push(name);
      const s3Uri = jobs[name];
      if (!s3Uri) return undefined;
      const spec = readCreateRequest(jobRequest(name, { CheckpointConfig: { S3Uri: s3Uri } }), TEST_CONFIG);
      return newJob({ spec, arn: `arn:aws:sagemaker:us-east-1:123456789012:training-job/${name}`, now: Date.parse('2026-11-27T10:00:00Z') });
    },
    write: async (_before: unknown, decision: { job: JobRecord }) => {
      recorded.push(decision.job.LatestCheckpoint?.ManifestUri ?? '');
    },
  } as unknown as JobStore;
  const services = { config: TEST_CONFIG, store, now: () => Date.parse('2026-11-27T10:10:05Z'), random: () => 0.5 } as unknown as Services;
  return { services, lookups, recorded };
}

describe('S3 Object Created events through EventBridge', () => {
  it('reads the bucket and key of the envelope and looks up the job the key names', async () => {
    const { services, lookups } = fakeServices();
    const results = await ingestS3Notification(services, FIXTURE);
    expect(lookups).toEqual(['my-job']);
    expect(results).toEqual([{ status: 'ignored', detail: 'not-found' }]);
  });

  it('takes the key as it is: EventBridge does not URL-encode it, unlike an S3 notification', async () => {
    const key = 'checkpoints/run+1%20a/my-job/step=1200/manifest.json';
    const viaEventBridge = fakeServices({ 'my-job': 's3://spot-training-data/checkpoints/run+1%20a' });
    expect(await ingestS3Notification(viaEventBridge.services, withKey(key))).toEqual([{ status: 'processed' }]);
    expect(viaEventBridge.recorded).toEqual([`s3://spot-training-data/${key}`]);

    const notification = JSON.parse(readFileSync(new URL('../fixtures/events/s3-object-created-notification.json', import.meta.url), 'utf8')) as {
      Records: { s3: { bucket: { name: string }; object: { key: string } } }[];
    };
    const record = notification.Records[0]!;
    record.s3.bucket.name = 'spot-training-data';
    record.s3.object.key = key;
    const viaNotification = fakeServices({ 'my-job': 's3://spot-training-data/checkpoints/run 1 a' });
    expect(await ingestS3Notification(viaNotification.services, notification)).toEqual([{ status: 'processed' }]);
    expect(viaNotification.recorded).toEqual(['s3://spot-training-data/checkpoints/run 1 a/my-job/step=1200/manifest.json']);
  });

  it("applies the manifest to the job it names, only when it is in that job's own folder", async () => {
    const mine = fakeServices({ 'my-job': 's3://spot-training-data/checkpoints' });
    expect(await ingestS3Notification(mine.services, FIXTURE)).toEqual([{ status: 'processed' }]);
    // A job named in a folder it does not checkpoint to: nothing is recorded for it.
    const elsewhere = fakeServices({ 'my-job': 's3://spot-training-data/other-folder' });
    expect(await ingestS3Notification(elsewhere.services, FIXTURE)).toEqual([{ status: 'ignored', detail: 'ignored' }]);
    expect(elsewhere.recorded).toEqual([]);
  });

  it('drops a manifest in a bucket that is not allowed, and an event that is not Object Created', async () => {
    const { services, lookups } = fakeServices();
    const [notAllowed] = await ingestS3Notification(services, withKey('checkpoints/x/step=1/manifest.json', 'someone-elses-bucket'));
    expect(notAllowed).toMatchObject({ status: 'malformed', detail: expect.stringContaining('not an allowed checkpoint bucket') });
    const [deleted] = await ingestS3Notification(services, { ...FIXTURE, 'detail-type': 'Object Deleted' });
    expect(deleted).toMatchObject({ status: 'malformed', detail: expect.stringContaining('detail-type') });
    const [noKey] = await ingestS3Notification(services, { ...FIXTURE, detail: { bucket: { name: 'spot-training-data' } } });
    expect(noKey).toMatchObject({ status: 'malformed', detail: expect.stringContaining('detail.object') });
    expect(lookups).toEqual([]);
  });

  it('routes an agent report in the control bucket the same way as its S3 notification', async () => {
    const { services, lookups } = fakeServices();
    const results = await ingestS3Notification(services, withKey('reports/my-job/attempt-1/downloaded.report.json', TEST_CONFIG.controlBucket));
    expect(lookups).toEqual(['my-job']);
    expect(results).toEqual([{ status: 'ignored', detail: 'not-found' }]);
  });
});
