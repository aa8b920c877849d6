import { describe, expect, it } from 'vitest';
import {
  AGENT_PHASES,
  checkpointFolder,
  CONTROL_REQUEST_KINDS,
  parseManifestKey,
  parseReportKey,
  parseRequestKey,
  parseRestoreKey,
  reportKey,
  requestKey,
  requestsPrefix,
  restoreKey,
  restoresPrefix,
} from '../../shared/protocol.js';
import { parseTrainingLogStream, TRAINING_LOG_GROUP, trainingLogStream, trainingLogStreamPrefix } from '../../shared/trainingLogs.js';

describe('the control bucket protocol: every key has one builder and one parser', () => {
  it('a restore instruction key reads back as its job and attempt, under the listing prefix', () => {
    const key = restoreKey('job-a', 12);
    expect(key.startsWith(restoresPrefix('job-a'))).toBe(true);
    expect(parseRestoreKey(key)).toEqual({ ok: true, value: { job: 'job-a', attempt: 12 } });
    expect(parseRestoreKey('control/job-a/attempt-12/requests/stop-1.json').ok).toBe(false);
  });

  it.each(CONTROL_REQUEST_KINDS)('a %s request says its kind explicitly, whatever the reason for it', (kind) => {
    const at = new Date('2026-12-02T06:00:00.123Z');
    const key = requestKey('job-a', 3, kind, at);
    expect(key.startsWith(requestsPrefix('job-a', 3))).toBe(true);
    expect(parseRequestKey(key)).toEqual({ ok: true, value: { job: 'job-a', attempt: 3, kind, time: at.getTime() } });
  });

  it('requests sort in the order they were made', () => {
    const keys = [new Date(999), new Date(1_000_000), new Date(5)].map((at) => requestKey('j', 1, 'checkpoint', at));
    expect([...keys].sort().map((k) => parseRequestKey(k).ok && (parseRequestKey(k) as { value: { time: number } }).value.time)).toEqual([5, 999, 1_000_000]);
  });

  it('a request of a kind the protocol does not have is refused by name', () => {
    const parsed = parseRequestKey('control/job-a/attempt-1/requests/reboot-1000.json');
    expect(parsed).toEqual({ ok: false, problem: expect.stringContaining("'reboot' is not a control request kind") });
  });

  it.each(AGENT_PHASES)('a %s report key reads back', (phase) => {
    expect(parseReportKey(reportKey('job-a', 2, phase))).toEqual({ ok: true, value: { job: 'job-a', attempt: 2, phase } });
  });

  it("a training log stream is SageMaker's <job>/algo-<host>-<epoch seconds>, reads back, and lies under its job's prefix only", () => {
    const stream = trainingLogStream('job-1', 3, Date.parse('2026-12-02T10:00:00.900Z'));
    expect(TRAINING_LOG_GROUP).toBe('/aws/sagemaker/TrainingJobs');
    expect(stream).toBe('job-1/algo-3-1796205600');
    expect(parseTrainingLogStream(stream)).toEqual({ ok: true, value: { job: 'job-1', host: 3, startedAt: 1796205600 } });
    expect(stream.startsWith(trainingLogStreamPrefix('job-1'))).toBe(true);
    expect(trainingLogStream('job-10', 1, 0).startsWith(trainingLogStreamPrefix('job-1'))).toBe(false);
    for (const name of ['job-1/attempt-1/i-0abc', 'job-1/algo-x-1', 'job_1/algo-1-1', 'job-1/algo-1-']) expect(parseTrainingLogStream(name).ok, name).toBe(false);
  });

  it('a manifest key names the S3Uri, the job and the checkpoint', () => {
    const key = `${checkpointFolder('ck/shared/', 'job-a', 'step=1200')}manifest.json`;
    expect(parseManifestKey('data', key)).toEqual({ ok: true, value: { s3Uri: 's3://data/ck/shared/', job: 'job-a', checkpointId: 'step=1200', sequence: 1200 } });
    expect(parseManifestKey('data', 'ck/../job-a/step=1/manifest.json')).toEqual({ ok: false, problem: expect.stringContaining('".."') });
  });
});
