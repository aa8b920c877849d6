import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../support/jobHarness.js';
import { lifecycleScenarios } from '../support/lifecycleScenarios.js';
import { isLegal, TRANSITIONS } from '../../shared/lifecycle/transitions.js';
import { isTerminal, primaryStatusOf, SECONDARY_STATUSES } from '../../shared/lifecycle/statuses.js';
import { savingsPercent } from '../../shared/lifecycle/money.js';

describe('the lifecycle, pure', () => {
  lifecycleScenarios(() => new MemoryBackend(), 'unit');
});

describe('the transition table', () => {
  it('never leaves a terminal status', () => {
    for (const row of TRANSITIONS) {
      for (const from of row.from) expect(isTerminal(from), `${row.trigger} from ${from}`).toBe(false);
    }
  });

  it('reaches every status, and says what is legal', () => {
    const reached = new Set<string>(TRANSITIONS.map((row) => row.to));
    expect(SECONDARY_STATUSES.filter((s) => !reached.has(s))).toEqual([]);
    expect(isLegal('Training', 'Interrupted')).toBe(true);
    expect(isLegal('Interrupted', 'Downloading')).toBe(true);
    expect(isLegal('Completed', 'Training')).toBe(false);
    expect(isLegal('Starting', 'Uploading')).toBe(false);
  });

  it('derives the primary status from the secondary one', () => {
    expect(primaryStatusOf('Interrupted')).toBe('InProgress');
    expect(primaryStatusOf('MaxWaitTimeExceeded')).toBe('Stopped');
    expect(primaryStatusOf('Stopping')).toBe('Stopping');
  });
});

describe('savings', () => {
  it("is SageMaker's (1 - Billable / Training) x 100: 100 and 500 give 80%", () => {
    expect(savingsPercent(500, 100)).toBe(80);
  });

  it('is zero before any training time', () => {
    expect(savingsPercent(0, 0)).toBe(0);
  });
});
