import type { FieldReader } from '../fields.js';
import type { Shape } from './shape.js';
import { SHAPES } from './shapes.js';

/**
 * Checks a request against SageMaker's service model, as SageMaker's front end does before
 * the service sees it: types, required members, lengths, value ranges, patterns and enums,
 * at every depth. Problems are reported in SageMaker's words and with its member paths
 * (`resourceConfig.instanceType`, `inputDataConfig.1.member.channelName`); a member the
 * model does not have is refused, named as it was sent.
 */
export interface ModelCheckOptions {
  /** Shapes whose enum the product replaces with a rule of its own (instance types it maps). */
  skipEnum?: ReadonlySet<string>;
  /** Members the product adds to a structure, checked by the product itself: shape → member names. */
  extraMembers?: Readonly<Record<string, readonly string[]>>;
  /** Members the model requires that the product defaults instead: shape → member names. */
  optionalMembers?: Readonly<Record<string, readonly string[]>>;
}

const patterns = new Map<string, RegExp>();

/** Java's regular expressions as JavaScript's, matched against the whole value as Java's `matches()` does. */
export function modelPattern(pattern: string): RegExp {
  let compiled = patterns.get(pattern);
  if (!compiled) {
    const js = pattern.replaceAll('\\p{Alnum}', 'a-zA-Z0-9');
    compiled = new RegExp(`^(?:${js})$`, 'u');
    patterns.set(pattern, compiled);
  }
  return compiled;
}

export function shapeOf(name: string): Shape {
  const shape = SHAPES[name];
  if (!shape) throw new Error(`SageMaker's model has no shape ${name}`);
  return shape;
}

/** `S3DataSource` → `s3DataSource`, as SageMaker names members in its messages. */
const wireName = (member: string) => member.charAt(0).toLowerCase() + member.slice(1);

interface Where {
  /** SageMaker's path, for constraint messages. */
  path: string;
  /** The path as the request spelled it, for unknown members. */
  sent: string;
}

const join = (parent: Where, member: string): Where => ({
  path: parent.path ? `${parent.path}.${wireName(member)}` : wireName(member),
  sent: parent.sent ? `${parent.sent}.${member}` : member,
});

export function checkAgainstModel(reader: FieldReader, shapeName: string, value: unknown, options: ModelCheckOptions = {}): void {
  check(reader, shapeName, value, { path: '', sent: '' }, options);
}

function check(reader: FieldReader, shapeName: string, value: unknown, at: Where, options: ModelCheckOptions): void {
  const shape = shapeOf(shapeName);
  switch (shape.type) {
    case 'structure':
      return structure(reader, shapeName, shape, value, at, options);
    case 'list':
      if (!Array.isArray(value)) return reader.problem(at.path, value, 'be a list');
      if (!length(reader, shape, value.length, `[${value.length} items]`, at)) return;
      return value.forEach((item, i) => check(reader, shape.member as string, item, { path: `${at.path}.${i + 1}.member`, sent: `${at.sent}[${i}]` }, options));
    case 'map':
      return map(reader, shape, value, at, options);
    case 'string':
      return string(reader, shapeName, shape, value, at, options);
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return reader.problem(at.path, value, 'be an integer');
      return range(reader, shape, value, at);
    case 'float':
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) return reader.problem(at.path, value, 'be a number');
      return range(reader, shape, value, at);
    case 'boolean':
      if (typeof value !== 'boolean') reader.problem(at.path, value, 'be a boolean');
      return;
    default:
      reader.problem(at.path, value, `be a ${shape.type}`);
  }
}

function structure(reader: FieldReader, shapeName: string, shape: Shape, value: unknown, at: Where, options: ModelCheckOptions): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return reader.problem(at.path || 'request body', value, 'be a structure');
  const obj = value as Record<string, unknown>;
  const members = shape.members ?? {};
  const extra = options.extraMembers?.[shapeName] ?? [];
  for (const key of Object.keys(obj)) {
    if (!(key in members) && !extra.includes(key)) {
      reader.unknownField(at.sent, key, [...Object.keys(members), ...extra]);
    }
  }
  const optional = options.optionalMembers?.[shapeName] ?? [];
  for (const required of shape.required ?? []) {
    if (optional.includes(required)) continue;
    if (obj[required] === undefined || obj[required] === null) reader.problem(join(at, required).path, null, 'not be null');
  }
  for (const [member, memberShape] of Object.entries(members)) {
    const memberValue = obj[member];
    if (memberValue !== undefined && memberValue !== null) check(reader, memberShape, memberValue, join(at, member), options);
  }
}

function map(reader: FieldReader, shape: Shape, value: unknown, at: Where, options: ModelCheckOptions): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return reader.problem(at.path, value, 'be a map');
  const entries = Object.entries(value as Record<string, unknown>);
  if (!length(reader, shape, entries.length, `{${entries.length} entries}`, at)) return;
  for (const [key, item] of entries) {
    const keyProblems = stringConstraints(shapeOf(shape.key as string), key);
    if (keyProblems.length) reader.violation(at.path, key, `Map keys must satisfy constraint: [${keyProblems.join(', ')}]`);
    const valueShape = shapeOf(shape.value as string);
    if (valueShape.type === 'string') {
      const problems = typeof item === 'string' ? stringConstraints(valueShape, item) : ['Member must be a string'];
      if (problems.length) reader.violation(`${at.path}.${key}`, item, `Map value must satisfy constraint: [${problems.join(', ')}]`);
    } else {
      check(reader, shape.value as string, item, { path: `${at.path}.${key}`, sent: `${at.sent}.${key}` }, options);
    }
  }
}

function string(reader: FieldReader, shapeName: string, shape: Shape, value: unknown, at: Where, options: ModelCheckOptions): void {
  if (typeof value !== 'string') return reader.problem(at.path, value, 'be a string');
  const effective = options.skipEnum?.has(shapeName) ? { ...shape, enum: undefined } : shape;
  for (const problem of stringConstraints(effective, value)) reader.violation(at.path, value, problem);
}

/** A string's violations of its shape, each as SageMaker words it ("Member must …"). */
function stringConstraints(shape: Shape, value: string): string[] {
  const problems: string[] = [];
  if (shape.min !== undefined && value.length < shape.min) problems.push(`Member must have length greater than or equal to ${shape.min}`);
  if (shape.max !== undefined && value.length > shape.max) problems.push(`Member must have length less than or equal to ${shape.max}`);
  else if (shape.pattern !== undefined && !modelPattern(shape.pattern).test(value)) problems.push(`Member must satisfy regular expression pattern: ${shape.pattern}`);
  if (shape.enum && !shape.enum.includes(value)) problems.push(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
  return problems;
}

function length(reader: FieldReader, shape: Shape, size: number, shown: string, at: Where): boolean {
  if (shape.min !== undefined && size < shape.min) {
    reader.problem(at.path, shown, `have length greater than or equal to ${shape.min}`);
    return false;
  }
  if (shape.max !== undefined && size > shape.max) {
    reader.problem(at.path, shown, `have length less than or equal to ${shape.max}`);
    return false;
  }
  return true;
}

function range(reader: FieldReader, shape: Shape, value: number, at: Where): void {
  if (shape.min !== undefined && value < shape.min) reader.problem(at.path, value, `have value greater than or equal to ${shape.min}`);
  else if (shape.max !== undefined && value > shape.max) reader.problem(at.path, value, `have value less than or equal to ${shape.max}`);
}
