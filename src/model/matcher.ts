/**
 * Label matchers: `=`, `!=`, `=~`, `!~`, with Prometheus semantics. A missing label
 * matches as the empty string, so `{a=""}` selects series without `a` and `{a!=""}`
 * those with it. Regexes are RE2, fully anchored, compiled once (see regex.ts).
 * @module
 */

import { isValidLabelName } from './labels.js';
import { FastRegexMatcher } from './regex.js';

/** The four matcher kinds, spelt as in PromQL. */
export type MatchType = '=' | '!=' | '=~' | '!~';

/** One label matcher. Immutable; the regex is compiled once at construction. */
export class Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  private readonly re: FastRegexMatcher | null;

  /** Throws a RegexError (a ParseError) when a regex matcher's value is not valid RE2. */
  constructor(type: MatchType, name: string, value: string) {
    this.type = type;
    this.name = name;
    this.value = value;
    this.re = type === '=~' || type === '!~' ? new FastRegexMatcher(value) : null;
  }

  /** Reports whether a label value (or '' for a missing label) satisfies the matcher. */
  matches(v: string): boolean {
    switch (this.type) {
      case '=':
        return v === this.value;
      case '!=':
        return v !== this.value;
      case '=~':
        return this.re!.matches(v);
      case '!~':
        return !this.re!.matches(v);
    }
  }

  /** Reports whether the matcher is satisfied by the empty string (a missing label). */
  matchesEmpty(): boolean {
    return this.matches('');
  }

  /**
   * For `=~` and `!~`: every value the regex matches, when that is a short list of literals
   * (`a|b|c`), so the postings index can look them up instead of scanning all values; null
   * otherwise and for `=`/`!=`, as Prometheus's `Matcher.SetMatches`.
   */
  setMatches(): string[] | null {
    return this.re === null ? null : this.re.setMatches();
  }

  /** The regex fast path taken (`'equal'`, `'set'`, `'prefix'`, …, `'regex'`), or null for `=`/`!=`. */
  regexFastPath(): string | null {
    return this.re === null ? null : this.re.fastPath;
  }

  /**
   * PromQL text of the matcher, `name="value"` with the value quoted as Go's `%q` does; a
   * name that is not a legacy label name is quoted too (`"a.b"="v"`), as in Prometheus 3.
   */
  toString(): string {
    const name = isValidLabelName(this.name) ? this.name : goQuote(this.name);
    return `${name}${this.type}${goQuote(this.value)}`;
  }
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/**
 * Quotes a string as Go's `strconv.Quote` (`%q`): `\a \b \f \n \r \t \v \\ \"`, `\xHH` for
 * other ASCII controls, `\uHHHH`/`\UHHHHHHHH` for non-printable Unicode, printable text as is.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (cp) {
      case 0x07:
        out += '\\a';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
      case 0x0b:
        out += '\\v';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x22:
        out += '\\"';
        continue;
    }
    if (cp === 0x20 || (cp > 0x20 && cp < 0x7f)) out += ch;
    else if (cp < 0x80) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0xd800 && cp <= 0xdfff)
      out += '\ufffd'; // a lone surrogate reaches Go as U+FFFD, which is printable
    else if (PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}
