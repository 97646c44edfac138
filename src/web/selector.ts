/**
 * Series selectors of `match[]` (and `match_target`), as Prometheus's
 * `parser.ParseMetricSelector`: one vector selector, no offset or `@`.
 * @module
 */

import { Matcher } from '../model/index.js';
import { parseExpr, PromQLParseError } from '../promql/index.js';

const EMPTY_SELECTOR = 'vector selector must contain at least one non-empty matcher';

/**
 * Parses one series selector into its matchers. Like `ParseMetricSelector`, it does not
 * require a non-empty matcher (`{__name__=~".*"}` is accepted): callers that need one check
 * themselves. Throws a {@link PromQLParseError}.
 */
export function parseMetricSelector(s: string): Matcher[] {
  let e;
  try {
    e = parseExpr(s);
  } catch (err) {
    // Our parser applies the non-empty check that Prometheus leaves to checkAST; retry with
    // a matcher that every named series satisfies, then take it out again.
    const open = s.indexOf('{');
    if (!(err instanceof PromQLParseError) || err.reason !== EMPTY_SELECTOR || open < 0) throw err;
    const inner = s.slice(open + 1).trimStart();
    const glue = inner.startsWith('}') ? '' : ',';
    e = parseExpr(`${s.slice(0, open)}{__name__=~".+"${glue}${s.slice(open + 1)}`);
    if (e.type !== 'vectorSelector') throw err;
    return e.matchers.filter(
      (m) => !(m.name === '__name__' && m.type === '=~' && m.value === '.+'),
    );
  }
  if (
    e.type !== 'vectorSelector' ||
    e.offset !== 0 ||
    e.timestamp !== null ||
    e.startOrEnd !== null
  ) {
    throw new PromQLParseError(
      s,
      { start: 0, end: s.length },
      `unexpected expression, want a series selector`,
    );
  }
  return e.matchers;
}

/** Whether at least one matcher rejects the empty string (the API's own requirement). */
export function hasNonEmptyMatcher(ms: readonly Matcher[]): boolean {
  for (const m of ms) if (!m.matchesEmpty()) return true;
  return false;
}
