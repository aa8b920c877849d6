/**
 * CloudWatch Logs filter patterns for unstructured events, as FilterLogEvents applies them:
 *   ERROR Exception      every term must appear (terms are case sensitive)
 *   "Connection reset"   a quoted phrase is one term, spaces and all
 *   ?ERROR ?WARN         at least one of the `?` terms must appear
 *   ERROR -timeout       a `-` term must not appear
 *   %[0-9]{3} ms%        a regular expression between percent signs
 * An empty pattern matches every event. JSON (`{ $.x = 1 }`) and space-delimited (`[a, b]`)
 * patterns are refused with the reason, never treated as plain terms.
 */
export function compileFilterPattern(pattern: string, invalid: (message: string) => Error): (message: string) => boolean {
  const text = pattern.trim();
  if (!text) return () => true;
  if (text.startsWith('{') || text.startsWith('[')) {
    throw invalid(`Invalid filter pattern '${text}': the local CloudWatch Logs supports plain terms, quoted phrases, ?term, -term and %regex% patterns, not JSON or space-delimited ones`);
  }
  if (text.length > 1 && text.startsWith('%') && text.endsWith('%')) {
    let regex: RegExp;
    try {
      regex = new RegExp(text.slice(1, -1));
    } catch (error) {
      throw invalid(`Invalid filter pattern '${text}': ${(error as Error).message}`);
    }
    return (message) => regex.test(message);
  }
  const all: string[] = [];
  const any: string[] = [];
  const none: string[] = [];
  for (const match of text.matchAll(/([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)) {
    const [, sign, quoted, bare] = match;
    const term = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare as string);
    if (!term) continue;
    (sign === '?' ? any : sign === '-' ? none : all).push(term);
  }
  return (message) => all.every((t) => message.includes(t)) && !none.some((t) => message.includes(t)) && (any.length === 0 || any.some((t) => message.includes(t)));
}
