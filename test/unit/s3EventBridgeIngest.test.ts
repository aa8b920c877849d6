import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ingestS3Notification } from '../../shared/ingest.js';
import type { Services } from '../../shared/processor.js';
import type { JobStore } from '../../shared/store/jobStore.js';
import { TEST_CONFIG } from '../support/jobHarness.js';

/** S3's "Object Created" event as EventBridge delivers it (the product's fixture). */
const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/events/s3-object-created-eventbridge.json', import.meta.url), 'utf8')) as {
  detail: { bucket: { name: string }; object: { key: string } };
  [key: string]: unknown;
};

const withKey = (key: string, bucket = FIXTURE.detail.bucket.name) => ({
  ...FIXTURE,
  detail: { ...FIXTURE.detail, bucket: { name: bucket }, object: { ...FIXTURE.detail.object, key } },
});

/** Just enough of the services to see which checkpoint folder an event is looked up by. */
function fakeServices(owners: Record<string, string> = {}) {
  const lookups: string[] = [];
  const store = {
    checkpointOwner: async (location: string) => {
      lookups.push(location);
      return owners[location];
    },
    get: async () => undefined,
  } as unknown as JobStore;
  const services = { config: TEST_CONFIG, store, now: () => Date.parse('2026-11-27T10:10:05Z'), random: () => 0.5 } as unknown as Services;
  return { services, lookups };
}

describe('S3 Object Created events through EventBridge', () => {
  it('reads the bucket and key of the envelope and looks the manifest folder up', async () => {
    const { services, lookups } = fakeServices();
    const results = await ingestS3Notification(services, FIXTURE);
    expect(lookups).toEqual(['spot-training-data/checkpoints/my-job/']);
    expect(results).toEqual([{ status: 'ignored', detail: 'no job owns s3://spot-training-data/checkpoints/my-job/' }]);
  });

  it('takes the key as it is: EventBridge does not URL-encode it, unlike an S3 notification', async () => {
    const key = 'checkpoints/run+1%20a/step=1200/manifest.json';
    const viaEventBridge = fakeServices();
    await ingestS3Notification(viaEventBridge.services, withKey(key));
    expect(viaEventBridge.lookups).toEqual(['spot-training-data/checkpoints/run+1%20a/']);

    const notification = JSON.parse(readFileSync(new URL('../fixtures/events/s3-object-created-notification.json', import.meta.url), 'utf8')) as {
      Records: { s3: { bucket: { name: string }; object: { key: string } } }[];
    };
    const record = notification.Records[0]!;
    record.s3.bucket.name = 'spot-training-data';
    record.s3.object.key = key;
    const viaNotification = fakeServices();
    await ingestS3Notification(viaNotification.services, notification);
    expect(viaNotification.lookups).toEqual(['spot-training-data/checkpoints/run 1 a/']);
  });

  it('applies the manifest to the job that owns the folder', async () => {
    const { services, lookups } = fakeServices({ 'spot-training-data/checkpoints/my-job/': 'my-job' });
    const results = await ingestS3Notification(services, FIXTURE);
    expect(lookups).toHaveLength(1);
    // The fake store has no job record: the owner was found and the job looked up.
    expect(results).toEqual([{ status: 'ignored', detail: 'not-found' }]);
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
    expect(lookups).toEqual([]);
    expect(results).toEqual([{ status: 'ignored', detail: 'not-found' }]);
  });
});
