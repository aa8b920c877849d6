import type { EpochMillis, MetricDatum } from '../shared/lifecycle/job.js';
import type { MetricDefinition } from '../shared/lifecycle/jobSpec.js';

/**
 * AlgorithmSpecification.MetricDefinitions applied to the training output as SageMaker applies
 * them: each line of stdout and stderr is searched with every definition's Regex, the first
 * capture group of a match is the metric's value, and a capture that is not a number is no
 * value. Every match in a line counts, in the order they appear, so the last one printed is
 * the metric's final value (DescribeTrainingJob's FinalMetricDataList).
 *
 * Memory is bounded whatever the training prints: one final value per definition, and a series
 * of the values not yet published to CloudWatch that keeps the newest `seriesLimit` and counts
 * the ones it had to drop.
 */
export const DEFAULT_SERIES_LIMIT = 10_000;

/** How much of one line is searched: CloudWatch Logs' largest event, the most a line in the log can be. */
export const MAX_SCANNED_LINE_CHARS = 256 * 1024;

/**
 * CloudWatch refuses a value outside ±2^360 (and one so close to zero that it has no
 * representation there) and refuses a whole PutMetricData request for it; DynamoDB refuses
 * numbers past ±1e125. Such a value is no value, like a capture that is not a number.
 */
const LARGEST = 2 ** 360;
const SMALLEST = 2 ** -360;

/** A decimal number as training scripts print them: `0.42`, `-3`, `.5`, `1.`, `1e-3`, `2.5E+10`. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The value a capture group holds, or undefined when it holds none (empty, `nan`, `inf`, `0x10`, `1,000`, out of range). */
export function metricValue(capture: string | undefined): number | undefined {
  if (capture === undefined) return undefined;
  const text = capture.trim();
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || Math.abs(value) > LARGEST || (value !== 0 && Math.abs(value) < SMALLEST)) return undefined;
  return value;
}

interface CompiledDefinition {
  name: string;
  regex: RegExp;
}

export interface MetricSeries {
  /** Oldest first. */
  samples: MetricDatum[];
  /** Values dropped since the last take because more arrived than the series holds. */
  dropped: number;
}

export class MetricScanner {
  private readonly definitions: CompiledDefinition[] = [];
  /** Definitions whose Regex JavaScript cannot compile (the API refuses them; an old record may hold one). */
  readonly problems: string[] = [];
  private readonly last = new Map<string, MetricDatum>();
  private series: MetricDatum[] = [];
  private dropped = 0;

  constructor(
    definitions: readonly MetricDefinition[],
    private readonly seriesLimit = DEFAULT_SERIES_LIMIT,
  ) {
    for (const d of definitions) {
      try {
        // Compiled once; `g` so that one line's every match is found.
        this.definitions.push({ name: d.Name, regex: new RegExp(d.Regex, 'g') });
      } catch (error) {
        this.problems.push(`MetricDefinitions ${d.Name}: Regex ${d.Regex} does not compile: ${(error as Error).message}`);
      }
    }
  }

  get active(): boolean {
    return this.definitions.length > 0;
  }

  /** One line of training output, and when it was printed. */
  scan(line: string, time: EpochMillis): void {
    if (!this.definitions.length) return;
    const text = line.length > MAX_SCANNED_LINE_CHARS ? line.slice(0, MAX_SCANNED_LINE_CHARS) : line;
    for (const { name, regex } of this.definitions) {
      regex.lastIndex = 0;
      for (let match = regex.exec(text); match; match = regex.exec(text)) {
        // A match of nothing would be found again at the same place.
        if (match[0] === '') regex.lastIndex += 1;
        const value = metricValue(match[1]);
        if (value !== undefined) this.record({ MetricName: name, Value: value, Timestamp: time });
      }
    }
  }

  private record(datum: MetricDatum): void {
    this.last.set(datum.MetricName, datum);
    this.series.push(datum);
    // Trimmed in one go once it holds twice the limit: amortised constant time, bounded memory.
    if (this.series.length >= 2 * this.seriesLimit) {
      const excess = this.series.length - this.seriesLimit;
      this.series.splice(0, excess);
      this.dropped += excess;
    }
  }

  /** The last value of each metric seen so far, in the order of the definitions. */
  final(): MetricDatum[] {
    return this.definitions.flatMap(({ name }) => {
      const datum = this.last.get(name);
      return datum ? [{ ...datum }] : [];
    });
  }

  /** The values seen since the last take (at most the limit, the newest), for CloudWatch. */
  takeSeries(): MetricSeries {
    const excess = Math.max(0, this.series.length - this.seriesLimit);
    const taken = { samples: this.series.slice(excess), dropped: this.dropped + excess };
    this.series = [];
    this.dropped = 0;
    return taken;
  }

  /** Values taken that could not be published go back, ahead of newer ones, within the limit. */
  putBack(samples: MetricDatum[]): void {
    if (!samples.length) return;
    const merged = [...samples, ...this.series];
    const excess = Math.max(0, merged.length - this.seriesLimit);
    this.series = merged.slice(excess);
    this.dropped += excess;
  }
}
