/**
 * Label matchers: `=`, `!=`, `=~`, `!~`, with Prometheus semantics. A missing label
 * matches as the empty string, so `{a=""}` selects series without `a` and `{a!=""}`
 * those with it. Regexes are fully anchored.
 * @module
 */

import { compileRegex } from './regex.js';

/** The four matcher kinds, spelt as in PromQL. */
export type MatchType = '=' | '!=' | '=~' | '!~';

/** One label matcher. Immutable; the regex is compiled once at construction. */
export class Matcher {
  readonly type: MatchType;
  readonly name: string;
  readonly value: string;
  private readonly re: RegExp | null;

  constructor(type: MatchType, name: string, value: string) {
    this.type = type;
    this.name = name;
    this.value = value;
    this.re = type === '=~' || type === '!~' ? compileRegex(value) : null;
  }

  /** Reports whether a label value (or '' for a missing label) satisfies the matcher. */
  matches(v: string): boolean {
    switch (this.type) {
      case '=':
        return v === this.value;
      case '!=':
        return v !== this.value;
      case '=~':
        return this.re!.test(v);
      case '!~':
        return !this.re!.test(v);
    }
  }

  /** Reports whether the matcher is satisfied by the empty string (a missing label). */
  matchesEmpty(): boolean {
    return this.matches('');
  }

  /** PromQL text of the matcher: `name="value"`. */
  toString(): string {
    return `${this.name}${this.type}${JSON.stringify(this.value)}`;
  }
}
