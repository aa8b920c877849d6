/**
 * Hyperparameters as the SageMaker training toolkit hands them to a script: each value of
 * hyperparameters.json is decoded with Python's `json.loads` when it parses (else kept as the
 * string), then written into `SM_HP_<NAME>` and `SM_HPS` with
 * `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True)`. JavaScript's JSON
 * differs from Python's in what it prints (`1e-05` against `0.00001`, `10.0` against `10`,
 * key order, non-ASCII), so the values are parsed here into a tree that keeps what Python
 * would know (an int apart from a float) and printed back the way Python prints it.
 */
export type PyValue = null | boolean | string | PyInt | PyFloat | PyValue[] | { [key: string]: PyValue };

/** An integer as Python keeps it: every digit, whatever its size. */
export class PyInt {
  constructor(readonly digits: string) {}
}

export class PyFloat {
  constructor(readonly value: number) {}
}

class Cursor {
  at = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.at < this.text.length && ' \t\n\r'.includes(this.text[this.at] as string)) this.at++;
  }

  fail(): never {
    throw new SyntaxError(`not JSON at ${this.at}`);
  }
}

/** Python's `json.loads`: NaN, Infinity and -Infinity are numbers, as Python accepts them. */
export function pythonLoads(text: string): PyValue {
  const c = new Cursor(text);
  c.skipSpace();
  const value = readValue(c);
  c.skipSpace();
  if (c.at !== text.length) c.fail();
  return value;
}

function readValue(c: Cursor): PyValue {
  const ch = c.text[c.at];
  if (ch === '{') return readObject(c);
  if (ch === '[') return readArray(c);
  if (ch === '"') return readString(c);
  for (const [word, value] of [
    ['true', true],
    ['false', false],
    ['null', null],
    ['NaN', new PyFloat(Number.NaN)],
    ['Infinity', new PyFloat(Number.POSITIVE_INFINITY)],
    ['-Infinity', new PyFloat(Number.NEGATIVE_INFINITY)],
  ] as const) {
    if (c.text.startsWith(word, c.at)) {
      c.at += word.length;
      return value;
    }
  }
  const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(c.text.slice(c.at));
  if (!number) c.fail();
  c.at += number[0].length;
  if (number[2] === undefined && number[3] === undefined) return new PyInt(BigInt(number[0]).toString());
  return new PyFloat(Number(number[0]));
}

function readObject(c: Cursor): PyValue {
  c.at++;
  const out: Record<string, PyValue> = {};
  c.skipSpace();
  if (c.text[c.at] === '}') {
    c.at++;
    return out;
  }
  for (;;) {
    c.skipSpace();
    if (c.text[c.at] !== '"') c.fail();
    const key = readString(c);
    c.skipSpace();
    if (c.text[c.at++] !== ':') c.fail();
    c.skipSpace();
    // Python keeps the last of repeated keys, as an assignment does.
    out[key] = readValue(c);
    c.skipSpace();
    const next = c.text[c.at++];
    if (next === '}') return out;
    if (next !== ',') c.fail();
  }
}

function readArray(c: Cursor): PyValue {
  c.at++;
  const out: PyValue[] = [];
  c.skipSpace();
  if (c.text[c.at] === ']') {
    c.at++;
    return out;
  }
  for (;;) {
    c.skipSpace();
    out.push(readValue(c));
    c.skipSpace();
    const next = c.text[c.at++];
    if (next === ']') return out;
    if (next !== ',') c.fail();
  }
}

function readString(c: Cursor): string {
  const match = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/.exec(c.text.slice(c.at));
  if (!match) c.fail();
  c.at += match[0].length;
  return JSON.parse(match[0]) as string;
}

/** Python's `repr(float)`: the shortest digits that round-trip (as JavaScript's), in Python's notation. */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa = '', exp = '0'] = value.toExponential().split('e');
  const exponent = Number(exp);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  // Python writes 1e-05 .. 1e+16 with an exponent; in between, positionally with at least `.0`.
  if (exponent < -4 || exponent >= 16) {
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : '';
    return `${sign}${digits[0]}${rest}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction || '0'}`;
}

function asciiString(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Python's `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`. */
export function pythonDumps(value: PyValue): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return asciiString(value);
  if (value instanceof PyInt) return value.digits;
  if (value instanceof PyFloat) return pythonFloat(value.value);
  if (Array.isArray(value)) return `[${value.map(pythonDumps).join(',')}]`;
  // Python sorts str keys by code point; JavaScript's default sort compares UTF-16 units, which differs only past U+FFFF.
  const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${asciiString(k)}:${pythonDumps(value[k] as PyValue)}`).join(',')}}`;
}

/** A hyperparameter's value as the toolkit decodes it: JSON when it parses, else the string itself. */
export function decodeHyperparameter(raw: string): PyValue {
  try {
    return pythonLoads(raw);
  } catch {
    return raw;
  }
}

/** The toolkit's `format_value`: a string as it is, anything else as compact sorted JSON. */
export function environmentValue(value: PyValue): string {
  if (value === null) return '';
  return typeof value === 'string' ? value : pythonDumps(value);
}

/** Python's `repr` of a decoded value (what `str` gives inside a list or a dict). */
export function pythonRepr(value: PyValue): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value instanceof PyInt) return value.digits;
  if (value instanceof PyFloat) {
    if (Number.isNaN(value.value)) return 'nan';
    if (!Number.isFinite(value.value)) return value.value > 0 ? 'inf' : '-inf';
    return pythonFloat(value.value);
  }
  if (typeof value === 'string') {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = [...value]
      .map((ch) => {
        if (ch === '\\') return '\\\\';
        if (ch === quote) return `\\${quote}`;
        if (ch === '\n') return '\\n';
        if (ch === '\r') return '\\r';
        if (ch === '\t') return '\\t';
        const code = ch.codePointAt(0) as number;
        if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
        return ch;
      })
      .join('');
    return `${quote}${body}${quote}`;
  }
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${pythonRepr(k)}: ${pythonRepr(v)}`)
    .join(', ')}}`;
}

/**
 * A hyperparameter as a command-line argument, as the toolkit's `to_cmd_args` writes it:
 * `str()` of the value, a mapping as `key=value,…` in key order, nothing for None.
 */
export function argumentValue(value: PyValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (!Array.isArray(value) && typeof value === 'object' && !(value instanceof PyInt) && !(value instanceof PyFloat)) {
    return Object.keys(value)
      .sort()
      .map((k) => {
        const item = value[k] as PyValue;
        return `${k}=${typeof item === 'string' ? item : pythonRepr(item)}`;
      })
      .join(',');
  }
  return pythonRepr(value);
}

/** The toolkit's `to_cmd_args`: keys in order, `--name` (or `-n` for one letter) then the value. */
export function commandLineArguments(hyperparameters: Record<string, PyValue>): string[] {
  return Object.keys(hyperparameters)
    .sort()
    .flatMap((k) => [k.length > 1 ? `--${k}` : `-${k}`, argumentValue(hyperparameters[k] as PyValue)]);
}
