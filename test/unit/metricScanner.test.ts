import { describe, expect, it } from 'vitest';
import { MAX_SCANNED_LINE_CHARS, metricValue, MetricScanner } from '../../agent/metrics.js';

/** MetricDefinitions applied to training output lines as SageMaker applies them. */
const T = Date.UTC(2026, 11, 2, 12, 0, 0);

describe('MetricScanner', () => {
  it('takes the first capture group as the value, as in SageMaker\'s "Define metrics" example', () => {
    // Given SageMaker's documented definitions
    const scanner = new MetricScanner([
      { Name: 'train:error', Regex: 'Train_error=(.*?);' },
      { Name: 'validation:error', Regex: 'Valid_error=(.*?);' },
    ]);
    // When the documented line is printed
    scanner.scan('Train_error=0.138318; Valid_error=0.324557;', T);
    // Then each metric has its value
    expect(scanner.final()).toEqual([
      { MetricName: 'train:error', Value: 0.138318, Timestamp: T },
      { MetricName: 'validation:error', Value: 0.324557, Timestamp: T },
    ]);
  });

  it('uses the first group only, whatever the other groups hold', () => {
    const scanner = new MetricScanner([{ Name: 'loss', Regex: 'epoch (\\d+) loss ([0-9.]+)' }, { Name: 'lr', Regex: '(?:lr|learning_rate)=([0-9.e-]+)' }]);
    scanner.scan('epoch 7 loss 0.25 lr=1e-4', T);
    expect(scanner.final()).toEqual([
      { MetricName: 'loss', Value: 7, Timestamp: T },
      { MetricName: 'lr', Value: 0.0001, Timestamp: T },
    ]);
  });

  it('counts every match in a line, in order, so the last one is the final value', () => {
    const scanner = new MetricScanner([{ Name: 'loss', Regex: 'loss=([0-9.]+)' }]);
    scanner.scan('batch 1 loss=0.9 batch 2 loss=0.8 batch 3 loss=0.7', T);
    expect(scanner.takeSeries().samples.map((s) => s.Value)).toEqual([0.9, 0.8, 0.7]);
    expect(scanner.final()).toEqual([{ MetricName: 'loss', Value: 0.7, Timestamp: T }]);
  });

  it('keeps the last value over lines, with the time of the line that printed it', () => {
    const scanner = new MetricScanner([{ Name: 'acc', Regex: 'acc: ([0-9.]+)' }]);
    scanner.scan('acc: 0.5', T);
    scanner.scan('nothing here', T + 1000);
    scanner.scan('acc: 0.75', T + 2000);
    scanner.scan('acc: none yet', T + 3000);
    expect(scanner.final()).toEqual([{ MetricName: 'acc', Value: 0.75, Timestamp: T + 2000 }]);
  });

  it('ignores a capture that is not a number, and a regex without a group', () => {
    const scanner = new MetricScanner([
      { Name: 'loss', Regex: 'loss=(\\S*)' },
      { Name: 'nogroup', Regex: 'loss=\\S+' },
    ]);
    for (const text of ['loss=', 'loss=nan', 'loss=inf', 'loss=Infinity', 'loss=0x10', 'loss=1,5', 'loss=abc', 'loss=1.2.3', 'loss=--1']) scanner.scan(text, T);
    expect(scanner.final()).toEqual([]);
    expect(scanner.takeSeries().samples).toEqual([]);
  });

  it('reads the numbers training scripts print: signs, leading dot, trailing dot, scientific notation', () => {
    expect(['0.42', '-3', '+7', '.5', '1.', '1e-3', '2.5E+10', '-6.02e23', ' 12 '].map(metricValue)).toEqual([0.42, -3, 7, 0.5, 1, 0.001, 2.5e10, -6.02e23, 12]);
    // CloudWatch takes nothing beyond ±2^360 (and DynamoDB nothing past 1e125): no value
    expect(metricValue('1e300')).toBeUndefined();
    expect(metricValue('1e-300')).toBeUndefined();
    expect(metricValue('0')).toBe(0);
    expect(metricValue(undefined)).toBeUndefined();
  });

  it('finds values in scientific notation through a definition written for them', () => {
    const scanner = new MetricScanner([{ Name: 'loss', Regex: 'loss: ([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)' }]);
    scanner.scan('step 100 loss: 3.5e-05', T);
    expect(scanner.final()[0]?.Value).toBe(3.5e-5);
  });

  it('ends on a regex that can match nothing, and still finds the values it can', () => {
    const scanner = new MetricScanner([{ Name: 'x', Regex: 'x=([0-9]*)' }]);
    scanner.scan('x= x=4 y x=', T);
    expect(scanner.final()).toEqual([{ MetricName: 'x', Value: 4, Timestamp: T }]);
    const empty = new MetricScanner([{ Name: 'any', Regex: '(\\d*)' }]);
    empty.scan('a1b22c', T);
    expect(empty.takeSeries().samples.map((s) => s.Value)).toEqual([1, 22]);
  });

  it('compiles each regex once and names a definition it cannot compile instead of failing', () => {
    const scanner = new MetricScanner([
      { Name: 'bad', Regex: 'loss=(?P<v>[0-9.]+)' },
      { Name: 'good', Regex: 'loss=([0-9.]+)' },
    ]);
    expect(scanner.problems).toHaveLength(1);
    expect(scanner.problems[0]).toContain('bad');
    scanner.scan('loss=0.1', T);
    expect(scanner.final()).toEqual([{ MetricName: 'good', Value: 0.1, Timestamp: T }]);
  });

  it('does nothing for a job without definitions', () => {
    const scanner = new MetricScanner([]);
    expect(scanner.active).toBe(false);
    scanner.scan('loss=0.1', T);
    expect(scanner.final()).toEqual([]);
  });

  it('keeps memory bounded: the series holds the newest values up to its limit and counts the rest', () => {
    const scanner = new MetricScanner([{ Name: 'step', Regex: 'step=(\\d+)' }], 100);
    for (let i = 1; i <= 100_000; i++) scanner.scan(`step=${i}`, T + i);
    const taken = scanner.takeSeries();
    expect(taken.samples).toHaveLength(100);
    expect(taken.samples[0]?.Value).toBe(99_901);
    expect(taken.samples[99]?.Value).toBe(100_000);
    expect(taken.dropped).toBe(99_900);
    expect(scanner.final()).toEqual([{ MetricName: 'step', Value: 100_000, Timestamp: T + 100_000 }]);
    // A take empties the series
    expect(scanner.takeSeries()).toEqual({ samples: [], dropped: 0 });
  });

  it('puts back values that could not be sent ahead of newer ones, within the limit', () => {
    const scanner = new MetricScanner([{ Name: 'v', Regex: 'v=(\\d+)' }], 3);
    scanner.scan('v=1 v=2', T);
    const taken = scanner.takeSeries();
    scanner.scan('v=3 v=4', T + 1);
    scanner.putBack(taken.samples);
    const again = scanner.takeSeries();
    expect(again.samples.map((s) => s.Value)).toEqual([2, 3, 4]);
    expect(again.dropped).toBe(1);
  });

  it('searches no more of a line than CloudWatch Logs keeps of it', () => {
    const scanner = new MetricScanner([{ Name: 'loss', Regex: 'loss=([0-9.]+)' }]);
    scanner.scan(`loss=1 ${'x'.repeat(MAX_SCANNED_LINE_CHARS)} loss=2`, T);
    expect(scanner.final()[0]?.Value).toBe(1);
  });
});
