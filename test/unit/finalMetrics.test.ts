import { describe, expect, it } from 'vitest';
import { describeView } from '../../shared/api/views.js';
import type { MetricDatum } from '../../shared/lifecycle/job.js';
import { JobHarness, MemoryBackend, T0 } from '../support/jobHarness.js';

/** FinalMetricDataList: the agents' reported final values merged on the job record, across attempts. */
const DEFINITIONS = [
  { Name: 'train:loss', Regex: 'loss=([0-9.]+)' },
  { Name: 'validation:accuracy', Regex: 'val_acc=([0-9.]+)' },
];
const at = (seconds: number) => T0 + seconds * 1000;
const m = (MetricName: string, Value: number, seconds: number): MetricDatum => ({ MetricName, Value, Timestamp: at(seconds) });

async function training(name: string, definitions: typeof DEFINITIONS | null = DEFINITIONS) {
  const h = new JobHarness(new MemoryBackend(), name);
  await h.at(0).create({ AlgorithmSpecification: { TrainingImage: 'train:latest', TrainingInputMode: 'File', ...(definitions ? { MetricDefinitions: definitions } : {}) } });
  await h.at(10).launch(['i-0f00000000000001']);
  await h.at(40).running('i-0f00000000000001');
  await h.at(70).report('downloaded');
  return h;
}

describe('FinalMetricDataList', () => {
  it('records the values a phase report carries with its transition, and Describe returns them in seconds', async () => {
    // Given a training job with two MetricDefinitions
    const h = await training('metrics-completed');
    // When the agent reports uploading and completed with its final values
    await h.at(300).report('uploading', { metrics: [m('train:loss', 0.3, 290)] });
    const completed = await h.at(320).report('completed', { metrics: [m('train:loss', 0.3, 290), m('validation:accuracy', 0.9, 295)] });
    // Then the job is Completed and its final values are recorded once each, in the definitions' order
    expect(completed.status).toBe('applied');
    const job = await h.job();
    expect(job.SecondaryStatus).toBe('Completed');
    expect(job.FinalMetricDataList).toEqual([m('train:loss', 0.3, 290), m('validation:accuracy', 0.9, 295)]);
    expect(describeView(job, h.now).FinalMetricDataList).toEqual([
      { MetricName: 'train:loss', Value: 0.3, Timestamp: at(290) / 1000 },
      { MetricName: 'validation:accuracy', Value: 0.9, Timestamp: at(295) / 1000 },
    ]);
  });

  it('records a failed attempt\'s values with its failure', async () => {
    const h = await training('metrics-failed');
    await h.at(200).report('failed', { exitCode: 2, reason: 'boom', metrics: [m('train:loss', 7.5, 199)] });
    const job = await h.job();
    expect(job.SecondaryStatus).toBe('Failed');
    expect(job.FinalMetricDataList).toEqual([m('train:loss', 7.5, 199)]);
  });

  it('merges across attempts: per metric, the value printed last wins, whichever report arrives last', async () => {
    // Given attempt 1, interrupted, reported its values on the way out
    const h = await training('metrics-attempts');
    await h.at(200).warn('i-0f00000000000001');
    await h.at(205).send({ type: 'metricsReported', time: h.now, attempt: 1, metrics: [m('train:loss', 0.8, 199), m('validation:accuracy', 0.5, 150)] });
    await h.at(330).gone('i-0f00000000000001');
    await h.at(340).launch(['i-0f00000000000002']);
    await h.at(370).running('i-0f00000000000002');
    await h.at(400).report('downloaded');
    // When attempt 2 completes having printed a newer loss but no accuracy
    await h.at(600).report('uploading', { metrics: [m('train:loss', 0.2, 590)] });
    await h.at(620).report('completed', { metrics: [m('train:loss', 0.2, 590)] });
    // Then loss is attempt 2's, accuracy still attempt 1's
    expect((await h.job()).FinalMetricDataList).toEqual([m('train:loss', 0.2, 590), m('validation:accuracy', 0.5, 150)]);
    // And a late, older report of attempt 1 changes nothing
    const late = await h.at(700).send({ type: 'metricsReported', time: h.now, attempt: 1, metrics: [m('train:loss', 0.8, 199)] });
    expect(late.status).toBe('ignored');
    expect((await h.job()).FinalMetricDataList?.[0]).toEqual(m('train:loss', 0.2, 590));
  });

  it('records the values of a stopped job, also when its metrics report arrives after Stopped', async () => {
    const h = await training('metrics-stopped');
    await h.at(200).stop();
    await h.at(230).gone('i-0f00000000000001');
    expect((await h.job()).SecondaryStatus).toBe('Stopped');
    const before = await h.job();
    const outcome = await h.at(231).send({ type: 'metricsReported', time: h.now, attempt: 1, metrics: [m('train:loss', 0.4, 205)] });
    expect(outcome.status).toBe('applied');
    const after = await h.job();
    expect(after.FinalMetricDataList).toEqual([m('train:loss', 0.4, 205)]);
    // No status changes: the terminal job keeps its transitions and end
    expect(after.Transitions).toEqual(before.Transitions);
    expect(after.SecondaryStatus).toBe('Stopped');
    expect(after.TrainingEndTime).toBe(before.TrainingEndTime);
  });

  it('keeps the values of a report that changes no status: a duplicate phase report still carries newer values', async () => {
    const h = await training('metrics-duplicate');
    await h.at(300).report('uploading', { metrics: [m('train:loss', 0.5, 290)] });
    const again = await h.at(310).report('uploading', { metrics: [m('train:loss', 0.45, 305)] });
    expect(again.status).toBe('applied');
    const job = await h.job();
    expect(job.SecondaryStatus).toBe('Uploading');
    expect(job.FinalMetricDataList).toEqual([m('train:loss', 0.45, 305)]);
    // The same values again change nothing: no write
    expect((await h.at(311).report('uploading', { metrics: [m('train:loss', 0.45, 305)] })).status).toBe('ignored');
  });

  it('keeps only the job\'s own definitions, bounded as the job is', async () => {
    const h = await training('metrics-foreign');
    const foreign = Array.from({ length: 40 }, (_, i) => m(`other-${i}`, i, 100));
    await h.at(300).report('uploading', { metrics: [...foreign, m('validation:accuracy', 0.7, 100)] });
    expect((await h.job()).FinalMetricDataList).toEqual([m('validation:accuracy', 0.7, 100)]);
    // A job without MetricDefinitions records none
    const g = await training('metrics-none', null);
    await g.at(300).report('uploading', { metrics: [m('train:loss', 0.1, 100)] });
    expect((await g.job()).FinalMetricDataList).toBeUndefined();
  });

  it('takes no value from the future: a timestamp ahead of the report counts as the report\'s time', async () => {
    const h = await training('metrics-future');
    await h.at(300).report('uploading', { metrics: [m('train:loss', 9, 99_999)] });
    expect((await h.job()).FinalMetricDataList).toEqual([m('train:loss', 9, 300)]);
    await h.at(400).report('completed', { metrics: [m('train:loss', 0.1, 390)] });
    expect((await h.job()).FinalMetricDataList).toEqual([m('train:loss', 0.1, 390)]);
  });

  it('ignores metrics of an attempt the job never had', async () => {
    const h = await training('metrics-unknown-attempt');
    const outcome = await h.at(300).send({ type: 'metricsReported', time: h.now, attempt: 7, metrics: [m('train:loss', 0.1, 290)] });
    expect(outcome.status).toBe('ignored');
    expect((await h.job()).FinalMetricDataList).toBeUndefined();
  });
});
