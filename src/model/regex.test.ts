import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegex, FastRegexMatcher, RegexError, translateRegex } from './regex.js';
import { ParseError } from './errors.js';

// [RE2 pattern, input, whole-string match expected] — expectations are Go's (regexp with
// Prometheus 3 wrapping `^(?s:re)$`); the interop test re-checks a subset against Prometheus.
const matchCases: [string, string, boolean][] = [
  // Anchoring: Prometheus regexes match the whole value.
  ['b', 'ab', false],
  ['b', 'b', true],
  ['a|b', 'ab', false],
  ['foo|bar', 'foobar', false],
  ['', '', true],
  ['', 'x', false],
  ['a.c', 'abc', true],
  // `.` matches newline (Prometheus 3), one code point, and (?-s) turns that off.
  ['a.c', 'a\nc', true],
  ['.*', 'x\ny', true],
  ['(?-s).*', 'x\ny', false],
  ['(?-s:.)', '\n', false],
  ['(?s:.)', '\n', true],
  ['.', '😀', true],
  ['..', '😀', false],
  ['[^a]', '😀', true],
  ['.', 'é', true],
  // \A \z and ^ $ without (?m)
  ['\\Afoo\\z', 'foo', true],
  ['foo$', 'foo', true],
  ['foo$\\n', 'foo\n', false],
  ['^foo', 'foo', true],
  // (?m): ^ and $ at line boundaries
  ['(?m)a$\\nb', 'a\nb', true],
  ['(?m)a\\n^b', 'a\nb', true],
  ['a\\n^b', 'a\nb', false],
  // Named groups, both spellings.
  ['(?P<x>a+)b', 'aab', true],
  ['(?<x>a+)b', 'aab', true],
  // Flags: (?i) global and scoped, with Go's simple folding (Kelvin sign, long s).
  ['(?i)foo', 'FoO', true],
  ['(?i)k', '\u212a', true],
  ['(?i)s', '\u017f', true],
  ['(?i:a)b', 'Ab', true],
  ['(?i:a)b', 'AB', false],
  ['a(?i)b', 'aB', true],
  ['a(?i)b', 'AB', false],
  ['(?i)a(?-i)b', 'Ab', true],
  ['(?i)a(?-i)b', 'AB', false],
  ['(?i)[a-c]x', 'BX', true],
  ['x(?i)[^a-z]', 'xK', false],
  ['x(?i)[^a-z]', 'x\u212a', false],
  ['x(?i)[^a-z]', 'x1', true],
  ['(?i)σ', 'Σ', true],
  ['(?i)σ', 'ς', true],
  ['x(?i:σ)', 'xς', true],
  ['(?i)ß', 'ẞ', true],
  // (?U) swaps greediness (matters for captures, not for whole-string matching).
  ['(?U)a+b', 'aab', true],
  ['(?U)a+?b', 'aab', true],
  // \Q…\E literal text.
  ['\\Qa.b*\\E', 'a.b*', true],
  ['\\Qa.b*\\E', 'axbb', false],
  ['\\Qa.b', 'a.b', true],
  // POSIX classes.
  ['[[:alpha:]]+', 'abcXYZ', true],
  ['[[:alpha:]]+', 'abc1', false],
  ['[[:^alpha:]]', '1', true],
  ['[[:^alpha:]]', 'a', false],
  ['[[:digit:][:upper:]]+', 'A1B2', true],
  ['[[:space:]]', '\v', true],
  ['[[:punct:]]', '~', true],
  ['[[:xdigit:]]+', 'dEaD01', true],
  ['[[:word:]]+', 'a_1', true],
  // Unicode classes.
  ['\\pL+', 'héllo', true],
  ['\\pL', '1', false],
  ['\\PL', '1', true],
  ['\\p{Greek}+', 'αβγ', true],
  ['\\p{Greek}', 'a', false],
  ['\\p{^Greek}', 'a', true],
  ['[\\p{Lu}\\d]+', 'A1Ö', true],
  ['[^\\p{Lu}]', 'a', true],
  ['\\p{Any}', '\n', true],
  ['\\pN', '٣', true],
  // Perl classes are ASCII in Go.
  ['\\d', '٣', false],
  ['\\s', '\v', false],
  ['\\s', '\u00a0', false],
  ['\\s', '\f', true],
  ['\\w', 'é', false],
  ['\\W', 'é', true],
  ['[\\d\\s]+', '1 2', true],
  ['[^\\d]', '\n', true],
  // Escapes: \v \f \a octal hex, and any escaped punctuation.
  ['\\v', '\u000b', true],
  ['\\f', '\u000c', true],
  ['\\a', '\u0007', true],
  ['\\123', 'S', true],
  ['\\0', '\u0000', true],
  ['\\12', '\n', true],
  ['\\x41', 'A', true],
  ['\\x{1F600}', '😀', true],
  ['\\x{41}', 'A', true],
  ['\\-\\/\\:\\!\\"\\#\\%\\&\\\'\\,\\;\\<\\=\\>\\@\\`\\~\\_', '-/:!"#%&\',;<=>@`~_', true],
  ['[\\-\\]\\[]+', '-][', true],
  ['[a-]+', 'a-', true],
  ['[-a]+', '-a', true],
  ['[a-b-c]+', 'a-cb', true],
  ['[\\d-z]+', '1-z', true],
  ['[\\d-z]', 'y', false],
  ['[]a]+', ']a', true],
  ['[^]a]', 'b', true],
  ['[^]a]', ']', false],
  // Literal braces and other characters JavaScript's u mode would reject.
  ['a{', 'a{', true],
  ['a{,2}', 'a{,2}', true],
  ['x}', 'x}', true],
  ['a]', 'a]', true],
  ['a{2}', 'aa', true],
  ['a{2,}', 'aaa', true],
  ['(a{10}){100}', 'a'.repeat(1000), true],
  ['(a{2}){0}b', 'b', true],
  ['a{1,2}', 'aaa', false],
  ['^*a', 'a', true],
  // \b is ASCII.
  ['a\\b', 'a', true],
  ['.*\\bfoo\\b.*', 'x foo y', true],
  ['\\B', '', true],
  ['(?i)\\bK', '\u212a', false], // Go's \b is ASCII even when case is ignored
  ['(?i)\\bK', 'k', true],
  ['x(?i)\\p{Lu}', 'xa', true], // Unicode classes fold too
  ['x(?i)[^\\p{Lu}]', 'xa', false],
  ['[\\PC]', '\u0001', false], // Go's C is Cc|Cf|Co|Cs, without unassigned code points
  ['[\\PC]', '\u0378', true],
  ['\\PC', '\u0378', true],
  ['[^\\x00-\\x{10FFFF}]', 'a', false],
];

test('RE2 patterns match whole strings as Go does', async (t) => {
  for (const [pattern, input, want] of matchCases) {
    await t.test(`${JSON.stringify(pattern)} ~ ${JSON.stringify(input)}`, () => {
      assert.equal(compileRegex(pattern).test(input), want, compileRegex(pattern).source);
      assert.equal(new FastRegexMatcher(pattern).matches(input), want);
      const vm = new FastRegexMatcher(pattern, { linearTime: true });
      assert.equal(vm.matches(input), want, 'linear-time VM');
      assert.equal(vm.exec(input) !== null, want, 'linear-time VM exec');
    });
  }
});

// [pattern, fragment the error must contain]
const errorCases: [string, string][] = [
  ['a\\1', 'backreference `\\1` is not supported (RE2 syntax) at position 1'],
  ['(a)\\1', 'backreference `\\1` is not supported'],
  ['\\9', 'backreference `\\9` is not supported'],
  ['(?<n>a)\\k<n>', 'named backreference `\\k<` is not supported'],
  ['a(?=b)', 'lookahead `(?=` is not supported (RE2 syntax) at position 1'],
  ['a(?!b)', 'negative lookahead `(?!` is not supported'],
  ['(?<=a)b', 'lookbehind `(?<=` is not supported'],
  ['(?<!a)b', 'negative lookbehind `(?<!` is not supported'],
  ['(?>ab)', 'atomic group `(?>` is not supported'],
  ['a*+', 'possessive quantifier `*+` is not supported (RE2 syntax) at position 1'],
  ['a++', 'possessive quantifier `++` is not supported'],
  ['a?+', 'possessive quantifier `?+` is not supported'],
  ['a**', 'invalid nested repetition operator `**`'],
  ['a{2}{3}', 'invalid nested repetition operator `{2}{3}`'],
  ['*a', 'missing argument to repetition operator `*` at position 0'],
  ['a|*', 'missing argument to repetition operator `*`'],
  ['(?i)*', 'missing argument to repetition operator `*`'],
  ['a{1001}', 'invalid repeat count `{1001}`'],
  ['a{3,2}', 'invalid repeat count `{3,2}`'],
  ['(a{100}){20}', 'invalid repeat count `{20}`'],
  ['((a{10}){10}){11}', 'invalid repeat count `{11}`'],
  ['('.repeat(1001) + ')'.repeat(1001), 'expression nests too deeply'],
  ['\\C', '\\C (any byte) is not supported'],
  ['\\Z', 'invalid escape sequence `\\Z`'],
  ['\\e', 'invalid escape sequence `\\e`'],
  ['\\x{110000}', 'invalid escape sequence `\\x{110000}`'],
  ['\\xZ', 'invalid escape sequence'],
  ['\\p{Klingon}', 'invalid character class range `\\p{Klingon}`'],
  ['[[:alfa:]]', 'invalid character class range `[:alfa:]`'],
  ['[z-a]', 'invalid character class range `z-a`'],
  ['[a-\\d]', 'invalid character class range `a-\\d`'],
  ['[abc', 'missing closing ]'],
  ['(abc', 'missing closing )'],
  ['abc)', 'unexpected ) at position 3'],
  ['abc\\', 'trailing backslash at end of expression'],
  ['(?P<a-b>x)', 'invalid named capture'],
  ['(?P<>x)', 'invalid named capture'],
  ['(?x)a', 'invalid or unsupported Perl syntax `(?x`'],
  ['(?)a', 'invalid or unsupported Perl syntax `(?)`'],
  ['(?i-)a', 'invalid or unsupported Perl syntax `(?i-)`'],
  ['(?#c)a', 'comment group `(?#` is not supported'],
];

test('RE2 rejects what Go rejects, naming the construct and position', async (t) => {
  for (const [pattern, fragment] of errorCases) {
    await t.test(pattern, () => {
      assert.throws(
        () => compileRegex(pattern),
        (err: unknown) => {
          assert.ok(err instanceof RegexError, String(err));
          assert.ok(err instanceof ParseError);
          assert.equal(err.pattern, pattern);
          assert.ok(err.message.includes(fragment), `${err.message} should include ${fragment}`);
          assert.ok(
            err.message.startsWith(`invalid regex ${JSON.stringify(pattern)}: `),
            err.message,
          );
          return true;
        },
      );
    });
  }
});

test('translation never produces JavaScript that u mode rejects', () => {
  // Every printable ASCII punctuation, escaped and unescaped, inside and outside a class.
  for (let c = 0x21; c < 0x7f; c++) {
    const ch = String.fromCharCode(c);
    if (/[0-9A-Za-z]/.test(ch)) continue;
    assert.equal(compileRegex('\\' + ch).test(ch), true, `\\${ch}`);
    assert.equal(compileRegex('[\\' + ch + ']').test(ch), true, `[\\${ch}]`);
    if (!'\\[]^'.includes(ch))
      assert.equal(compileRegex('[x' + ch + ']').test(ch), true, `[x${ch}]`);
  }
});

test('captures keep Go numbering and names', () => {
  const c = translateRegex('(?P<first>a)(b)(?:c)(?<last>d)');
  assert.deepEqual(c.groupNames, ['', 'first', '', 'last']);
  const m = c.regexp.exec('abcd')!;
  assert.deepEqual([...m], ['abcd', 'a', 'b', 'd']);
  // (?U): the first group is lazy, so it takes as little as it can.
  const u = compileRegex('(?U)(a+)(a*)').exec('aaa')!;
  assert.deepEqual([...u], ['aaa', 'a', 'aa']);
  // A group name that starts with a digit is fine in Go (not in JavaScript), and so is a
  // repeated name (Prometheus 2.42's promtool accepts it).
  assert.deepEqual(translateRegex('(?P<1x>a)').groupNames, ['', '1x']);
  assert.deepEqual(translateRegex('(?P<a>x)(?P<a>y)').groupNames, ['', 'a', 'a']);
  // Named groups JavaScript can express keep their name for RegExpExecArray.groups.
  assert.deepEqual(
    { ...compileRegex('(?P<ns>[a-z]+)/(?<pod>.+)').exec('a/b')!.groups },
    { ns: 'a', pod: 'b' },
  );
  assert.deepEqual(
    { ...compileRegex('(?P<a>x)(?P<a>y)(?P<1x>z)').exec('xyz')!.groups },
    { a: 'x' },
  );
});

// [pattern, fast path, setMatches, inputs that match, inputs that do not]
const fastCases: [string, string, string[] | null, string[], string[]][] = [
  ['foo', 'equal', ['foo'], ['foo'], ['fo', 'foox', '']],
  ['', 'equal', [''], [''], ['a']],
  ['a|b|c', 'set', ['a', 'b', 'c'], ['a', 'c'], ['ab', '', 'd']],
  ['foo|bar|', 'set', ['foo', 'bar', ''], ['', 'bar'], ['foobar']],
  ['(foo|bar)', 'set', ['foo', 'bar'], ['foo'], ['x']],
  ['(?:a|b)(c|d)', 'set', ['ac', 'ad', 'bc', 'bd'], ['bd'], ['ab']],
  ['[abc]', 'set', ['a', 'b', 'c'], ['b'], ['d']],
  ['x[12]', 'set', ['x1', 'x2'], ['x2'], ['x3']],
  ['\\.', 'equal', ['.'], ['.'], ['x']],
  ['foo.*', 'prefix', null, ['foo', 'foobar', 'foo\n'], ['xfoo', 'fo']],
  ['.*foo', 'suffix', null, ['foo', 'xfoo', '\nfoo'], ['foox']],
  ['.*foo.*', 'contains', null, ['foo', 'a foo b', 'a\nfoo'], ['fo o']],
  ['(.*)', 'any', null, ['', 'x', '\n'], []],
  ['.*', 'any', null, ['', 'x'], []],
  ['.+', 'nonEmpty', null, ['x', '\n'], ['']],
  ['(?-s).*', 'regex', null, ['x'], ['\n']],
  ['(?i)foo', 'regex', null, ['FOO'], ['fo']],
  ['fo+', 'regex', null, ['fooo'], ['f']],
  ['(?i)123', 'equal', ['123'], ['123'], ['12']],
  ['[a-z]', 'regex', null, ['q'], ['Q']],
];

test('fast paths answer like the regex and expose literal sets', async (t) => {
  for (const [pattern, kind, set, yes, no] of fastCases) {
    await t.test(pattern, () => {
      const m = new FastRegexMatcher(pattern);
      assert.equal(m.fastPath, kind);
      assert.deepEqual(m.setMatches(), set);
      for (const s of yes) {
        assert.equal(m.matches(s), true, `${pattern} ~ ${JSON.stringify(s)}`);
        assert.equal(m.regexp.test(s), true);
      }
      for (const s of no) {
        assert.equal(m.matches(s), false, `${pattern} !~ ${JSON.stringify(s)}`);
        assert.equal(m.regexp.test(s), false);
      }
    });
  }
});

test('the linear-time VM takes over patterns that backtrack exponentially in JavaScript', () => {
  const f = (pattern: string, vm: boolean): void =>
    assert.equal(new FastRegexMatcher(pattern).linearTime, vm, pattern);
  f('(a+)+b', true);
  f('(a|aa)*c', true);
  f('(.*a){12}', true);
  f('(?:x+x+)+y', true);
  f('a+b+', false);
  f('(ab)?c', false);
  f('foo|bar', false);
  // 10,000 a's: a backtracking engine would need ~2^10000 steps.
  const input = 'a'.repeat(10_000) + '!';
  const t0 = performance.now();
  assert.equal(new FastRegexMatcher('(a+)+b').matches(input), false);
  assert.equal(new FastRegexMatcher('(a|aa)*c').matches(input), false);
  assert.equal(new FastRegexMatcher('(.*a){12}').matches(input), false);
  assert.ok(performance.now() - t0 < 5000, 'linear time');
});

// [pattern, input, groups Go reports] — Go's captures, also where JavaScript differs.
const captureCases: [string, string, (string | undefined)[] | null][] = [
  ['(a+)(b)?', 'aa', ['aa', 'aa', undefined]],
  ['((a)|b)+', 'ab', ['ab', 'b', 'a']], // JavaScript alone would clear group 2
  ['(?:(a)|(b))+', 'ab', ['ab', 'a', 'b']],
  ['(a*)*', 'aa', ['aa', 'aa']],
  ['(a*)+', 'b', null],
  ['(a|ab)(c|bcd)(d*)', 'abcd', ['abcd', 'a', 'bcd', '']],
  ['(?U)(a+)(a*)', 'aaa', ['aaa', 'a', 'aa']],
  ['(a*?)(a*)', 'aa', ['aa', '', 'aa']],
  ['(x)?(y)', 'y', ['y', undefined, 'y']],
  ['(.)(.)', '😀é', ['😀é', '😀', 'é']],
  ['(?i)(k+)', 'kK\u212a', ['kK\u212a', 'kK\u212a']],
  ['(?m)(a$)\\n(^b)', 'a\nb', ['a\nb', 'a', 'b']],
  ['(\\bx\\b)', 'x', ['x', 'x']],
  ['(a{2}){2,3}', 'aaaaaa', ['aaaaaa', 'aa']],
];

test('captures follow Go on both engines', async (t) => {
  for (const [pattern, input, want] of captureCases) {
    await t.test(`${pattern} on ${JSON.stringify(input)}`, () => {
      const vm = new FastRegexMatcher(pattern, { linearTime: true }).exec(input);
      assert.deepEqual(vm === null ? null : [...vm], want, 'linear-time VM');
      const auto = new FastRegexMatcher(pattern).exec(input);
      assert.deepEqual(auto === null ? null : [...auto], want, 'default engine choice');
    });
  }
});
