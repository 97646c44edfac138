/**
 * Prometheus regular expressions: Go RE2 syntax, fully anchored, with `.` matching newline as
 * in Prometheus 3 (`^(?s:re)$`), compiled to a JavaScript RegExp.
 *
 * The pattern is parsed into a small syntax tree with Go's rules (`regexp/syntax`, Perl flags)
 * and printed again as JavaScript. Go-only constructs are translated (`\z`, `\A`, `(?P<n>…)`,
 * `(?i)`/`(?s)`/`(?m)`/`(?U)` anywhere, `\Q…\E`, POSIX classes, `\pL`, octal and `\x{…}`
 * escapes); constructs RE2 rejects but JavaScript would accept (backreferences, lookaround,
 * atomic groups, possessive quantifiers) fail with an error that names them.
 *
 * The output always uses the `u` flag: Go matches UTF-8 text rune by rune, so `.` and `[^a]`
 * consume one code point, and only the `u` flag makes JavaScript do that for characters
 * outside the BMP (without it `^.$` would not match "😀"); it is also what `\p{…}` needs. In
 * exchange the printer must never emit an escape that `u` mode rejects, so every literal is
 * printed from its code point, not from the source text.
 *
 * Two things a backtracking engine cannot do as Go does, {@link FastRegexMatcher} does with a
 * small Pike VM (Go's regexp/exec.go): run in time linear in the input (JavaScript takes
 * seconds on `(a+)+b` against 30 a's), and keep a capture from an earlier repetition
 * (`((a)|b)+` on "ab" gives `$2` = "a" in Go; JavaScript clears it). Patterns of those shapes
 * run on the VM; the rest run on the JavaScript engine, which is faster. The bare RegExp from
 * {@link compileRegex} has neither guarantee.
 *
 * {@link FastRegexMatcher} adds the fast paths of Prometheus's `FastRegexMatcher`: literals,
 * sets of literals (exposed through `setMatches()` for postings lookups), prefix/suffix/contains
 * and `.*`/`.+`.
 * @module
 */

import { ParseError } from './errors.js';

/** A pattern that is not valid RE2, or uses a construct RE2 does not support. */
export class RegexError extends ParseError {
  /** The RE2 source text. */
  readonly pattern: string;
  /** 0-based offset (UTF-16 units) of the offending construct in `pattern`. */
  readonly position: number;
  constructor(pattern: string, position: number, what: string) {
    super(`invalid regex ${JSON.stringify(pattern)}: ${what} at position ${position}`);
    this.name = 'RegexError';
    this.pattern = pattern;
    this.position = position;
  }
}

// ---------------------------------------------------------------------------------------
// Syntax tree

type Node =
  | { k: 'lit'; cp: number; fold: boolean }
  | { k: 'class'; ranges: number[]; props: string[]; negated: boolean; fold: boolean }
  | { k: 'any'; nl: boolean }
  | { k: 'bol' } // ^ with (?m)
  | { k: 'eol' } // $ with (?m)
  | { k: 'bot' } // ^, \A
  | { k: 'eot' } // $, \z
  | { k: 'wordb'; neg: boolean }
  | { k: 'group'; index: number; child: Node } // index 0: non-capturing
  | { k: 'concat'; items: Node[] }
  | { k: 'alt'; items: Node[] }
  | { k: 'repeat'; child: Node; min: number; max: number; greedy: boolean; counted: boolean };

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

const MAX_REPEAT = 1000; // Go's regexp/syntax limit
const MAX_NESTING = 1000; // Go's maxHeight
const MAX_RUNE = 0x10ffff;

// Go's Perl classes are ASCII-only (JavaScript's \s would also take \v and Unicode spaces).
const PERL_CLASSES: Record<string, number[]> = {
  d: [0x30, 0x39],
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
};

const POSIX_CLASSES: Record<string, number[]> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

// Go's unicode.Categories. "C" in Go is Cc|Cf|Co|Cs; JavaScript's \p{C} also takes Cn.
const GO_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(
    ' ',
  ),
);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
function isWordChar(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}
function isAlnum(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

// ---------------------------------------------------------------------------------------
// Range sets: flat sorted [lo0, hi0, lo1, hi1, …] code-point intervals.

function normalizeRanges(r: number[]): number[] {
  if (r.length <= 2) return r;
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [pairs[0][0], pairs[0][1]];
  for (let i = 1; i < pairs.length; i++) {
    const [lo, hi] = pairs[i];
    if (lo <= out[out.length - 1] + 1) {
      if (hi > out[out.length - 1]) out[out.length - 1] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

function negateRanges(r: number[]): number[] {
  const n = normalizeRanges(r);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < n.length; i += 2) {
    if (n[i] > next) out.push(next, n[i] - 1);
    next = n[i + 1] + 1;
  }
  if (next <= MAX_RUNE) out.push(next, MAX_RUNE);
  return out;
}

// Case-fold orbits (Go's unicode.SimpleFold), derived once from the JavaScript case mappings
// and only when a pattern needs case-insensitivity in part of it.
let foldOrbits: Map<number, number[]> | null = null;
let foldCased: number[] | null = null;

function buildFoldTables(): void {
  // Only characters that change under some case mapping can have a fold partner; one regex
  // scan over the planes that hold cased scripts finds them without a loop per code point.
  let all = '';
  for (let lo = 0; lo <= 0x1ffff; lo += 0x1000) {
    const chunk: number[] = [];
    for (let cp = lo; cp < lo + 0x1000; cp++) if (cp < 0xd800 || cp > 0xdfff) chunk.push(cp);
    all += String.fromCodePoint(...chunk);
  }
  const byKey = new Map<number, number[]>();
  for (const m of all.matchAll(/\p{Changes_When_Casemapped}/gu)) {
    const s = m[0];
    const cp = s.codePointAt(0)!;
    // U+0130 and U+0131 only fold under Turkish rules, which Go's simple folding leaves out.
    if (cp === 0x130 || cp === 0x131) continue;
    const up = s.toUpperCase();
    const base = up.length === 1 || (up.length === 2 && up.codePointAt(0)! > 0xffff) ? up : s;
    const low = base.toLowerCase();
    const key =
      low.length === 1 || (low.length === 2 && low.codePointAt(0)! > 0xffff)
        ? low.codePointAt(0)!
        : cp;
    let orbit = byKey.get(key);
    if (!orbit) byKey.set(key, (orbit = []));
    orbit.push(cp);
  }
  foldOrbits = new Map();
  for (const [key, orbit] of byKey) {
    // The key itself belongs to the orbit even when it is not case-mapped from here (rare).
    if (!orbit.includes(key)) orbit.push(key);
    if (orbit.length < 2) continue;
    orbit.sort((a, b) => a - b);
    for (const cp of orbit) foldOrbits.set(cp, orbit);
  }
  foldCased = [...foldOrbits.keys()].sort((a, b) => a - b);
}

/** Adds every case variant of the code points in `r` (Go's appendFoldedClass). */
function foldRanges(r: number[]): number[] {
  if (foldOrbits === null) buildFoldTables();
  const cased = foldCased!;
  const out = r.slice();
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i];
    const hi = r[i + 1];
    // First cased code point >= lo.
    let a = 0;
    let b = cased.length;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (cased[mid] < lo) a = mid + 1;
      else b = mid;
    }
    for (let j = a; j < cased.length && cased[j] <= hi; j++) {
      for (const v of foldOrbits!.get(cased[j])!) out.push(v, v);
    }
  }
  return normalizeRanges(out);
}

/** Cased code points that belong to any of the `\p{…}` items, as ranges. */
function casedMembers(props: string[]): number[] {
  if (foldOrbits === null) buildFoldTables();
  const re = new RegExp(`[${props.join('')}]`, 'u');
  const out: number[] = [];
  for (const cp of foldCased!) if (re.test(String.fromCodePoint(cp))) out.push(cp, cp);
  return out;
}

const CASE_MAPPED = /\p{Changes_When_Casemapped}/u;

/** Reports whether a code point may match other characters when case is ignored. */
function hasCaseVariants(cp: number): boolean {
  if (foldOrbits !== null) return foldOrbits.has(cp);
  return CASE_MAPPED.test(String.fromCodePoint(cp));
}

/** Go's repeatIsValid: nested counted repeats may not multiply past `n`. */
function repeatIsValid(node: Node, n: number): boolean {
  if (node.k === 'repeat' && node.counted) {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > n) return false;
    if (m > 0) n = Math.floor(n / m);
  }
  switch (node.k) {
    case 'repeat':
    case 'group':
      return repeatIsValid(node.child, n);
    case 'concat':
    case 'alt':
      return node.items.every((x) => repeatIsValid(x, n));
    default:
      return true;
  }
}

// ---------------------------------------------------------------------------------------
// Parser (Go's regexp/syntax with the Perl flags Prometheus compiles with)

class Parser {
  readonly src: string;
  pos = 0;
  flags: Flags = { i: false, m: false, s: true, U: false };
  ncap = 0;
  names: string[] = [''];
  foldedNodes = 0;
  plainNodes = 0;
  wordBoundaries = 0;

  constructor(src: string) {
    this.src = src;
  }

  fail(at: number, what: string): never {
    throw new RegexError(this.src, at, what);
  }

  peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : -1;
  }

  next(): number {
    const c = this.src.codePointAt(this.pos)!;
    this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  lookingAt(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  countNode(fold: boolean): void {
    if (fold) this.foldedNodes++;
    else this.plainNodes++;
  }

  lit(cp: number): Node {
    this.countNode(this.flags.i);
    return { k: 'lit', cp, fold: this.flags.i };
  }

  cls(ranges: number[], props: string[], negated: boolean): Node {
    this.countNode(this.flags.i);
    return { k: 'class', ranges: normalizeRanges(ranges), props, negated, fold: this.flags.i };
  }

  /** alternation := concat ('|' concat)* */
  parseAlt(depth: number): Node {
    const items: Node[] = [this.parseConcat(depth)];
    while (this.peek() === 0x7c /* | */) {
      this.pos++;
      items.push(this.parseConcat(depth));
    }
    return items.length === 1 ? items[0] : { k: 'alt', items };
  }

  parseConcat(depth: number): Node {
    const items: Node[] = [];
    // Set when the previous item was a repetition: Go forbids stacking them (a**, a*+).
    let lastRepeatAt = -1;
    for (;;) {
      const c = this.peek();
      if (c === -1 || c === 0x7c /* | */) break;
      if (c === 0x29 /* ) */) {
        if (depth === 0) this.fail(this.pos, 'unexpected )');
        break;
      }
      const start = this.pos;
      if (c === 0x2a || c === 0x2b || c === 0x3f || c === 0x7b) {
        // * + ? {n,m}
        const rep = c === 0x7b ? this.tryRepeatBraces() : this.simpleRepeat(c);
        if (rep === null) {
          // A '{' that does not start a valid repeat is a literal, as in Go.
          this.pos++;
          items.push(this.lit(c));
          lastRepeatAt = -1;
          continue;
        }
        const opText = this.src.slice(start, this.pos);
        if (lastRepeatAt >= 0) {
          const stacked = this.src.slice(lastRepeatAt, this.pos);
          if (c === 0x2b)
            this.fail(
              lastRepeatAt,
              `possessive quantifier \`${stacked}\` is not supported (RE2 syntax)`,
            );
          this.fail(lastRepeatAt, `invalid nested repetition operator \`${stacked}\``);
        }
        const prev = items.length > 0 ? items[items.length - 1] : null;
        if (prev === null) {
          this.fail(start, `missing argument to repetition operator \`${opText}\``);
        }
        let greedy = true;
        if (this.peek() === 0x3f /* ? */) {
          this.pos++;
          greedy = false;
        }
        if (this.flags.U) greedy = !greedy;
        const node: Node = {
          k: 'repeat',
          child: prev,
          min: rep[0],
          max: rep[1],
          greedy,
          counted: c === 0x7b,
        };
        // Go bounds nested counted repeats, e.g. (a{100}){20}, by the product of the counts.
        if (node.counted && (node.min >= 2 || node.max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
          this.fail(start, `invalid repeat count \`${opText}\``);
        }
        items[items.length - 1] = node;
        lastRepeatAt = start;
        continue;
      }
      lastRepeatAt = -1;
      const atom = this.parseAtom(depth);
      if (atom !== null) items.push(atom);
    }
    return items.length === 1 ? items[0] : { k: 'concat', items };
  }

  simpleRepeat(c: number): [number, number] {
    this.pos++;
    return c === 0x2a ? [0, -1] : c === 0x2b ? [1, -1] : [0, 1];
  }

  /** Parses `{n}`, `{n,}`, `{n,m}` at pos; returns null (pos unchanged) when it is not one. */
  tryRepeatBraces(): [number, number] | null {
    const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.src.slice(this.pos));
    if (!m) return null;
    const start = this.pos;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) {
      this.fail(start, `invalid repeat count \`${m[0]}\``);
    }
    this.pos += m[0].length;
    return [min, max];
  }

  /** One atom, or null for a construct that only changes flags. */
  parseAtom(depth: number): Node | null {
    const start = this.pos;
    const c = this.next();
    switch (c) {
      case 0x28: // (
        return this.parseGroup(start, depth);
      case 0x5b: // [
        return this.parseClass(start);
      case 0x2e: // .
        return { k: 'any', nl: this.flags.s };
      case 0x5e: // ^
        return this.flags.m ? { k: 'bol' } : { k: 'bot' };
      case 0x24: // $
        return this.flags.m ? { k: 'eol' } : { k: 'eot' };
      case 0x5c: // backslash
        return this.parseEscapeAtom(start);
      default:
        return this.lit(c);
    }
  }

  parseGroup(start: number, depth: number): Node | null {
    if (this.peek() !== 0x3f /* ? */) {
      const index = ++this.ncap;
      this.names.push('');
      return this.finishGroup(start, index, depth);
    }
    const rest = this.src.slice(this.pos);
    if (
      rest.startsWith('?P<') ||
      (rest.startsWith('?<') && !rest.startsWith('?<=') && !rest.startsWith('?<!'))
    ) {
      const nameStart = this.pos + (rest.startsWith('?P<') ? 3 : 2);
      const end = this.src.indexOf('>', nameStart);
      if (end < 0) this.fail(start, `invalid named capture \`${this.src.slice(start)}\``);
      const name = this.src.slice(nameStart, end);
      if (name === '' || ![...name].every((ch) => isWordChar(ch.codePointAt(0)!))) {
        this.fail(start, `invalid named capture \`${this.src.slice(start, end + 1)}\``);
      }
      // Go accepts a repeated name (unlike RE2 in C++); references take the first group.
      this.pos = end + 1;
      const index = ++this.ncap;
      this.names.push(name);
      return this.finishGroup(start, index, depth);
    }
    const unsupported: [string, string][] = [
      ['?=', 'lookahead `(?=`'],
      ['?!', 'negative lookahead `(?!`'],
      ['?<=', 'lookbehind `(?<=`'],
      ['?<!', 'negative lookbehind `(?<!`'],
      ['?>', 'atomic group `(?>`'],
      ['?#', 'comment group `(?#`'],
      ['?|', 'branch reset group `(?|`'],
    ];
    for (const [prefix, what] of unsupported) {
      if (rest.startsWith(prefix)) this.fail(start, `${what} is not supported (RE2 syntax)`);
    }
    // Flags: (?flags) or (?flags:re), flags = [imsU]* ('-' [imsU]*)?
    this.pos++; // ?
    const flags = { ...this.flags };
    let negate = false;
    let sawFlag = false;
    for (;;) {
      const ch = this.peek();
      if (ch === -1) this.fail(start, 'missing closing )');
      this.pos++;
      if (ch === 0x69 || ch === 0x6d || ch === 0x73 || ch === 0x55) {
        const f = String.fromCharCode(ch) as keyof Flags;
        flags[f] = !negate;
        sawFlag = true;
      } else if (ch === 0x2d /* - */) {
        if (negate)
          this.fail(
            start,
            `invalid or unsupported Perl syntax \`${this.src.slice(start, this.pos)}\``,
          );
        negate = true;
        sawFlag = false;
      } else if (ch === 0x3a /* : */ || ch === 0x29 /* ) */) {
        if ((negate && !sawFlag) || (ch === 0x29 && this.pos - start === 3)) {
          this.fail(
            start,
            `invalid or unsupported Perl syntax \`${this.src.slice(start, this.pos)}\``,
          );
        }
        if (ch === 0x29) {
          // (?flags): applies to the rest of the enclosing group.
          this.flags = flags;
          return null;
        }
        const saved = this.flags;
        this.flags = flags;
        const node = this.finishGroup(start, 0, depth);
        this.flags = saved;
        return node;
      } else {
        this.fail(
          start,
          `invalid or unsupported Perl syntax \`${this.src.slice(start, this.pos)}\``,
        );
      }
    }
  }

  finishGroup(start: number, index: number, depth: number): Node {
    if (depth >= MAX_NESTING) this.fail(start, 'expression nests too deeply');
    const saved = this.flags;
    const child = this.parseAlt(depth + 1);
    this.flags = saved;
    if (this.peek() !== 0x29) this.fail(start, 'missing closing )');
    this.pos++;
    return { k: 'group', index, child };
  }

  /** Escapes outside a class. */
  parseEscapeAtom(start: number): Node | null {
    const c = this.peek();
    if (c === -1) this.fail(start, 'trailing backslash at end of expression');
    switch (c) {
      case 0x41: // \A
        this.pos++;
        return { k: 'bot' };
      case 0x7a: // \z
        this.pos++;
        return { k: 'eot' };
      case 0x62: // \b
        this.pos++;
        this.wordBoundaries++;
        return { k: 'wordb', neg: false };
      case 0x42: // \B
        this.pos++;
        this.wordBoundaries++;
        return { k: 'wordb', neg: true };
      case 0x51: {
        // \Q...\E: literal text
        this.pos++;
        let end = this.src.indexOf('\\E', this.pos);
        if (end < 0) end = this.src.length;
        const lits: Node[] = [];
        for (const ch of this.src.slice(this.pos, end)) lits.push(this.lit(ch.codePointAt(0)!));
        this.pos = Math.min(end + 2, this.src.length);
        if (lits.length === 0) return null;
        return lits.length === 1
          ? lits[0]
          : { k: 'group', index: 0, child: { k: 'concat', items: lits } };
      }
      case 0x43: // \C
        this.fail(start, '\\C (any byte) is not supported (RE2 syntax in Go)');
    }
    const cls = this.tryClassEscape(start);
    if (cls !== null) return this.cls(cls.ranges, cls.props, cls.negated);
    return this.lit(this.parseCharEscape(start));
  }

  /** `\d \s \w \D \S \W \pL \p{Greek} \PL \p{^Greek}` at pos (after the backslash). */
  tryClassEscape(start: number): { ranges: number[]; props: string[]; negated: boolean } | null {
    const c = this.peek();
    const perl = String.fromCharCode(c | 0x20);
    if (
      (c === 0x64 || c === 0x73 || c === 0x77 || c === 0x44 || c === 0x53 || c === 0x57) &&
      PERL_CLASSES[perl]
    ) {
      this.pos++;
      return { ranges: PERL_CLASSES[perl].slice(), props: [], negated: c < 0x61 };
    }
    if (c !== 0x70 && c !== 0x50) return null; // p P
    this.pos++;
    let negated = c === 0x50;
    let name: string;
    if (this.peek() === 0x7b /* { */) {
      const end = this.src.indexOf('}', this.pos);
      if (end < 0) this.fail(start, `invalid character class range \`${this.src.slice(start)}\``);
      name = this.src.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      if (this.peek() === -1)
        this.fail(start, `invalid character class range \`${this.src.slice(start)}\``);
      name = String.fromCodePoint(this.next());
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    const props = unicodeClass(name);
    if (props === null)
      this.fail(start, `invalid character class range \`${this.src.slice(start, this.pos)}\``);
    if (props.length === 0) return { ranges: [0, MAX_RUNE], props: [], negated }; // Any
    return { ranges: [], props, negated };
  }

  /** A single-character escape at pos (after the backslash): its code point. */
  parseCharEscape(start: number): number {
    const c = this.next();
    switch (c) {
      case 0x61:
        return 0x07; // \a
      case 0x66:
        return 0x0c; // \f
      case 0x74:
        return 0x09; // \t
      case 0x6e:
        return 0x0a; // \n
      case 0x72:
        return 0x0d; // \r
      case 0x76:
        return 0x0b; // \v
      case 0x78: {
        // \xHH or \x{H…}
        if (this.peek() === 0x7b) {
          const end = this.src.indexOf('}', this.pos);
          const hex = end < 0 ? '' : this.src.slice(this.pos + 1, end);
          if (
            hex === '' ||
            ![...hex].every((h) => isHex(h.charCodeAt(0))) ||
            parseInt(hex, 16) > MAX_RUNE
          ) {
            this.fail(
              start,
              `invalid escape sequence \`${this.src.slice(start, end < 0 ? this.src.length : end + 1)}\``,
            );
          }
          this.pos = end + 1;
          return parseInt(hex, 16);
        }
        const hex = this.src.slice(this.pos, this.pos + 2);
        if (hex.length < 2 || !isHex(hex.charCodeAt(0)) || !isHex(hex.charCodeAt(1))) {
          this.fail(start, `invalid escape sequence \`${this.src.slice(start, this.pos + 2)}\``);
        }
        this.pos += 2;
        return parseInt(hex, 16);
      }
    }
    if (c >= 0x30 && c <= 0x37) {
      // Octal \0, \012, \123; a lone \1-\7 is a backreference.
      const isOct = (x: number): boolean => x >= 0x30 && x <= 0x37;
      if (c !== 0x30 && !isOct(this.peek())) {
        this.fail(
          start,
          `backreference \`\\${String.fromCharCode(c)}\` is not supported (RE2 syntax)`,
        );
      }
      let v = c - 0x30;
      for (let n = 1; n < 3 && isOct(this.peek()); n++) v = v * 8 + (this.next() - 0x30);
      return v;
    }
    if (c === 0x38 || c === 0x39) {
      this.fail(
        start,
        `backreference \`\\${String.fromCharCode(c)}\` is not supported (RE2 syntax)`,
      );
    }
    if (c === 0x6b /* k */ && this.peek() === 0x3c) {
      this.fail(start, 'named backreference `\\k<` is not supported (RE2 syntax)');
    }
    // Any ASCII punctuation may be escaped; letters and digits may not.
    if (c < 0x80 && !isAlnum(c)) return c;
    this.fail(start, `invalid escape sequence \`\\${String.fromCodePoint(c)}\``);
  }

  /** A bracketed class; pos is after '['. */
  parseClass(start: number): Node {
    let negated = false;
    if (this.peek() === 0x5e) {
      this.pos++;
      negated = true;
    }
    const ranges: number[] = [];
    const props: string[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === -1) this.fail(start, `missing closing ] \`${this.src.slice(start)}\``);
      if (c === 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      const itemStart = this.pos;
      // POSIX class [:name:] or [:^name:]
      if (this.lookingAt('[:')) {
        const end = this.src.indexOf(':]', this.pos + 2);
        if (end >= 0) {
          let name = this.src.slice(this.pos + 2, end);
          const neg = name.startsWith('^');
          if (neg) name = name.slice(1);
          const r = Object.hasOwn(POSIX_CLASSES, name) ? POSIX_CLASSES[name] : undefined;
          if (!r)
            this.fail(
              itemStart,
              `invalid character class range \`${this.src.slice(itemStart, end + 2)}\``,
            );
          ranges.push(...(neg ? negateRanges(r) : r));
          this.pos = end + 2;
          continue;
        }
      }
      if (c === 0x5c /* \ */) {
        this.pos++;
        if (this.peek() === -1) this.fail(itemStart, 'trailing backslash at end of expression');
        const ce = this.tryClassEscape(itemStart);
        if (ce !== null) {
          // A '-' after a class escape is a literal in Go (`[\d-z]` is digits, '-' and 'z').
          if (ce.props.length > 0) {
            if (ce.negated && ce.props.length > 1) {
              // Go's \PC inside brackets: everything but Cc|Cf|Co|Cs, i.e. \P{C} plus Cn.
              props.push('\\P{C}', '\\p{Cn}');
            } else for (const p of ce.props) props.push(ce.negated ? p.replace('\\p', '\\P') : p);
          } else ranges.push(...(ce.negated ? negateRanges(ce.ranges) : ce.ranges));
          continue;
        }
        this.pos = itemStart; // a single-character escape: classChar reads it
      }
      const lo = this.classChar(itemStart);
      let hi = lo;
      if (
        this.peek() === 0x2d &&
        this.pos + 1 < this.src.length &&
        this.src.charCodeAt(this.pos + 1) !== 0x5d
      ) {
        this.pos++;
        const hiStart = this.pos;
        if (this.peek() === 0x5c && 'dswDSWpP'.includes(this.src[this.pos + 1] ?? '')) {
          this.fail(
            itemStart,
            `invalid character class range \`${this.src.slice(itemStart, hiStart + 2)}\``,
          );
        }
        hi = this.classChar(hiStart);
        if (hi < lo)
          this.fail(
            itemStart,
            `invalid character class range \`${this.src.slice(itemStart, this.pos)}\``,
          );
      }
      ranges.push(lo, hi);
    }
    return this.cls(ranges, props, negated);
  }

  /** One character inside a class, escapes included. */
  classChar(start: number): number {
    const c = this.next();
    if (c !== 0x5c) return c;
    if (this.peek() === -1) this.fail(start, 'trailing backslash at end of expression');
    return this.parseCharEscape(start);
  }
}

/** JavaScript `\p{…}` items for a Go Unicode class name, [] for Any, null when unknown. */
function unicodeClass(name: string): string[] | null {
  if (name === 'Any') return [];
  if (name === 'C') return ['\\p{Cc}', '\\p{Cf}', '\\p{Co}', '\\p{Cs}'];
  if (GO_CATEGORIES.has(name)) return [`\\p{${name}}`];
  if (!/^[A-Za-z_]+$/.test(name)) return null;
  const item = `\\p{Script=${name}}`;
  try {
    new RegExp(item, 'u');
  } catch {
    return null;
  }
  return [item];
}

// ---------------------------------------------------------------------------------------
// Printer: syntax tree → JavaScript source for the `u` flag

const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split('').map((c) => c.charCodeAt(0)));

function hex(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function printLiteral(cp: number): string {
  if (JS_SYNTAX.has(cp)) return '\\' + String.fromCharCode(cp);
  if (
    cp < 0x20 ||
    cp === 0x7f ||
    (cp >= 0x80 && cp < 0xa0) ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    cp === 0x2028 ||
    cp === 0x2029
  ) {
    return hex(cp);
  }
  return String.fromCodePoint(cp);
}

function printClassChar(cp: number): string {
  if (cp === 0x5c || cp === 0x5d || cp === 0x5b || cp === 0x5e || cp === 0x2d)
    return '\\' + String.fromCharCode(cp);
  if (
    cp < 0x20 ||
    cp === 0x7f ||
    (cp >= 0x80 && cp < 0xa0) ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    cp === 0x2028 ||
    cp === 0x2029
  ) {
    return hex(cp);
  }
  return String.fromCodePoint(cp);
}

function printRanges(r: number[]): string {
  let s = '';
  for (let i = 0; i < r.length; i += 2) {
    s += printClassChar(r[i]);
    if (r[i + 1] > r[i]) s += (r[i + 1] > r[i] + 1 ? '-' : '') + printClassChar(r[i + 1]);
  }
  return s;
}

class Printer {
  /** True when the JavaScript `i` flag does the folding (the whole pattern is case-insensitive). */
  readonly nativeFold: boolean;
  /** JavaScript name per capture index, or '' to print the group unnamed. */
  private readonly jsNames: string[];

  constructor(nativeFold: boolean, goNames: readonly string[]) {
    this.nativeFold = nativeFold;
    // Go names may start with a digit or repeat; JavaScript's may not. Those groups are printed
    // unnamed (numbering is the same either way); the others keep their name for `.groups`.
    const seen = new Set<string>();
    this.jsNames = goNames.map((n) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) || seen.has(n)) return '';
      seen.add(n);
      return n;
    });
  }

  print(n: Node): string {
    switch (n.k) {
      case 'lit':
        if (n.fold && !this.nativeFold && hasCaseVariants(n.cp))
          return '[' + printRanges(foldRanges([n.cp, n.cp])) + ']';
        return printLiteral(n.cp);
      case 'class': {
        let ranges = n.ranges;
        if (n.fold && !this.nativeFold) {
          // Unicode classes are folded by adding the case partners of their cased members
          // (only cased characters have partners), as Go's appendFoldedClass does.
          ranges = foldRanges(n.props.length > 0 ? ranges.concat(casedMembers(n.props)) : ranges);
        }
        if (n.props.length === 0) {
          // Negate here, so the output never depends on how JavaScript negates a folded class.
          if (n.negated && !this.nativeFold) return '[' + printRanges(negateRanges(ranges)) + ']';
          return (n.negated ? '[^' : '[') + printRanges(ranges) + ']';
        }
        return (n.negated ? '[^' : '[') + printRanges(ranges) + n.props.join('') + ']';
      }
      case 'any':
        return n.nl ? '[^]' : '[^\\n]';
      case 'bot':
        return '^';
      case 'eot':
        return '$';
      case 'bol':
        return '(?:^|(?<=\\n))';
      case 'eol':
        return '(?:$|(?=\\n))';
      case 'wordb':
        return n.neg ? '\\B' : '\\b';
      case 'group':
        if (n.index === 0) return '(?:' + this.print(n.child) + ')';
        return (
          (this.jsNames[n.index] ? `(?<${this.jsNames[n.index]}>` : '(') + this.print(n.child) + ')'
        );
      case 'concat':
        return n.items.map((x) => this.print(x)).join('');
      case 'alt':
        return n.items.map((x) => this.print(x)).join('|');
      case 'repeat': {
        const c = n.child;
        let body = this.print(c);
        // Literals, classes and groups print as one JavaScript atom; anything else (an anchor,
        // Go allows `^*`) needs a group before a quantifier.
        if (c.k !== 'lit' && c.k !== 'class' && c.k !== 'any' && c.k !== 'group')
          body = `(?:${body})`;
        const q =
          n.min === 0 && n.max === -1
            ? '*'
            : n.min === 1 && n.max === -1
              ? '+'
              : n.min === 0 && n.max === 1
                ? '?'
                : n.max === -1
                  ? `{${n.min},}`
                  : n.min === n.max
                    ? `{${n.min}}`
                    : `{${n.min},${n.max}}`;
        return body + q + (n.greedy ? '' : '?');
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Fast paths

type FastKind = 'regex' | 'equal' | 'set' | 'prefix' | 'suffix' | 'contains' | 'any' | 'nonEmpty';

type Piece = { t: 'lits'; values: string[] } | { t: 'star' } | { t: 'plus' };

const MAX_SET_MATCHES = 256;

/** Flattens a node into literal sets and `.*`/`.+` pieces, or null when it is something else. */
function pieces(n: Node, out: Piece[]): boolean {
  switch (n.k) {
    case 'lit':
      if (n.fold && hasCaseVariants(n.cp)) return false;
      out.push({ t: 'lits', values: [String.fromCodePoint(n.cp)] });
      return true;
    case 'class': {
      if (n.negated || n.props.length > 0) return false;
      const r = n.fold ? foldRanges(n.ranges) : n.ranges;
      const values: string[] = [];
      for (let i = 0; i < r.length; i += 2) {
        if (r[i + 1] - r[i] + values.length >= 16) return false;
        for (let cp = r[i]; cp <= r[i + 1]; cp++) values.push(String.fromCodePoint(cp));
      }
      out.push({ t: 'lits', values });
      return true;
    }
    case 'group':
      return pieces(n.child, out);
    case 'concat':
      for (const x of n.items) if (!pieces(x, out)) return false;
      return true;
    case 'alt': {
      const values: string[] = [];
      for (const x of n.items) {
        const sub: Piece[] = [];
        if (!pieces(x, sub)) return false;
        const set = crossProduct(sub);
        if (set === null) return false;
        values.push(...set);
        if (values.length > MAX_SET_MATCHES) return false;
      }
      out.push({ t: 'lits', values });
      return true;
    }
    case 'repeat':
      if (n.child.k === 'any' && n.child.nl && n.max === -1 && n.min <= 1) {
        out.push({ t: n.min === 0 ? 'star' : 'plus' });
        return true;
      }
      return false;
    default:
      return false;
  }
}

/** Every string a sequence of literal sets can spell, or null if it has `.*` or is too big. */
function crossProduct(ps: Piece[]): string[] | null {
  let acc = [''];
  for (const p of ps) {
    if (p.t !== 'lits') return null;
    if (acc.length * p.values.length > MAX_SET_MATCHES) return null;
    const next: string[] = [];
    for (const a of acc) for (const v of p.values) next.push(a + v);
    acc = next;
  }
  return acc;
}

// ---------------------------------------------------------------------------------------
// Linear-time matcher (a Pike VM, as Go's regexp/exec.go)
//
// JavaScript's engine backtracks: `(a+)+b` against 30 a's takes seconds, while Go guarantees
// time linear in the input. Patterns whose shape can backtrack exponentially (a repeat around
// another repeat or an alternation) run here instead, as does `exec` for patterns with a
// capture inside a repeat, where only the VM keeps Go's captures. The VM simulates all threads
// in lockstep over the code points of the input, in priority order (leftmost-first, as Go).

const OP_CHAR = 0;
const OP_ANY = 1;
const OP_ANY_NOT_NL = 2;
const OP_SPLIT = 3; // try x first, then y
const OP_JMP = 4;
const OP_SAVE = 5;
const OP_ASSERT = 6;
const OP_MATCH = 7;

const AS_BOT = 0;
const AS_EOT = 1;
const AS_BOL = 2;
const AS_EOL = 3;
const AS_WORDB = 4;
const AS_NOT_WORDB = 5;

/** Most instructions a VM program may have; larger patterns stay on the JavaScript engine. */
const MAX_PROGRAM = 50_000;

interface CharClass {
  ranges: number[];
  props: RegExp | null;
  negated: boolean;
}

function classHas(c: CharClass, cp: number): boolean {
  const r = c.ranges;
  let lo = 0;
  let hi = (r.length >> 1) - 1;
  let found = false;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < r[2 * mid]) hi = mid - 1;
    else if (cp > r[2 * mid + 1]) lo = mid + 1;
    else {
      found = true;
      break;
    }
  }
  if (!found && c.props !== null) found = c.props.test(String.fromCodePoint(cp));
  return found !== c.negated;
}

class ProgramTooLarge extends Error {}

class VmCompiler {
  op: number[] = [];
  x: number[] = [];
  y: number[] = [];
  cls: (CharClass | null)[] = [];

  emit(op: number, x = 0, y = 0, c: CharClass | null = null): number {
    if (this.op.length >= MAX_PROGRAM) throw new ProgramTooLarge();
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    this.cls.push(c);
    return this.op.length - 1;
  }

  compile(n: Node): void {
    switch (n.k) {
      case 'lit': {
        const r = n.fold && hasCaseVariants(n.cp) ? foldRanges([n.cp, n.cp]) : [n.cp, n.cp];
        this.emit(OP_CHAR, 0, 0, { ranges: r, props: null, negated: false });
        return;
      }
      case 'class': {
        let ranges = n.ranges;
        if (n.fold)
          ranges = foldRanges(n.props.length > 0 ? ranges.concat(casedMembers(n.props)) : ranges);
        const props = n.props.length > 0 ? new RegExp(`^[${n.props.join('')}]$`, 'u') : null;
        this.emit(OP_CHAR, 0, 0, { ranges, props, negated: n.negated });
        return;
      }
      case 'any':
        this.emit(n.nl ? OP_ANY : OP_ANY_NOT_NL);
        return;
      case 'bot':
        this.emit(OP_ASSERT, AS_BOT);
        return;
      case 'eot':
        this.emit(OP_ASSERT, AS_EOT);
        return;
      case 'bol':
        this.emit(OP_ASSERT, AS_BOL);
        return;
      case 'eol':
        this.emit(OP_ASSERT, AS_EOL);
        return;
      case 'wordb':
        this.emit(OP_ASSERT, n.neg ? AS_NOT_WORDB : AS_WORDB);
        return;
      case 'group':
        if (n.index > 0) this.emit(OP_SAVE, 2 * n.index);
        this.compile(n.child);
        if (n.index > 0) this.emit(OP_SAVE, 2 * n.index + 1);
        return;
      case 'concat':
        for (const x of n.items) this.compile(x);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let i = 0; i < n.items.length; i++) {
          if (i < n.items.length - 1) {
            const split = this.emit(OP_SPLIT);
            this.x[split] = split + 1;
            this.compile(n.items[i]);
            jumps.push(this.emit(OP_JMP));
            this.y[split] = this.op.length;
          } else this.compile(n.items[i]);
        }
        for (const j of jumps) this.x[j] = this.op.length;
        return;
      }
      case 'repeat': {
        // As Go compiles them: x{n,} is n-1 copies then a loop, x{n,m} is n copies then
        // m-n nested optional copies, (x(x)?)?.
        if (n.max === -1) {
          if (n.min === 0) this.star(n.child, n.greedy);
          else {
            for (let i = 1; i < n.min; i++) this.compile(n.child);
            this.plus(n.child, n.greedy);
          }
          return;
        }
        for (let i = 0; i < n.min; i++) this.compile(n.child);
        const splits: number[] = [];
        for (let i = n.min; i < n.max; i++) {
          splits.push(this.emit(OP_SPLIT));
          this.compile(n.child);
        }
        const end = this.op.length;
        for (const sp of splits) this.split(sp, sp + 1, end, n.greedy);
        return;
      }
    }
  }

  private split(at: number, body: number, after: number, greedy: boolean): void {
    this.x[at] = greedy ? body : after;
    this.y[at] = greedy ? after : body;
  }

  star(child: Node, greedy: boolean): void {
    const split = this.emit(OP_SPLIT);
    this.compile(child);
    this.emit(OP_JMP, split);
    this.split(split, split + 1, this.op.length, greedy);
  }

  plus(child: Node, greedy: boolean): void {
    const body = this.op.length;
    this.compile(child);
    const split = this.emit(OP_SPLIT);
    this.split(split, body, split + 1, greedy);
  }
}

/** A compiled Pike VM program for one anchored pattern. */
class PikeVm {
  private readonly op: Uint8Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly cls: (CharClass | null)[];
  private readonly ncap: number;
  // Thread lists, reused across runs: program counters and their capture arrays.
  private clist: Int32Array;
  private nlist: Int32Array;
  private ccaps: (Int32Array | null)[];
  private ncaps: (Int32Array | null)[];
  private readonly mark: Uint32Array;
  private gen = 0;
  private readonly stackPc: Int32Array;
  private stackCaps: (Int32Array | null)[];

  constructor(c: VmCompiler, ncap: number) {
    this.op = Uint8Array.from(c.op);
    this.x = Int32Array.from(c.x);
    this.y = Int32Array.from(c.y);
    this.cls = c.cls;
    this.ncap = ncap;
    const n = c.op.length;
    this.clist = new Int32Array(n);
    this.nlist = new Int32Array(n);
    this.ccaps = new Array<Int32Array | null>(n).fill(null);
    this.ncaps = new Array<Int32Array | null>(n).fill(null);
    this.mark = new Uint32Array(n);
    this.stackPc = new Int32Array(n * 2 + 2);
    this.stackCaps = new Array<Int32Array | null>(n * 2 + 2).fill(null);
  }

  /** Reports whether the whole string matches. */
  matches(s: string): boolean {
    return this.run(s, false) !== null;
  }

  /** Capture positions of a whole-string match (UTF-16 offsets, -1 unset), or null. */
  execIndexes(s: string): Int32Array | null {
    return this.run(s, true);
  }

  private run(s: string, wantCaps: boolean): Int32Array | null {
    const len = s.length;
    let clen = 0;
    let nlen = 0;
    let matched: Int32Array | null = null;
    const init = wantCaps ? new Int32Array(2 * (this.ncap + 1)).fill(-1) : null;
    clen = this.add(this.clist, this.ccaps, 0, 0, 0, init, s);
    for (let i = 0; ;) {
      if (clen === 0) break;
      const cp = i < len ? s.codePointAt(i)! : -1;
      const width = cp > 0xffff ? 2 : 1;
      this.gen++;
      nlen = 0;
      for (let t = 0; t < clen; t++) {
        const pc = this.clist[t];
        const caps = this.ccaps[t];
        const op = this.op[pc];
        if (op === OP_MATCH) {
          if (i === len) {
            matched = caps ?? EMPTY_CAPS;
            break; // lower-priority threads lose (leftmost-first)
          }
          continue;
        }
        if (cp < 0) continue;
        let ok = false;
        if (op === OP_CHAR) ok = classHas(this.cls[pc]!, cp);
        else if (op === OP_ANY) ok = true;
        else if (op === OP_ANY_NOT_NL) ok = cp !== 0x0a;
        if (ok) nlen = this.add(this.nlist, this.ncaps, nlen, pc + 1, i + width, caps, s);
      }
      if (i >= len) break;
      i += width;
      // Swap lists.
      const tl = this.clist;
      this.clist = this.nlist;
      this.nlist = tl;
      const tc = this.ccaps;
      this.ccaps = this.ncaps;
      this.ncaps = tc;
      clen = nlen;
    }
    this.ccaps.fill(null);
    this.ncaps.fill(null);
    return matched;
  }

  /** Adds the thread at `pc0` and everything reachable by empty steps, in priority order. */
  private add(
    list: Int32Array,
    capsList: (Int32Array | null)[],
    n: number,
    pc0: number,
    pos: number,
    caps0: Int32Array | null,
    s: string,
  ): number {
    const gen = ++this.gen;
    const stackPc = this.stackPc;
    const stackCaps = this.stackCaps;
    let sp = 0;
    stackPc[sp] = pc0;
    stackCaps[sp++] = caps0;
    while (sp > 0) {
      const pc = stackPc[--sp];
      let caps = stackCaps[sp];
      stackCaps[sp] = null;
      if (this.mark[pc] === gen) continue;
      this.mark[pc] = gen;
      switch (this.op[pc]) {
        case OP_JMP:
          stackPc[sp] = this.x[pc];
          stackCaps[sp++] = caps;
          break;
        case OP_SPLIT:
          // Push the lower-priority branch first so the preferred one is explored first.
          stackPc[sp] = this.y[pc];
          stackCaps[sp++] = caps;
          stackPc[sp] = this.x[pc];
          stackCaps[sp++] = caps;
          break;
        case OP_SAVE:
          if (caps !== null) {
            caps = caps.slice();
            caps[this.x[pc]] = pos;
          }
          stackPc[sp] = pc + 1;
          stackCaps[sp++] = caps;
          break;
        case OP_ASSERT:
          if (assertAt(this.x[pc], s, pos)) {
            stackPc[sp] = pc + 1;
            stackCaps[sp++] = caps;
          }
          break;
        default:
          list[n] = pc;
          capsList[n++] = caps;
      }
    }
    return n;
  }
}

const EMPTY_CAPS = new Int32Array(0);

function assertAt(kind: number, s: string, pos: number): boolean {
  switch (kind) {
    case AS_BOT:
      return pos === 0;
    case AS_EOT:
      return pos === s.length;
    case AS_BOL:
      return pos === 0 || s.charCodeAt(pos - 1) === 0x0a;
    case AS_EOL:
      return pos === s.length || s.charCodeAt(pos) === 0x0a;
    default: {
      const before = pos > 0 && isWordChar(s.charCodeAt(pos - 1));
      const after = pos < s.length && isWordChar(s.charCodeAt(pos));
      return (before !== after) === (kind === AS_WORDB);
    }
  }
}

/** Builds a VM for the tree, or null when the program would be too large. */
function buildVm(tree: Node, ncap: number): PikeVm | null {
  const c = new VmCompiler();
  try {
    c.emit(OP_SAVE, 0);
    c.compile(tree);
    c.emit(OP_SAVE, 1);
    c.emit(OP_MATCH);
  } catch (err) {
    if (err instanceof ProgramTooLarge) return null;
    throw err;
  }
  return new PikeVm(c, ncap);
}

/** True for a repeat (other than `?`) around another repeat or an alternation: the shapes
 * on which a backtracking engine can take exponential time. */
function canBacktrackBadly(n: Node, insideRepeat: boolean): boolean {
  switch (n.k) {
    case 'repeat': {
      const loops = n.max === -1 || n.max > 1;
      if (loops && insideRepeat) return true;
      return canBacktrackBadly(n.child, insideRepeat || loops);
    }
    case 'alt':
      if (insideRepeat) return true;
      return n.items.some((x) => canBacktrackBadly(x, insideRepeat));
    case 'concat':
      return n.items.some((x) => canBacktrackBadly(x, insideRepeat));
    case 'group':
      return canBacktrackBadly(n.child, insideRepeat);
    default:
      return false;
  }
}

/** True when a capture group sits inside a repeat (Go and JavaScript report it differently). */
function hasCaptureInRepeat(n: Node, insideRepeat: boolean): boolean {
  switch (n.k) {
    case 'repeat':
      return hasCaptureInRepeat(n.child, insideRepeat || n.max === -1 || n.max > 1);
    case 'group':
      return (insideRepeat && n.index > 0) || hasCaptureInRepeat(n.child, insideRepeat);
    case 'alt':
    case 'concat':
      return n.items.some((x) => hasCaptureInRepeat(x, insideRepeat));
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------
// Public API

/** An RE2 pattern compiled to an anchored JavaScript RegExp, with Go's capture-group names. */
export interface CompiledRegex {
  /** The RE2 source, as written. */
  readonly source: string;
  /**
   * Fully anchored JavaScript equivalent. Captures keep Go's numbering; Go names that are
   * valid, unique JavaScript names are kept (`exec(s).groups`); all are in `groupNames`.
   */
  readonly regexp: RegExp;
  /** Go's `SubexpNames()`: index 0 is '', unnamed groups are ''. */
  readonly groupNames: readonly string[];
  /** The parsed tree, for the fast-path analysis. */
  readonly tree: unknown;
}

const compiledCache = new Map<string, CompiledRegex>();
const CACHE_LIMIT = 1000;

/** Parses and translates an RE2 pattern; throws a {@link RegexError}. */
export function translateRegex(pattern: string): CompiledRegex {
  const cached = compiledCache.get(pattern);
  if (cached) return cached;
  const p = new Parser(pattern);
  const tree = p.parseAlt(0);
  if (p.pos < pattern.length) p.fail(p.pos, 'unexpected )');
  // JavaScript's `i` flag is used when the whole pattern ignores case, except with \b: under
  // `iu` JavaScript counts U+017F and U+212A as word characters, Go's ASCII \b does not.
  const nativeFold = p.foldedNodes > 0 && p.plainNodes === 0 && p.wordBoundaries === 0;
  const body = new Printer(nativeFold, p.names).print(tree);
  let regexp: RegExp;
  try {
    regexp = new RegExp(`^(?:${body})$`, nativeFold ? 'iu' : 'u');
  } catch (err) {
    throw new RegexError(pattern, 0, `cannot translate to JavaScript (${(err as Error).message})`);
  }
  const out: CompiledRegex = { source: pattern, regexp, groupNames: p.names, tree };
  if (compiledCache.size >= CACHE_LIMIT) compiledCache.clear();
  compiledCache.set(pattern, out);
  return out;
}

/**
 * Compiles an RE2 pattern into a fully anchored JavaScript RegExp with Prometheus 3 semantics
 * (`.` matches newline). Throws a {@link RegexError} naming the construct and position.
 */
export function compileRegex(pattern: string): RegExp {
  return translateRegex(pattern).regexp;
}

/** The groups of a match: index 0 is the whole match, undefined marks an unset group. */
export type RegexMatch = readonly (string | undefined)[];

/**
 * A compiled Prometheus regex with the fast paths of Prometheus's `FastRegexMatcher`: most
 * label regexes in practice are a literal, a set of literals, or a literal with `.*` on one
 * or both sides, which string operations answer faster than the regex engine.
 */
export class FastRegexMatcher {
  /** The RE2 source, as written. */
  readonly source: string;
  /** The anchored JavaScript equivalent (use for captures). */
  readonly regexp: RegExp;
  /** Go's capture-group names by index (index 0 is the whole match). */
  readonly groupNames: readonly string[];
  private readonly kind: FastKind;
  private readonly literal: string;
  private readonly set: ReadonlySet<string> | null;
  private readonly setList: string[] | null;
  /** The linear-time VM, for patterns a backtracking engine could take exponential time on. */
  private readonly vm: PikeVm | null;
  private readonly vmMatches: boolean;
  private readonly vmCaptures: boolean;

  /**
   * `opts.linearTime` runs every non-trivial match on the linear-time VM, whatever the shape
   * of the pattern (by default only patterns that could backtrack badly do).
   */
  constructor(pattern: string, opts?: { linearTime?: boolean }) {
    const c = translateRegex(pattern);
    this.source = pattern;
    this.regexp = c.regexp;
    this.groupNames = c.groupNames;
    let kind: FastKind = 'regex';
    let literal = '';
    let setList: string[] | null = null;
    const ps: Piece[] = [];
    if (pieces(c.tree as Node, ps)) {
      // Merge adjacent literal pieces (a cross product when they are sets).
      const merged: Piece[] = [];
      for (const x of ps) {
        const last = merged[merged.length - 1];
        if (x.t === 'lits' && last && last.t === 'lits') {
          const prod = crossProduct([last, x]);
          if (prod === null) {
            merged.length = 0;
            break;
          }
          merged[merged.length - 1] = { t: 'lits', values: prod };
        } else merged.push(x);
      }
      const shape = merged
        .map((x) =>
          x.t === 'lits' ? (x.values.length === 1 ? 'L' : 'S') : x.t === 'star' ? '*' : '+',
        )
        .join('');
      const lit = (i: number): string => (merged[i] as { values: string[] }).values[0];
      if (ps.length === 0) {
        kind = 'equal';
      } else if (shape === 'L') {
        kind = 'equal';
        literal = lit(0);
      } else if (shape === 'S') {
        kind = 'set';
        setList = [...new Set((merged[0] as { values: string[] }).values)];
      } else if (shape === '*') kind = 'any';
      else if (shape === '+') kind = 'nonEmpty';
      else if (shape === 'L*') {
        kind = 'prefix';
        literal = lit(0);
      } else if (shape === '*L') {
        kind = 'suffix';
        literal = lit(1);
      } else if (shape === '*L*') {
        kind = 'contains';
        literal = lit(1);
      }
    }
    this.kind = kind;
    this.literal = literal;
    this.setList = setList;
    this.set = setList ? new Set(setList) : null;
    const tree = c.tree as Node;
    const risky = kind === 'regex' && (opts?.linearTime === true || canBacktrackBadly(tree, false));
    const capsInRepeat = hasCaptureInRepeat(tree, false);
    const useVm = risky || capsInRepeat || opts?.linearTime === true;
    this.vm = useVm ? buildVm(tree, c.groupNames.length - 1) : null;
    this.vmMatches = risky && this.vm !== null;
    this.vmCaptures = this.vm !== null;
  }

  /** Reports whether the whole of `s` matches. */
  matches(s: string): boolean {
    switch (this.kind) {
      case 'equal':
        return s === this.literal;
      case 'set':
        return this.set!.has(s);
      case 'prefix':
        return s.startsWith(this.literal);
      case 'suffix':
        return s.endsWith(this.literal);
      case 'contains':
        return s.includes(this.literal);
      case 'any':
        return true;
      case 'nonEmpty':
        return s.length > 0;
      default:
        return this.vmMatches ? this.vm!.matches(s) : this.regexp.test(s);
    }
  }

  /**
   * The complete list of strings the regex matches, when it is a small set of literals
   * (`a|b|c`, `foo`, `(a|b)c`), so an index can look each value up; otherwise null.
   */
  setMatches(): string[] | null {
    if (this.kind === 'set') return this.setList!.slice();
    if (this.kind === 'equal') return [this.literal];
    return null;
  }

  /**
   * The groups of a whole-string match (index 0 the whole string, undefined for a group that
   * did not take part), or null: Go's `FindStringSubmatch`. Captures follow Go, also inside
   * repeats, and take linear time for patterns that could backtrack badly.
   */
  exec(s: string): RegexMatch | null {
    if (!this.vmCaptures) return this.regexp.exec(s);
    const idx = this.vm!.execIndexes(s);
    if (idx === null) return null;
    const out: (string | undefined)[] = [];
    for (let i = 0; i < idx.length; i += 2)
      out.push(idx[i] >= 0 ? s.slice(idx[i], idx[i + 1]) : undefined);
    return out;
  }

  /** True when `matches` runs on the linear-time VM rather than the JavaScript engine. */
  get linearTime(): boolean {
    return this.vmMatches;
  }

  /** Which fast path `matches` takes (for tests and benchmarks). */
  get fastPath(): FastKind {
    return this.kind;
  }
}
