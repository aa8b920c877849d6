import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { matchesPattern, validatePattern } from '../../localcloud/eventPattern.js';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
const spotWarning = sample('ec2-spot-interruption-warning');
const rebalance = sample('ec2-rebalance-recommendation');
const stateChange = sample('ec2-instance-state-change');
const scheduled = sample('eventbridge-scheduled-event');
const s3Created = sample('s3-object-created-eventbridge');

/** The sample spot warning with other detail fields. */
const warningWith = (detail: Record<string, unknown>) => ({ ...spotWarning, detail: { ...(spotWarning['detail'] as object), ...detail } });

describe('matchesPattern on the sample events', () => {
  const spotRule = {
    source: ['aws.ec2', 'spot-training.synthetic'],
    'detail-type': ['EC2 Spot Instance Interruption Warning'],
    detail: { 'instance-action': ['terminate', 'stop'] },
  };

  it('matches the spot warning, by hyphenated keys, OR within arrays and AND across fields', () => {
    expect(matchesPattern(spotRule, spotWarning)).toBe(true);
    expect(matchesPattern(spotRule, { ...spotWarning, source: 'spot-training.synthetic' })).toBe(true);
    expect(matchesPattern(spotRule, warningWith({ 'instance-action': 'stop' }))).toBe(true);
    expect(matchesPattern(spotRule, warningWith({ 'instance-action': 'hibernate' }))).toBe(false);
    expect(matchesPattern(spotRule, { ...spotWarning, source: 'aws.s3' })).toBe(false);
    expect(matchesPattern(spotRule, rebalance)).toBe(false);
  });

  it('tells the EC2 events apart', () => {
    const rebalanceRule = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance Rebalance Recommendation'] };
    const stateRule = { 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['running', 'stopped', 'terminated'] } };
    expect([spotWarning, rebalance, stateChange, scheduled, s3Created].map((e) => matchesPattern(rebalanceRule, e))).toEqual([false, true, false, false, false]);
    expect([spotWarning, rebalance, stateChange, scheduled, s3Created].map((e) => matchesPattern(stateRule, e))).toEqual([false, false, true, false, false]);
  });

  it('matches the event envelope arrays (resources) by any element', () => {
    expect(matchesPattern({ resources: [{ prefix: 'arn:aws:ec2:us-east-1:123456789012:instance/' }] }, spotWarning)).toBe(true);
    expect(matchesPattern({ resources: [{ suffix: 'i-0abc123def4567890' }] }, stateChange)).toBe(true);
    expect(matchesPattern({ resources: ['arn:aws:s3:::other-bucket'] }, s3Created)).toBe(false);
  });

  it('matches S3 checkpoint manifests with nested objects, prefix, suffix and wildcard', () => {
    const manifests = { source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: ['spot-training-data'] }, object: { key: [{ wildcard: 'checkpoints/*/manifest.json' }] } } };
    expect(matchesPattern(manifests, s3Created)).toBe(true);
    expect(matchesPattern({ detail: { object: { key: [{ prefix: 'checkpoints/' }] } } }, s3Created)).toBe(true);
    expect(matchesPattern({ detail: { object: { key: [{ suffix: '/manifest.json' }] } } }, s3Created)).toBe(true);
    expect(matchesPattern({ detail: { object: { key: [{ prefix: 'output/' }] } } }, s3Created)).toBe(false);
    expect(matchesPattern({ detail: { bucket: { name: ['other'] } } }, s3Created)).toBe(false);
  });

  it('matches the scheduled event with an empty detail', () => {
    expect(matchesPattern({ source: ['aws.events'], 'detail-type': ['Scheduled Event'] }, scheduled)).toBe(true);
    expect(matchesPattern({ detail: { anything: [{ exists: false }] } }, scheduled)).toBe(true);
  });
});

describe('matchesPattern, value by value', () => {
  const event = (detail: Record<string, unknown>) => ({ source: 'test', 'detail-type': 'Test', detail });
  const matches = (detailPattern: Record<string, unknown>, detail: Record<string, unknown>) => matchesPattern({ detail: detailPattern }, event(detail));

  it('compares exact values by type', () => {
    expect(matches({ n: [5] }, { n: 5 })).toBe(true);
    expect(matches({ n: [5] }, { n: 5.0 })).toBe(true);
    expect(matches({ n: ['5'] }, { n: 5 })).toBe(false);
    expect(matches({ n: [5] }, { n: '5' })).toBe(false);
    expect(matches({ b: [true] }, { b: true })).toBe(true);
    expect(matches({ b: [true] }, { b: 'true' })).toBe(false);
    expect(matches({ v: [null] }, { v: null })).toBe(true);
    expect(matches({ v: [null] }, {})).toBe(false);
    expect(matches({ v: [''] }, { v: '' })).toBe(true);
    expect(matches({ s: ['Terminate'] }, { s: 'terminate' })).toBe(false);
  });

  it('matches a field holding an array when any element matches', () => {
    expect(matches({ tags: ['gpu'] }, { tags: ['cpu', 'gpu'] })).toBe(true);
    expect(matches({ tags: ['tpu'] }, { tags: ['cpu', 'gpu'] })).toBe(false);
    expect(matches({ n: [{ numeric: ['>', 10] }] }, { n: [1, 20] })).toBe(true);
    expect(matches({ tags: ['gpu'] }, { tags: [] })).toBe(false);
  });

  it('matches arrays of objects element by element', () => {
    const detail = { items: [{ a: 1, b: 9 }, { a: 9, b: 2 }] };
    expect(matches({ items: { a: [1] } }, detail)).toBe(true);
    expect(matches({ items: { a: [1], b: [9] } }, detail)).toBe(true);
    // Both conditions must hold in the same element.
    expect(matches({ items: { a: [1], b: [2] } }, detail)).toBe(false);
  });

  it('does not match a nested pattern against a scalar or a missing object', () => {
    expect(matches({ bucket: { name: ['x'] } }, { bucket: 'x' })).toBe(false);
    expect(matches({ bucket: { name: ['x'] } }, {})).toBe(false);
    expect(matchesPattern({ detail: { state: ['running'] } }, { source: 'test' })).toBe(false);
  });

  it('prefix, suffix and equals-ignore-case apply to strings only', () => {
    expect(matches({ s: [{ prefix: 'term' }] }, { s: 'terminate' })).toBe(true);
    expect(matches({ s: [{ prefix: 'TERM' }] }, { s: 'terminate' })).toBe(false);
    expect(matches({ s: [{ prefix: { 'equals-ignore-case': 'TERM' } }] }, { s: 'terminate' })).toBe(true);
    expect(matches({ s: [{ suffix: { 'equals-ignore-case': 'NATE' } }] }, { s: 'terminate' })).toBe(true);
    expect(matches({ n: [{ prefix: '1' }] }, { n: 12 })).toBe(false);
    expect(matches({ s: [{ 'equals-ignore-case': 'TeRmInAtE' }] }, { s: 'terminate' })).toBe(true);
    expect(matches({ s: [{ 'equals-ignore-case': 'stop' }] }, { s: 'terminate' })).toBe(false);
    expect(matches({ s: [{ prefix: '' }] }, {})).toBe(false);
  });

  it('anything-but excludes values, lists and prefixes, and needs the field present', () => {
    expect(matches({ s: [{ 'anything-but': 'terminate' }] }, { s: 'stop' })).toBe(true);
    expect(matches({ s: [{ 'anything-but': 'terminate' }] }, { s: 'terminate' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': ['terminate', 'stop'] }] }, { s: 'stop' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': ['terminate', 'stop'] }] }, { s: 'hibernate' })).toBe(true);
    expect(matches({ n: [{ 'anything-but': 0 }] }, { n: 0 })).toBe(false);
    expect(matches({ n: [{ 'anything-but': 0 }] }, { n: 1 })).toBe(true);
    expect(matches({ s: [{ 'anything-but': { prefix: 'i-' } }] }, { s: 'i-123' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': { prefix: 'i-' } }] }, { s: 'vol-123' })).toBe(true);
    expect(matches({ s: [{ 'anything-but': { suffix: '.tmp' } }] }, { s: 'a.json' })).toBe(true);
    expect(matches({ s: [{ 'anything-but': { 'equals-ignore-case': 'STOP' } }] }, { s: 'stop' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': { wildcard: '*.tmp' } }] }, { s: 'x.tmp' })).toBe(false);
    expect(matches({ s: [{ 'anything-but': 'terminate' }] }, {})).toBe(false);
    // An array matches if any element is not excluded.
    expect(matches({ s: [{ 'anything-but': 'a' }] }, { s: ['a', 'b'] })).toBe(true);
    expect(matches({ s: [{ 'anything-but': 'a' }] }, { s: ['a'] })).toBe(false);
  });

  it('exists matches leaves only', () => {
    expect(matches({ s: [{ exists: true }] }, { s: 'x' })).toBe(true);
    expect(matches({ s: [{ exists: true }] }, { s: null })).toBe(true);
    expect(matches({ s: [{ exists: true }] }, {})).toBe(false);
    expect(matches({ s: [{ exists: false }] }, {})).toBe(true);
    expect(matches({ s: [{ exists: false }] }, { s: 0 })).toBe(false);
    // An object is not a leaf.
    expect(matches({ s: [{ exists: true }] }, { s: { a: 1 } })).toBe(false);
    expect(matches({ s: [{ exists: false }] }, { s: { a: 1 } })).toBe(true);
    expect(matches({ s: [{ exists: true }] }, { s: [] })).toBe(false);
    // Under a missing parent, a field does not exist.
    expect(matchesPattern({ detail: { s: [{ exists: false }] } }, { source: 'test' })).toBe(true);
  });

  it('numeric compares numbers only, with ranges', () => {
    const range = { n: [{ numeric: ['>', 0, '<=', 5] }] };
    expect([0, 0.5, 5, 5.01, -1].map((n) => matches(range, { n }))).toEqual([false, true, true, false, false]);
    expect(matches(range, { n: '3' })).toBe(false);
    expect(matches({ n: [{ numeric: ['=', 3] }] }, { n: 3 })).toBe(true);
    expect(matches({ n: [{ numeric: ['>=', 3, '<', 4] }] }, { n: 3 })).toBe(true);
    expect(matches({ n: [{ numeric: ['<', 3] }] }, { n: 3 })).toBe(false);
  });

  it('wildcard: * for any run, \\* for a star, anchored', () => {
    expect(matches({ k: [{ wildcard: 'a*b' }] }, { k: 'ab' })).toBe(true);
    expect(matches({ k: [{ wildcard: 'a*b' }] }, { k: 'a/x/y/b' })).toBe(true);
    expect(matches({ k: [{ wildcard: 'a*b' }] }, { k: 'a/x/y/bc' })).toBe(false);
    expect(matches({ k: [{ wildcard: 'a.b' }] }, { k: 'axb' })).toBe(false);
    expect(matches({ k: [{ wildcard: 'a\\*b' }] }, { k: 'a*b' })).toBe(true);
    expect(matches({ k: [{ wildcard: 'a\\*b' }] }, { k: 'axb' })).toBe(false);
    expect(matches({ k: [{ wildcard: '*' }] }, { k: '' })).toBe(true);
  });

  it('ORs exact values and filters within one array', () => {
    const pattern = { s: ['stop', { prefix: 'hib' }, { numeric: ['>', 100] }] };
    expect([{ s: 'stop' }, { s: 'hibernate' }, { s: 101 }, { s: 'terminate' }, { s: 100 }].map((d) => matches(pattern, d))).toEqual([true, true, true, false, false]);
  });

  it('throws on an invalid pattern rather than matching nothing', () => {
    expect(() => matchesPattern({ source: 'aws.ec2' }, spotWarning)).toThrow(/source: must be an array/);
  });
});

describe('validatePattern', () => {
  it('accepts valid patterns', () => {
    for (const pattern of [
      { source: ['aws.ec2'], detail: { 'instance-action': ['terminate', null, 1, true] } },
      { a: [{ prefix: 'x' }, { suffix: { 'equals-ignore-case': 'y' } }, { 'anything-but': ['a', 1] }, { 'anything-but': { prefix: 'p' } }] },
      { a: [{ exists: false }, { numeric: ['>=', 0, '<', 1] }, { numeric: ['=', 2] }, { 'equals-ignore-case': 'x' }, { wildcard: 'a\\*b*c\\\\' }] },
    ]) {
      expect(validatePattern(pattern), JSON.stringify(pattern)).toBeUndefined();
    }
  });

  it.each([
    [null, /must be a JSON object/],
    [['aws.ec2'], /must be a JSON object/],
    [{}, /empty object/],
    [{ detail: {} }, /detail: an empty object/],
    [{ source: 'aws.ec2' }, /source: must be an array of allowed values or a nested object, got "aws.ec2"/],
    [{ source: [] }, /source: an empty array matches nothing/],
    [{ source: [['aws.ec2']] }, /source\[0\]: must be a string/],
    [{ detail: { 'instance-action': [{ prefix: 1 }] } }, /detail.instance-action\[0\].prefix: must be a string/],
    [{ a: [{ prefix: 'x', suffix: 'y' }] }, /exactly one key/],
    [{ a: [{ cidr: '10.0.0.0/24' }] }, /unsupported content filter "cidr"/],
    [{ a: [{ exists: 'yes' }] }, /exists: must be true or false/],
    [{ a: [{ numeric: ['>', '5'] }] }, /numeric\[1\]: must be a number/],
    [{ a: [{ numeric: ['!=', 5] }] }, /unknown operator "!="/],
    [{ a: [{ numeric: ['<', 5, '>', 0] }] }, /lower bound then an upper bound/],
    [{ a: [{ numeric: ['>', 0, '<'] }] }, /numeric: must be/],
    [{ a: [{ 'anything-but': [] }] }, /empty array excludes nothing/],
    [{ a: [{ 'anything-but': { exists: true } }] }, /anything-but: must be/],
    [{ a: [{ 'anything-but': [true] }] }, /must list strings or numbers/],
    [{ a: [{ wildcard: 'a**b' }] }, /consecutive wildcard characters at position 1/],
    [{ a: [{ wildcard: 'a\\b' }] }, /must escape/],
  ])('refuses %j', (pattern, message) => {
    expect(validatePattern(pattern)).toMatch(message);
  });
});
