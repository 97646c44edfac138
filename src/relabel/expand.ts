/**
 * Replacement templates with the exact rules of Go's `Regexp.Expand`, compiled once per rule:
 * `$1`, `${1}`, `$name`, `${name}`, `$$` for a dollar. A reference takes the longest run of
 * letters, digits and `_`, so `$1x` names the group `1x` (usually absent, hence empty) and
 * `${1}x` is group 1 then `x`. A number with a leading zero (`$01`) is a name, not a number.
 * A malformed reference (`$`, `${1`, `$-`) stays literal text.
 * @module
 */

import type { RegexMatch } from '../model/regex.js';

/** A compiled template: literal strings and capture-group indexes (-1: no such group). */
export type Template = readonly (string | number)[];

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** Compiles `template` against the capture-group names of a regex (index 0 is ''). */
export function compileTemplate(template: string, groupNames: readonly string[]): Template {
  const parts: (string | number)[] = [];
  let lit = '';
  let rest = template;
  for (;;) {
    const d = rest.indexOf('$');
    if (d < 0) break;
    lit += rest.slice(0, d);
    rest = rest.slice(d + 1);
    if (rest.startsWith('$')) {
      lit += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = extractRef(rest);
    if (ref === null) {
      lit += '$';
      continue;
    }
    rest = rest.slice(ref.length);
    if (lit !== '') parts.push(lit);
    lit = '';
    parts.push(groupIndex(ref.name, groupNames));
  }
  lit += rest;
  if (lit !== '') parts.push(lit);
  return parts;
}

/** Go's `extract`: the reference at the start of `s` (after the `$`), or null. */
function extractRef(s: string): { name: string; length: number } | null {
  let i = 0;
  const brace = s.startsWith('{');
  if (brace) i = 1;
  const start = i;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === start) return null;
  const name = s.slice(start, i);
  if (brace) {
    if (s[i] !== '}') return null;
    i++;
  }
  return { name, length: i };
}

function groupIndex(name: string, groupNames: readonly string[]): number {
  // A number: decimal digits, no leading zero, at most nine digits (as Go parses it).
  if (/^(?:0|[1-9][0-9]{0,8})$/.test(name)) {
    const n = Number(name);
    return n < groupNames.length ? n : -1;
  }
  for (let i = 1; i < groupNames.length; i++) if (groupNames[i] === name) return i;
  return -1;
}

/** Expands a compiled template with the captures of a match. */
export function expandTemplate(t: Template, match: RegexMatch): string {
  if (t.length === 1 && typeof t[0] === 'string') return t[0];
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const p = t[i];
    if (typeof p === 'string') out += p;
    else if (p >= 0) out += match[p] ?? '';
  }
  return out;
}

/** Reports whether a template mentions `$` at all (Prometheus's `varInRegexTemplate`). */
export function hasTemplateVars(template: string): boolean {
  return template.includes('$');
}
