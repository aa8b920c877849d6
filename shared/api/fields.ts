import { validationError } from '../errors.js';

/**
 * Reads untrusted JSON field by field and collects every problem, then reports them the way
 * SageMaker does: "2 validation errors detected: Value 'x' at 'Field' failed to satisfy
 * constraint: Member must ...". Paths are the request's own field names.
 */
export class FieldReader {
  private readonly problems: string[] = [];

  problem(path: string, value: unknown, constraint: string): void {
    this.violation(path, value, `Member must ${constraint}`);
  }

  /** A value against one of the model's constraints, in SageMaker's words ("Map keys must satisfy constraint: [...]"). */
  violation(path: string, value: unknown, constraint: string): void {
    this.problems.push(`Value ${show(value)} at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  /** A problem that is not about one value's shape (e.g. two fields that disagree). */
  invalid(message: string): void {
    this.problems.push(message);
  }

  get ok(): boolean {
    return this.problems.length === 0;
  }

  throwIfInvalid(): void {
    if (this.ok) return;
    const n = this.problems.length;
    throw validationError(`${n} validation error${n === 1 ? '' : 's'} detected: ${this.problems.join('; ')}`);
  }

  object(value: unknown, path: string, required: boolean): Record<string, unknown> | undefined {
    if (value === undefined || value === null) {
      if (required) this.problem(path, value, 'not be null');
      return undefined;
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.problem(path, value, 'be a structure');
      return undefined;
    }
    return value as Record<string, unknown>;
  }

  onlyKnown(obj: Record<string, unknown>, path: string, known: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) this.unknownField(path, key, known);
    }
  }

  /** A member SageMaker does not have: refused, named as the request spelled it. */
  unknownField(path: string, key: string, known: readonly string[]): void {
    this.invalid(`Unknown field '${path ? `${path}.` : ''}${printable(key, 64)}'; supported here: ${known.join(', ')}`);
  }

  string(
    obj: Record<string, unknown> | undefined,
    key: string,
    path: string,
    rules: { required?: boolean; min?: number; max: number; pattern?: RegExp; oneOf?: readonly string[] },
  ): string | undefined {
    const value = obj?.[key];
    if (value === undefined || value === null) {
      if (rules.required) this.problem(path, value, 'not be null');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.problem(path, value, 'be a string');
      return undefined;
    }
    const before = this.problems.length;
    if (value.length < (rules.min ?? 0)) this.problem(path, value, `have length greater than or equal to ${rules.min}`);
    if (value.length > rules.max) this.problem(path, value, `have length less than or equal to ${rules.max}`);
    else if (rules.pattern && !rules.pattern.test(value)) this.problem(path, value, `satisfy regular expression pattern: ${rules.pattern.source}`);
    if (rules.oneOf && !rules.oneOf.includes(value)) this.problem(path, value, `satisfy enum value set: [${rules.oneOf.join(', ')}]`);
    return this.problems.length === before ? value : undefined;
  }

  integer(obj: Record<string, unknown> | undefined, key: string, path: string, rules: { required?: boolean; min: number; max: number }): number | undefined {
    const value = obj?.[key];
    if (value === undefined || value === null) {
      if (rules.required) this.problem(path, value, 'not be null');
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      this.problem(path, value, 'be an integer');
      return undefined;
    }
    if (value < rules.min) {
      this.problem(path, value, `have value greater than or equal to ${rules.min}`);
      return undefined;
    }
    if (value > rules.max) {
      this.problem(path, value, `have value less than or equal to ${rules.max}`);
      return undefined;
    }
    return value;
  }

  boolean(obj: Record<string, unknown> | undefined, key: string, path: string): boolean | undefined {
    const value = obj?.[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      this.problem(path, value, 'be a boolean');
      return undefined;
    }
    return value;
  }

  /** SageMaker's JSON protocol sends timestamps as epoch seconds; ISO strings are accepted too. */
  timestamp(obj: Record<string, unknown> | undefined, key: string, path: string): number | undefined {
    const value = obj?.[key];
    if (value === undefined || value === null) return undefined;
    const millis = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : NaN;
    if (!Number.isFinite(millis) || millis < 0 || millis > 8.64e15) {
      this.problem(path, value, 'be a timestamp (epoch seconds or ISO 8601)');
      return undefined;
    }
    return Math.floor(millis);
  }

  list<T>(obj: Record<string, unknown> | undefined, key: string, path: string, rules: { max: number }, item: (value: unknown, path: string) => T | undefined): T[] | undefined {
    const value = obj?.[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      this.problem(path, value, 'be a list');
      return undefined;
    }
    if (value.length > rules.max) {
      this.problem(path, `[${value.length} items]`, `have length less than or equal to ${rules.max}`);
      return undefined;
    }
    const items: T[] = [];
    value.forEach((element, i) => {
      const read = item(element, `${path}.${i + 1}.member`);
      if (read !== undefined) items.push(read);
    });
    return items;
  }

  stringMap(
    obj: Record<string, unknown> | undefined,
    key: string,
    path: string,
    rules: { maxEntries: number; keyPattern: RegExp; keyMax: number; valueMax: number },
  ): Record<string, string> | undefined {
    const map = this.object(obj?.[key], path, false);
    if (!map) return undefined;
    const entries = Object.entries(map);
    if (entries.length > rules.maxEntries) {
      this.problem(path, `{${entries.length} entries}`, `have length less than or equal to ${rules.maxEntries}`);
      return undefined;
    }
    const result: Record<string, string> = {};
    for (const [k, v] of entries) {
      if (k.length > rules.keyMax) this.problem(`${path}.key`, k, `have length less than or equal to ${rules.keyMax}`);
      else if (!rules.keyPattern.test(k)) this.problem(`${path}.key`, k, `satisfy regular expression pattern: ${rules.keyPattern.source}`);
      else if (typeof v !== 'string') this.problem(`${path}.${printable(k, 64)}`, v, 'be a string');
      else if (v.length > rules.valueMax) this.problem(`${path}.${k}`, v, `have length less than or equal to ${rules.valueMax}`);
      else result[k] = v;
    }
    return result;
  }
}

/** `CheckpointConfig.S3Uri` as SageMaker names it in its messages: `checkpointConfig.s3Uri`. */
export const wirePath = (field: string) =>
  field
    .split('.')
    .map((part) => part.charAt(0).toLowerCase() + part.slice(1))
    .join('.');

/** A value as it appears in an error: quoted, control characters escaped, long ones cut short. */
function show(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return `'${printable(value, 100)}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return `'${String(value)}'`;
  return `'${printable(JSON.stringify(value) ?? String(value), 100)}'`;
}

export function printable(text: string, max: number): string {
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > max ? `${escaped.slice(0, max)}…(${text.length} characters)` : escaped;
}
