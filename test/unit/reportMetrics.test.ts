import { describe, expect, it } from 'vitest';
import { ControlChannel } from '../../shared/control.js';
import { metricsReportBody, metricsReportKey, parseMetricsReportKey, parseReportKey, reportKey } from '../../shared/protocol.js';
import { MemoryS3 } from '../property/model.js';

/** The final metric values in agent reports: built by the agent, validated field by field when read. */
const BUCKET = 'control-bucket';
const T = Date.UTC(2026, 11, 2, 12, 0, 0);

async function read(body: unknown) {
  const s3 = new MemoryS3();
  const key = reportKey('metrics-job', 1, 'completed');
  s3.objects.set(`${BUCKET}/${key}`, typeof body === 'string' ? body : JSON.stringify(body));
  return new ControlChannel(s3.asClient(), BUCKET).readReport(key);
}

describe('FinalMetricDataList in report bodies', () => {
  it('round-trips what the agent writes: ISO times on the wire, epoch milliseconds when read', async () => {
    const metrics = [
      { MetricName: 'train:loss', Value: 0.25, Timestamp: T },
      { MetricName: 'validation:accuracy', Value: -3.5e-7, Timestamp: T + 1500 },
    ];
    const body = { Time: new Date(T + 2000).toISOString(), ...metricsReportBody(metrics) };
    expect(body.FinalMetricDataList?.[0]).toEqual({ MetricName: 'train:loss', Value: 0.25, Timestamp: new Date(T).toISOString() });
    expect(await read(body)).toEqual({ Time: body.Time, FinalMetricDataList: metrics });
  });

  it('writes nothing when there is no value yet, and at most 40 metrics', () => {
    expect(metricsReportBody([])).toEqual({});
    const many = Array.from({ length: 45 }, (_, i) => ({ MetricName: `m${i}`, Value: i, Timestamp: T }));
    expect(metricsReportBody(many).FinalMetricDataList).toHaveLength(40);
  });

  it.each([
    ['more than 40 metrics', Array.from({ length: 41 }, (_, i) => ({ MetricName: `m${i}`, Value: 1, Timestamp: new Date(T).toISOString() })), /FinalMetricDataList/],
    ['a name longer than 255 characters', [{ MetricName: 'x'.repeat(256), Value: 1, Timestamp: new Date(T).toISOString() }], /FinalMetricDataList\.0\.MetricName/],
    ['an empty name', [{ MetricName: '', Value: 1, Timestamp: new Date(T).toISOString() }], /FinalMetricDataList\.0\.MetricName/],
    ['a value that is a string', [{ MetricName: 'loss', Value: '0.5', Timestamp: new Date(T).toISOString() }], /FinalMetricDataList\.0\.Value/],
    ['a value beyond what CloudWatch holds', [{ MetricName: 'loss', Value: 1e300, Timestamp: new Date(T).toISOString() }], /FinalMetricDataList\.0\.Value/],
    ['a timestamp that is no time', [{ MetricName: 'loss', Value: 1, Timestamp: 'yesterday' }], /FinalMetricDataList\.0\.Timestamp/],
    ['not a list', { loss: 1 }, /FinalMetricDataList/],
  ])('leaves out a FinalMetricDataList with %s, and keeps the rest of the report', async (_, list, problem) => {
    const body = await read({ ExitCode: 3, Reason: 'boom', FinalMetricDataList: list });
    expect(body.FinalMetricDataList).toBeUndefined();
    expect(body.problem).toMatch(problem);
    expect(body).toMatchObject({ ExitCode: 3, Reason: 'boom' });
  });

  it('reads a body that is no JSON as an empty report that says so', async () => {
    expect(await read('{not json')).toEqual({ problem: 'not JSON' });
  });

  it('has a key of its own for the metrics of an attempt that a stop or an interruption ended', () => {
    const key = metricsReportKey('metrics-job', 3);
    expect(key).toBe('reports/metrics-job/attempt-3/metrics.report.json');
    expect(parseMetricsReportKey(key)).toEqual({ ok: true, value: { job: 'metrics-job', attempt: 3 } });
    // It is no phase report, and a phase report is no metrics report
    expect(parseReportKey(key).ok).toBe(false);
    expect(parseMetricsReportKey(reportKey('metrics-job', 3, 'completed')).ok).toBe(false);
    expect(parseMetricsReportKey('reports/-bad-/attempt-1/metrics.report.json').ok).toBe(false);
  });
});
