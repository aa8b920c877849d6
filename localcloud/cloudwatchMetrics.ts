import { AwsServiceError, listenAwsJson, type ListeningServer } from './awsJsonServer.js';

/**
 * CloudWatch metrics for the local cloud: the JSON 1.0 API (`X-Amz-Target:
 * GraniteServiceVersion20100801.*`, query-compatible errors) that the AWS SDK for JavaScript's
 * CloudWatch client speaks. PutMetricData with CloudWatch's limits and errors, ListMetrics, and
 * GetMetricStatistics (what the SageMaker Python SDK's TrainingJobAnalytics reads), over
 * the values kept in memory.
 *
 * Memory is bounded whatever is put: each metric (namespace, name and dimensions) keeps its
 * latest `maxValuesPerMetric` values, and past `maxMetrics` the metric written longest ago goes.
 */
export interface CloudWatchMetricsOptions {
  maxMetrics?: number;
  maxValuesPerMetric?: number;
  now?: () => number;
  log?: (entry: Record<string, unknown>) => void;
}

export const CLOUDWATCH_TARGET = 'GraniteServiceVersion20100801';

interface Dimension {
  Name: string;
  Value: string;
}

interface StoredMetric {
  namespace: string;
  name: string;
  /** Sorted by name: CloudWatch's identity of a metric ignores the order they were given in. */
  dimensions: Dimension[];
  unit?: string;
  /** One entry per value (or per StatisticSet), oldest first. */
  values: { time: number; sum: number; count: number; min: number; max: number }[];
}

const MAX_DATA = 1000;
const MAX_DIMENSIONS = 30;
const LARGEST = 2 ** 360;
const STATISTICS = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'] as const;
type Statistic = (typeof STATISTICS)[number];

const invalid = (message: string) => new AwsServiceError('InvalidParameterValueException', message, 400, 'InvalidParameterValue;Sender');
const missing = (name: string) => new AwsServiceError('MissingRequiredParameterException', `The parameter ${name} is required.`, 400, 'MissingParameter;Sender');
const combination = (message: string) => new AwsServiceError('InvalidParameterCombinationException', message, 400, 'InvalidParameterCombination;Sender');

type Input = Record<string, unknown>;

function text(input: Input, name: string, path: string, max: number, required = true): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) {
    if (required) throw missing(path);
    return undefined;
  }
  if (typeof value !== 'string' || value.length < 1 || value.length > max) throw invalid(`The parameter ${path} must be a string of 1 to ${max} characters.`);
  return value;
}

/** AWS JSON timestamps are epoch seconds. */
function time(input: Input, name: string, path: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`The parameter ${path} must be a timestamp.`);
  return value * 1000;
}

function value(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > LARGEST) throw invalid(`The value ${String(v)} for parameter ${path} is invalid.`);
  return v;
}

function dimensions(input: Input, path: string, withValues: boolean): { Name: string; Value?: string }[] {
  const list = input.Dimensions;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list) || list.length > MAX_DIMENSIONS) throw invalid(`The collection ${path}.Dimensions must hold at most ${MAX_DIMENSIONS} members.`);
  return list.map((d: Input, i) => {
    const name = text(d, 'Name', `${path}.Dimensions.member.${i + 1}.Name`, 255)!;
    const dimensionValue = text(d, 'Value', `${path}.Dimensions.member.${i + 1}.Value`, 1024, withValues);
    return dimensionValue === undefined ? { Name: name } : { Name: name, Value: dimensionValue };
  });
}

const sortDimensions = <T extends { Name: string }>(list: T[]) => [...list].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
const metricKey = (namespace: string, name: string, dims: Dimension[]) => JSON.stringify([namespace, name, sortDimensions(dims)]);

export class CloudWatchMetrics {
  /** In the order they were last written: the first is the one to drop. */
  private readonly metrics = new Map<string, StoredMetric>();
  private readonly maxMetrics: number;
  private readonly maxValues: number;
  private readonly now: () => number;

  constructor(private readonly options: CloudWatchMetricsOptions = {}) {
    this.maxMetrics = options.maxMetrics ?? 10_000;
    this.maxValues = options.maxValuesPerMetric ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  listen(port: number): Promise<ListeningServer> {
    return listenAwsJson(
      {
        targetPrefix: CLOUDWATCH_TARGET,
        jsonVersion: '1.0',
        maxBodyBytes: 1_048_576,
        operations: {
          PutMetricData: (input) => this.putMetricData(input),
          ListMetrics: (input) => this.listMetrics(input),
          GetMetricStatistics: (input) => this.getMetricStatistics(input),
        },
        ...(this.options.log ? { log: this.options.log } : {}),
      },
      port,
    );
  }

  putMetricData(input: Input): Record<string, never> {
    const namespace = text(input, 'Namespace', 'Namespace', 255)!;
    if (namespace.startsWith('AWS/')) throw invalid('The value AWS/ for parameter Namespace is invalid.');
    const data = input.MetricData;
    if (!Array.isArray(data) || data.length === 0) throw missing('MetricData');
    if (data.length > MAX_DATA) throw invalid(`The collection MetricData must not have a size greater than ${MAX_DATA}.`);
    // All of the request is checked before any of it is kept: a request is taken whole or not at all.
    const parsed = data.map((d: Input, i) => {
      const path = `MetricData.member.${i + 1}`;
      const name = text(d, 'MetricName', `${path}.MetricName`, 255)!;
      const dims = dimensions(d, path, true) as Dimension[];
      const at = time(d, 'Timestamp', `${path}.Timestamp`) ?? this.now();
      const entries: StoredMetric['values'] = [];
      const stats = d.StatisticValues as Input | undefined;
      const values = d.Values as unknown[] | undefined;
      if ([d.Value !== undefined, stats !== undefined, values !== undefined].filter(Boolean).length > 1) {
        throw combination(`The parameters ${path}.Value, ${path}.StatisticValues and ${path}.Values are mutually exclusive.`);
      }
      if (stats) {
        const [count, sum, min, max] = (['SampleCount', 'Sum', 'Minimum', 'Maximum'] as const).map((s) => value(stats[s], `${path}.StatisticValues.${s}`));
        entries.push({ time: at, sum: sum!, count: count!, min: min!, max: max! });
      } else if (values) {
        const counts = (d.Counts as unknown[] | undefined) ?? values.map(() => 1);
        if (!Array.isArray(values) || values.length > 150 || counts.length !== values.length) throw invalid(`The parameters ${path}.Values and ${path}.Counts must be lists of equal length, at most 150.`);
        values.forEach((v, k) => {
          const n = value(counts[k], `${path}.Counts.member.${k + 1}`);
          const x = value(v, `${path}.Values.member.${k + 1}`);
          entries.push({ time: at, sum: x * n, count: n, min: x, max: x });
        });
      } else {
        const x = value(d.Value, `${path}.Value`);
        entries.push({ time: at, sum: x, count: 1, min: x, max: x });
      }
      return { name, dims, unit: typeof d.Unit === 'string' ? d.Unit : undefined, entries };
    });
    for (const p of parsed) this.keep(namespace, p.name, p.dims, p.unit, p.entries);
    return {};
  }

  private keep(namespace: string, name: string, dims: Dimension[], unit: string | undefined, entries: StoredMetric['values']): void {
    const key = metricKey(namespace, name, dims);
    const metric = this.metrics.get(key) ?? { namespace, name, dimensions: sortDimensions(dims), values: [] };
    if (unit) metric.unit = unit;
    metric.values.push(...entries);
    if (metric.values.length > this.maxValues) metric.values.splice(0, metric.values.length - this.maxValues);
    this.metrics.delete(key);
    this.metrics.set(key, metric);
    while (this.metrics.size > this.maxMetrics) this.metrics.delete(this.metrics.keys().next().value as string);
  }

  listMetrics(input: Input): { Metrics: { Namespace: string; MetricName: string; Dimensions: Dimension[] }[] } {
    const namespace = text(input, 'Namespace', 'Namespace', 255, false);
    const name = text(input, 'MetricName', 'MetricName', 255, false);
    const filters = dimensions(input, '', false);
    const found = [...this.metrics.values()].filter(
      (m) =>
        (namespace === undefined || m.namespace === namespace) &&
        (name === undefined || m.name === name) &&
        filters.every((f) => m.dimensions.some((d) => d.Name === f.Name && (f.Value === undefined || d.Value === f.Value))),
    );
    return { Metrics: found.map((m) => ({ Namespace: m.namespace, MetricName: m.name, Dimensions: m.dimensions })) };
  }

  getMetricStatistics(input: Input): { Label: string; Datapoints: Record<string, unknown>[] } {
    const namespace = text(input, 'Namespace', 'Namespace', 255)!;
    const name = text(input, 'MetricName', 'MetricName', 255)!;
    const dims = dimensions(input, '', true) as Dimension[];
    const start = time(input, 'StartTime', 'StartTime');
    const end = time(input, 'EndTime', 'EndTime');
    if (start === undefined) throw missing('StartTime');
    if (end === undefined) throw missing('EndTime');
    if (end <= start) throw invalid('The parameter StartTime must be less than the parameter EndTime.');
    const period = input.Period;
    if (typeof period !== 'number' || !Number.isInteger(period) || period < 1 || (period >= 60 && period % 60 !== 0) || (period < 60 && ![1, 5, 10, 30].includes(period))) {
      throw invalid('The parameter Period must be 1, 5, 10, 30 or a multiple of 60.');
    }
    const statistics = input.Statistics;
    if (!Array.isArray(statistics) || statistics.length === 0) throw missing('Statistics');
    for (const s of statistics) if (!(STATISTICS as readonly unknown[]).includes(s)) throw invalid(`The value ${String(s)} for parameter Statistics is not one of ${STATISTICS.join(', ')}.`);
    const metric = this.metrics.get(metricKey(namespace, name, dims));
    const buckets = new Map<number, { sum: number; count: number; min: number; max: number }>();
    for (const v of metric?.values ?? []) {
      if (v.time < start || v.time >= end) continue;
      const bucket = start + Math.floor((v.time - start) / (period * 1000)) * period * 1000;
      const b = buckets.get(bucket);
      if (!b) buckets.set(bucket, { sum: v.sum, count: v.count, min: v.min, max: v.max });
      else Object.assign(b, { sum: b.sum + v.sum, count: b.count + v.count, min: Math.min(b.min, v.min), max: Math.max(b.max, v.max) });
    }
    const pick: Record<Statistic, (b: { sum: number; count: number; min: number; max: number }) => number> = {
      SampleCount: (b) => b.count,
      Average: (b) => b.sum / b.count,
      Sum: (b) => b.sum,
      Minimum: (b) => b.min,
      Maximum: (b) => b.max,
    };
    const Datapoints = [...buckets.entries()]
      .sort(([a], [b]) => a - b)
      .map(([at, b]) => ({ Timestamp: at / 1000, ...Object.fromEntries((statistics as Statistic[]).map((s) => [s, pick[s](b)])), Unit: metric?.unit ?? 'None' }));
    return { Label: name, Datapoints };
  }
}
