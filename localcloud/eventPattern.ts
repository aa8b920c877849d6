/**
 * EventBridge content-based filtering, pure.
 *
 * A pattern is a JSON object whose fields are either nested objects (matched against the
 * event's object at that key) or non-empty arrays of allowed values: OR within an array, AND
 * across fields. A value is an exact scalar (string, number, boolean, null) or a content filter:
 * `{prefix}`, `{suffix}`, `{"anything-but": …}`, `{exists}`, `{numeric: [op, n, …]}`,
 * `{"equals-ignore-case"}`, `{wildcard}`.
 *
 * Semantics follow EventBridge (AWS's event-ruler):
 * - matching is typed: `["5"]` does not match the number 5, `[5]` does not match "5";
 * - an event field holding an array matches if any of its elements matches;
 * - for an array of objects under a nested pattern, one element must match the whole nested
 *   pattern (event-ruler's "array consistency");
 * - only leaves (scalars, null included) count as values: `{exists: true}` does not match a
 *   field holding an object, `{exists: false}` matches it;
 * - every filter but `{exists: false}` needs the field to be present: `anything-but`
 *   does not match a missing field.
 *
 * Not supported (refused by `validatePattern`): `cidr`, `$or`.
 */

type Scalar = string | number | boolean | null;
type Filter = Record<string, unknown>;

const NUMERIC_OPERATORS = ['=', '<', '<=', '>', '>='] as const;
type NumericOperator = (typeof NUMERIC_OPERATORS)[number];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Why `pattern` is not a valid event pattern, or undefined when it is. */
export function validatePattern(pattern: unknown): string | undefined {
  if (!isPlainObject(pattern)) return `the pattern must be a JSON object, got ${describe(pattern)}`;
  return validateObject(pattern, '');
}

function validateObject(object: Record<string, unknown>, path: string): string | undefined {
  const keys = Object.keys(object);
  if (keys.length === 0) return `${path || 'the pattern'}: an empty object filters nothing`;
  for (const key of keys) {
    const value = object[key];
    const at = path ? `${path}.${key}` : key;
    const problem = Array.isArray(value)
      ? validateValues(value, at)
      : isPlainObject(value)
        ? validateObject(value, at)
        : `${at}: must be an array of allowed values or a nested object, got ${describe(value)}`;
    if (problem) return problem;
  }
  return undefined;
}

function validateValues(values: unknown[], path: string): string | undefined {
  if (values.length === 0) return `${path}: an empty array matches nothing`;
  for (const [i, value] of values.entries()) {
    const problem = isPlainObject(value)
      ? validateFilter(value, `${path}[${i}]`)
      : isScalar(value)
        ? undefined
        : `${path}[${i}]: must be a string, number, boolean, null or content filter, got ${describe(value)}`;
    if (problem) return problem;
  }
  return undefined;
}

const FILTERS = ['prefix', 'suffix', 'anything-but', 'exists', 'numeric', 'equals-ignore-case', 'wildcard'];

function validateFilter(filter: Filter, path: string): string | undefined {
  const keys = Object.keys(filter);
  const [name] = keys;
  if (name === undefined || keys.length > 1) {
    return `${path}: a content filter has exactly one key (one of ${FILTERS.join(', ')}), got ${describe(filter)}`;
  }
  const operand = filter[name];
  const at = `${path}.${name}`;
  switch (name) {
    case 'prefix':
    case 'suffix':
      // `{prefix: {"equals-ignore-case": "x"}}` is EventBridge's case-insensitive prefix.
      if (typeof operand === 'string') return undefined;
      if (isPlainObject(operand) && Object.keys(operand).length === 1 && typeof operand['equals-ignore-case'] === 'string') return undefined;
      return `${at}: must be a string or {"equals-ignore-case": string}, got ${describe(operand)}`;
    case 'equals-ignore-case':
      return typeof operand === 'string' ? undefined : `${at}: must be a string, got ${describe(operand)}`;
    case 'wildcard':
      return typeof operand === 'string' ? validateWildcard(operand, at) : `${at}: must be a string, got ${describe(operand)}`;
    case 'exists':
      return typeof operand === 'boolean' ? undefined : `${at}: must be true or false, got ${describe(operand)}`;
    case 'numeric':
      return validateNumeric(operand, at);
    case 'anything-but':
      return validateAnythingBut(operand, at);
    default:
      return `${path}: unsupported content filter "${name}" (supported: ${FILTERS.join(', ')})`;
  }
}

function validateAnythingBut(operand: unknown, path: string): string | undefined {
  const isValue = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
  if (isValue(operand)) return undefined;
  if (Array.isArray(operand)) {
    if (operand.length === 0) return `${path}: an empty array excludes nothing`;
    return operand.every(isValue) ? undefined : `${path}: must list strings or numbers, got ${describe(operand)}`;
  }
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const inner = keys[0];
    if (keys.length === 1 && (inner === 'prefix' || inner === 'suffix' || inner === 'equals-ignore-case' || inner === 'wildcard')) {
      const value = operand[inner];
      if (typeof value !== 'string') return `${path}.${inner}: must be a string, got ${describe(value)}`;
      return inner === 'wildcard' ? validateWildcard(value, `${path}.${inner}`) : undefined;
    }
  }
  return `${path}: must be a string, a number, a list of them, or one of {prefix}, {suffix}, {equals-ignore-case}, {wildcard}; got ${describe(operand)}`;
}

function validateNumeric(operand: unknown, path: string): string | undefined {
  const shape = `["=", 5], [">", 0], or a lower bound then an upper bound like [">", 0, "<=", 5]`;
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) return `${path}: must be ${shape}, got ${describe(operand)}`;
  const ops: NumericOperator[] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const op: unknown = operand[i];
    const n: unknown = operand[i + 1];
    if (!NUMERIC_OPERATORS.includes(op as NumericOperator)) return `${path}[${i}]: unknown operator ${describe(op)} (use ${NUMERIC_OPERATORS.join(' ')})`;
    if (typeof n !== 'number' || !Number.isFinite(n)) return `${path}[${i + 1}]: must be a number, got ${describe(n)}`;
    ops.push(op as NumericOperator);
  }
  const [first, second] = ops;
  if (second !== undefined && !((first === '>' || first === '>=') && (second === '<' || second === '<='))) {
    return `${path}: must be ${shape}, got ${describe(operand)}`;
  }
  return undefined;
}

function validateWildcard(wildcard: string, path: string): string | undefined {
  for (let i = 0; i < wildcard.length; i++) {
    const c = wildcard[i];
    if (c === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\') return `${path}: "\\" at position ${i} must escape "*" or "\\"`;
      i++;
    } else if (c === '*' && wildcard[i + 1] === '*') {
      return `${path}: consecutive wildcard characters at position ${i}`;
    }
  }
  return undefined;
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Matching

/**
 * Whether `event` matches `pattern`. Throws a TypeError for an invalid pattern (see
 * `validatePattern`), rather than quietly matching nothing.
 */
export function matchesPattern(pattern: unknown, event: Record<string, unknown>): boolean {
  const problem = validatePattern(pattern);
  if (problem) throw new TypeError(`Invalid event pattern: ${problem}`);
  return matchObject(pattern as Record<string, unknown>, event);
}

/** `value` is the event's value at this level; anything but an object has no fields. */
function matchObject(pattern: Record<string, unknown>, value: unknown): boolean {
  return Object.entries(pattern).every(([key, subPattern]) => {
    const field = isPlainObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
    return Array.isArray(subPattern) ? matchValues(subPattern, leavesOf(field)) : matchNested(subPattern as Record<string, unknown>, field);
  });
}

function matchNested(pattern: Record<string, unknown>, field: unknown): boolean {
  if (Array.isArray(field) && field.length > 0) return field.some((element) => matchNested(pattern, element));
  return matchObject(pattern, field);
}

/** The scalar values at a field: none when missing or an object, every element of an array. */
function leavesOf(field: unknown): Scalar[] {
  if (Array.isArray(field)) return field.flatMap(leavesOf);
  return isScalar(field) ? [field] : [];
}

function matchValues(allowed: unknown[], leaves: Scalar[]): boolean {
  return allowed.some((value) => {
    if (!isPlainObject(value)) return leaves.some((leaf) => leaf === value);
    if ('exists' in value) return value['exists'] === leaves.length > 0;
    return leaves.some((leaf) => matchFilter(value, leaf));
  });
}

function matchFilter(filter: Filter, leaf: Scalar): boolean {
  const [name, operand] = Object.entries(filter)[0] as [string, unknown];
  switch (name) {
    case 'prefix':
    case 'suffix':
      return typeof leaf === 'string' && matchAffix(name, operand as string | Filter, leaf);
    case 'equals-ignore-case':
      return typeof leaf === 'string' && leaf.toLowerCase() === (operand as string).toLowerCase();
    case 'wildcard':
      return typeof leaf === 'string' && wildcardRegExp(operand as string).test(leaf);
    case 'numeric':
      return typeof leaf === 'number' && matchNumeric(operand as unknown[], leaf);
    case 'anything-but':
      return matchAnythingBut(operand, leaf);
    default:
      // Unreachable: validatePattern refuses unknown filters.
      throw new TypeError(`unsupported content filter "${name}"`);
  }
}

function matchAffix(kind: 'prefix' | 'suffix', operand: string | Filter, leaf: string): boolean {
  const ignoreCase = typeof operand !== 'string';
  const affix = ignoreCase ? (operand['equals-ignore-case'] as string).toLowerCase() : operand;
  const subject = ignoreCase ? leaf.toLowerCase() : leaf;
  return kind === 'prefix' ? subject.startsWith(affix) : subject.endsWith(affix);
}

function matchNumeric(conditions: unknown[], n: number): boolean {
  for (let i = 0; i < conditions.length; i += 2) {
    const bound = conditions[i + 1] as number;
    const holds = { '=': n === bound, '<': n < bound, '<=': n <= bound, '>': n > bound, '>=': n >= bound }[conditions[i] as NumericOperator];
    if (!holds) return false;
  }
  return true;
}

function matchAnythingBut(operand: unknown, leaf: Scalar): boolean {
  if (Array.isArray(operand)) return !operand.includes(leaf);
  if (isPlainObject(operand)) return typeof leaf === 'string' && !matchFilter(operand, leaf);
  return leaf !== operand;
}

/** `*` matches any run of characters; `\*` is a literal star and `\\` a literal backslash. */
function wildcardRegExp(wildcard: string): RegExp {
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const c = wildcard[i] as string;
    if (c === '*') source += '.*';
    else if (c === '\\') source += escapeRegExp(wildcard[++i] as string);
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 's');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
