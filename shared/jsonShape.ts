/**
 * Checks on JSON that must come before anything recursive touches it: a document nested
 * thousands of levels deep overflows the stack of any recursive reader (a schema, a walk, a
 * structured clone), and a string with a lone UTF-16 surrogate is not text at all — S3 keys,
 * DynamoDB and every downstream tool refuse or mangle it. Both walks here are iterative.
 */

/** Deeper than any request or event the product reads; SageMaker's own shapes are at most 6 deep. */
export const MAX_JSON_DEPTH = 64;

/** How deep the JSON text nests its arrays and objects, counted without parsing it; stops past `limit`. */
export function textDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** A UTF-16 surrogate without its other half. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const wellFormed = (text: string) => !LONE_SURROGATE.test(text);

export type JsonProblem = { kind: 'too-deep'; path: string } | { kind: 'not-unicode'; path: string };

/**
 * The first problem of a parsed value: nesting deeper than `maxDepth`, or a key or string that
 * is not well-formed Unicode. `path` names the field the way errors do (`A.B[2].C`).
 */
export function jsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length) {
    const { value: node, path, depth } = stack.pop()!;
    if (typeof node === 'string') {
      if (!wellFormed(node)) return { kind: 'not-unicode', path: path || '(body)' };
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth >= maxDepth) return { kind: 'too-deep', path: path || '(body)' };
    if (Array.isArray(node)) {
      node.forEach((item, i) => stack.push({ value: item, path: `${path}[${i}]`, depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(node as Record<string, unknown>)) {
      const child = path ? `${path}.${key}` : key;
      if (!wellFormed(key)) return { kind: 'not-unicode', path: `${path ? `${path}.` : ''}${key.replace(new RegExp(LONE_SURROGATE, 'g'), '\ufffd')}` };
      stack.push({ value: item, path: child, depth: depth + 1 });
    }
  }
  return undefined;
}

/** A problem in words, naming the field. */
export function describeJsonProblem(problem: JsonProblem, limit = MAX_JSON_DEPTH): string {
  return problem.kind === 'too-deep'
    ? `${problem.path} is nested more than ${limit} levels deep`
    : `${problem.path} is not valid Unicode (it holds a lone UTF-16 surrogate)`;
}
