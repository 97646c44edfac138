import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../model/labels.js';
import { ConfigError } from '../model/errors.js';
import {
  compileRelabelConfigs,
  compileTemplate,
  expandTemplate,
  goToLower,
  goToUpper,
  hashMod,
  isValidTargetTemplate,
  relabel,
  RelabelBuilder,
  type RelabelConfig,
} from './index.js';

interface Case {
  name: string;
  input: Record<string, string>;
  rules: RelabelConfig[];
  /** Expected labels, or null when the set must be dropped. */
  output: Record<string, string> | null;
}

// In the spirit of Prometheus's model/relabel/relabel_test.go; hashmod figures were
// computed independently (Python hashlib) and the interop test checks them against Prometheus.
const cases: Case[] = [
  {
    name: 'replace with ${1} references',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [
      { source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'ch${1}-ch${1}' },
    ],
    output: { a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' },
  },
  {
    name: 'chained replaces see earlier results; separator joins sources',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [
      {
        source_labels: ['a', 'b'],
        regex: 'f(.*);(.*)r',
        target_label: 'a',
        replacement: 'b${1}${2}m',
      },
      {
        source_labels: ['c', 'a'],
        regex: '(b).*b(.*)ba(.*)',
        target_label: 'd',
        replacement: '$1$2$2$3',
      },
    ],
    output: { a: 'boobam', b: 'bar', c: 'baz', d: 'boooom' },
  },
  {
    name: 'custom separator and missing sources as empty strings',
    input: { a: 'foo', b: 'bar' },
    rules: [{ source_labels: ['a', 'missing', 'b'], separator: '|', target_label: 'j' }],
    output: { a: 'foo', b: 'bar', j: 'foo||bar' },
  },
  {
    name: 'drop when the regex matches',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: '.*o.*', action: 'drop' }],
    output: null,
  },
  {
    name: 'drop regex is anchored: f|o does not match foo',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'f|o', action: 'drop' }],
    output: { a: 'foo' },
  },
  {
    name: 'keep drops when the regex does not match',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'no-match', action: 'keep' }],
    output: null,
  },
  {
    name: 'keep keeps when the regex matches',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }],
    output: { a: 'foo' },
  },
  {
    name: 'keep with a missing source matches the empty string',
    input: { a: 'foo' },
    rules: [{ source_labels: ['missing'], regex: '', action: 'keep' }],
    output: { a: 'foo' },
  },
  {
    name: 'action names are case-insensitive',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: 'foo', action: 'DROP' }],
    output: null,
  },
  {
    name: 'replace without a match changes nothing',
    input: { a: 'boo' },
    rules: [{ source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'x' }],
    output: { a: 'boo' },
  },
  {
    name: 'replace with an empty result deletes the target',
    input: { a: 'foo', d: 'old' },
    rules: [{ source_labels: ['a'], regex: '(f).*', target_label: 'd', replacement: '$2' }],
    output: { a: 'foo' },
  },
  {
    name: '$1x names the group "1x", which is empty',
    input: { a: 'foo', d: 'old' },
    rules: [{ source_labels: ['a'], regex: '(f)(.*)', target_label: 'd', replacement: '$1x' }],
    output: { a: 'foo' },
  },
  {
    name: '${1}x is group 1 then x',
    input: { a: 'foo' },
    rules: [{ source_labels: ['a'], regex: '(f)(.*)', target_label: 'd', replacement: '${1}x' }],
    output: { a: 'foo', d: 'fx' },
  },
  {
    name: 'named groups by $name and ${name}, $$ for a dollar',
    input: { a: 'foo' },
    rules: [
      {
        source_labels: ['a'],
        regex: '(?P<first>f)(?P<rest>.*)',
        target_label: 'd',
        replacement: '$rest-${first}-$$1-$',
      },
    ],
    output: { a: 'foo', d: 'oo-f-$1-$' },
  },
  {
    name: 'replace into a templated target label',
    input: { a: 'foo', b: 'some-value' },
    rules: [
      {
        source_labels: ['a', 'b'],
        regex: '(.*);(.*)',
        target_label: 'label_${1}',
        replacement: '$2',
      },
    ],
    output: { a: 'foo', b: 'some-value', label_foo: 'some-value' },
  },
  {
    name: 'a templated target that expands to an invalid name is skipped',
    input: { a: '1abc' },
    rules: [{ source_labels: ['a'], regex: '(.*)', target_label: '${1}', replacement: 'x' }],
    output: { a: '1abc' },
  },
  {
    name: 'replace with a fixed value from no source (the fast path)',
    input: { a: 'foo' },
    rules: [{ target_label: 'env', replacement: 'prod' }],
    output: { a: 'foo', env: 'prod' },
  },
  {
    name: 'replace from an absent source with an explicit regex deletes the target',
    input: { a: 'foo', d: 'x' },
    rules: [{ source_labels: ['missing'], regex: '(.*)', target_label: 'd' }],
    output: { a: 'foo' },
  },
  {
    name: '. matches newline (Prometheus 3)',
    input: { a: 'x\ny' },
    rules: [{ source_labels: ['a'], regex: 'x.y', target_label: 'm', replacement: 'yes' }],
    output: { a: 'x\ny', m: 'yes' },
  },
  {
    name: 'hashmod, modulus 1000',
    input: { a: 'foo', b: 'bar', c: 'baz' },
    rules: [{ source_labels: ['c'], target_label: 'd', modulus: 1000, action: 'hashmod' }],
    output: { a: 'foo', b: 'bar', c: 'baz', d: '976' },
  },
  {
    name: 'hashmod, modulus 2^64-1 (exact uint64)',
    input: { c: 'baz' },
    rules: [
      {
        source_labels: ['c'],
        target_label: 'd',
        modulus: 18446744073709551615n,
        action: 'hashmod',
      },
    ],
    output: { c: 'baz', d: '16450797887570275976' },
  },
  {
    name: 'hashmod of the empty string',
    input: { a: 'foo' },
    rules: [{ source_labels: ['missing'], target_label: 'd', modulus: 3, action: 'hashmod' }],
    output: { a: 'foo', d: '1' },
  },
  {
    name: 'hashmod then keep one shard',
    input: { __address__: '127.0.0.1:9100' },
    rules: [
      { source_labels: ['__address__'], target_label: '__tmp_hash', modulus: 7, action: 'hashmod' },
      { source_labels: ['__tmp_hash'], regex: '5', action: 'keep' },
    ],
    output: { __address__: '127.0.0.1:9100', __tmp_hash: '5' },
  },
  {
    name: 'labelmap copies matching names',
    input: { __meta_pod_label_app: 'web', __meta_pod_label_tier: 'front', a: 'x' },
    rules: [{ regex: '__meta_pod_label_(.+)', replacement: '$1', action: 'labelmap' }],
    output: {
      __meta_pod_label_app: 'web',
      __meta_pod_label_tier: 'front',
      a: 'x',
      app: 'web',
      tier: 'front',
    },
  },
  {
    name: 'labelmap with a prefix replacement',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', replacement: 'bar_${1}', action: 'labelmap' }],
    output: { a: 'foo', b1: 'bar', b2: 'baz', bar_b1: 'bar', bar_b2: 'baz' },
  },
  {
    name: 'labelmap collision: the later name in base order wins',
    input: { a_x: '1', b_x: '2' },
    rules: [{ regex: '[ab]_(x)', replacement: '$1', action: 'labelmap' }],
    output: { a_x: '1', b_x: '2', x: '2' },
  },
  {
    name: 'labelmap walks added labels after the base ones',
    input: { a_x: '1', b_x: '2' },
    rules: [
      { target_label: 'a0_x', replacement: '3' },
      { regex: '.*_(x)', replacement: '$1', action: 'labelmap' },
    ],
    output: { a_x: '1', b_x: '2', a0_x: '3', x: '3' },
  },
  {
    name: 'labeldrop',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', action: 'labeldrop' }],
    output: { a: 'foo' },
  },
  {
    name: 'labelkeep',
    input: { a: 'foo', b1: 'bar', b2: 'baz' },
    rules: [{ regex: '(b.*)', action: 'labelkeep' }],
    output: { b1: 'bar', b2: 'baz' },
  },
  {
    name: 'labeldrop of everything keeps an empty set (not a drop)',
    input: { a: 'foo' },
    rules: [{ regex: '.*', action: 'labeldrop' }],
    output: {},
  },
  {
    name: 'labeldrop is anchored',
    input: { ab: '1', b: '2' },
    rules: [{ regex: 'b', action: 'labeldrop' }],
    output: { ab: '1' },
  },
  {
    name: 'lowercase and uppercase',
    input: { foo: 'bAr123Foo', x: 'ΑΣ' },
    rules: [
      { source_labels: ['foo'], target_label: 'foo_lower', action: 'lowercase' },
      { source_labels: ['foo', 'x'], target_label: 'foo_upper', action: 'uppercase' },
      { source_labels: ['x'], target_label: 'x_lower', action: 'lowercase' },
    ],
    output: {
      foo: 'bAr123Foo',
      x: 'ΑΣ',
      foo_lower: 'bar123foo',
      foo_upper: 'BAR123FOO;ΑΣ',
      x_lower: 'ασ',
    },
  },
  {
    name: 'uppercase keeps runes without a single-rune upper case',
    input: { a: 'straße ǆ ﬀ' },
    rules: [{ source_labels: ['a'], target_label: 'a', action: 'uppercase' }],
    output: { a: 'STRAßE Ǆ ﬀ' },
  },
  {
    name: 'lowercase of an empty value deletes the target',
    input: { a: 'x' },
    rules: [{ source_labels: ['missing'], target_label: 'a', action: 'lowercase' }],
    output: {},
  },
  {
    name: 'keepequal keeps equal values',
    input: { a: 'foo', b: 'foo', c: 'bar' },
    rules: [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }],
    output: { a: 'foo', b: 'foo', c: 'bar' },
  },
  {
    name: 'keepequal drops different values',
    input: { a: 'foo', b: 'foo', c: 'bar' },
    rules: [{ source_labels: ['a'], target_label: 'c', action: 'keepequal' }],
    output: null,
  },
  {
    name: 'dropequal drops equal values',
    input: { a: 'foo', b: 'foo' },
    rules: [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }],
    output: null,
  },
  {
    name: 'dropequal compares joined sources',
    input: { a: 'foo', b: 'bar', c: 'foo;bar' },
    rules: [{ source_labels: ['a', 'b'], target_label: 'c', action: 'dropequal' }],
    output: null,
  },
  {
    name: 'a label deleted then set again reads back the new value',
    input: { a: 'foo' },
    rules: [
      { regex: 'a', action: 'labeldrop' },
      { source_labels: ['a'], target_label: 'was', replacement: 'empty-${1}' },
      { target_label: 'a', replacement: 'new' },
      { source_labels: ['a'], target_label: 'now' },
    ],
    output: { a: 'new', was: 'empty-', now: 'new' },
  },
];

test('relabel actions', async (t) => {
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const input = Labels.from(tc.input);
      const got = relabel(input, compileRelabelConfigs(tc.rules));
      if (tc.output === null) assert.equal(got, null);
      else {
        assert.notEqual(got, null, 'dropped unexpectedly');
        assert.deepEqual(got!.toObject(), tc.output);
      }
    });
  }
});

test('relabel returns the same object when no rule changes the labels', () => {
  const input = Labels.from({ a: 'foo', b: 'bar' });
  const cfgs = compileRelabelConfigs([
    { source_labels: ['a'], regex: 'f.*', action: 'keep' },
    { source_labels: ['b'], regex: 'x(.*)', target_label: 'c' },
    { regex: 'zzz', action: 'labeldrop' },
  ]);
  assert.equal(relabel(input, cfgs), input);
  assert.equal(relabel(input, []), input);
  // A reusable builder gives the same answers.
  const b = new RelabelBuilder();
  assert.equal(relabel(input, cfgs, b), input);
});

// [rule, fragment of the error]
const invalid: [RelabelConfig, string][] = [
  [{ action: 'foo' }, 'unknown relabel action "foo"'],
  [
    { source_labels: ['a'] },
    "relabel configuration for replace action requires 'target_label' value",
  ],
  [
    { source_labels: ['a'], target_label: '1abc' },
    `"1abc" is invalid 'target_label' for replace action`,
  ],
  [
    { source_labels: ['a'], target_label: 'a-b' },
    `"a-b" is invalid 'target_label' for replace action`,
  ],
  [
    { source_labels: ['a'], target_label: '$1-x' },
    `"$1-x" is invalid 'target_label' for replace action`,
  ],
  [
    { source_labels: ['a'], target_label: 'x', action: 'hashmod' },
    'relabel configuration for hashmod requires non-zero modulus',
  ],
  [
    { source_labels: ['a'], modulus: 3, action: 'hashmod' },
    "hashmod action requires 'target_label' value",
  ],
  [
    { source_labels: ['a'], target_label: 'a.b', modulus: 3, action: 'hashmod' },
    `"a.b" is invalid 'target_label' for hashmod action`,
  ],
  [
    { source_labels: ['a'], action: 'lowercase' },
    "relabel configuration for lowercase action requires 'target_label' value",
  ],
  [
    { source_labels: ['a'], target_label: 'x', replacement: 'y', action: 'uppercase' },
    "'replacement' can not be set for uppercase action",
  ],
  [
    { source_labels: ['a'], target_label: '${1}', action: 'lowercase' },
    `"\${1}" is invalid 'target_label' for lowercase action`,
  ],
  [
    { regex: '(.*)', replacement: 'foo-$1', action: 'labelmap' },
    `"foo-$1" is invalid 'replacement' for labelmap action`,
  ],
  [
    { source_labels: ['a'], regex: 'x', action: 'labeldrop' },
    "labeldrop action requires only 'regex', and no other fields",
  ],
  [
    { target_label: 'a', regex: 'x', action: 'labelkeep' },
    "labelkeep action requires only 'regex', and no other fields",
  ],
  [
    { separator: ',', regex: 'x', action: 'labelkeep' },
    "labelkeep action requires only 'regex', and no other fields",
  ],
  [
    { source_labels: ['a'], target_label: 'b', regex: '(.*)', action: 'keepequal' },
    'keepequal action requires only',
  ],
  [
    { source_labels: ['a'], target_label: 'b', replacement: 'x', action: 'dropequal' },
    "'replacement' can not be set for dropequal action",
  ],
  [
    { source_labels: ['a'], action: 'dropequal' },
    "relabel configuration for dropequal action requires 'target_label' value",
  ],
  [
    { source_labels: ['a'], regex: '(a)\\1', action: 'keep' },
    'backreference `\\1` is not supported (RE2 syntax)',
  ],
  [{ source_labels: ['a'], regex: 'a(?=b)', action: 'keep' }, 'lookahead `(?=` is not supported'],
  [{ source_labels: ['a-b'], action: 'keep' }, '"a-b" is not a valid label name'],
  [
    { source_labels: ['a'], target_label: 'x', modulus: 2 ** 60, action: 'hashmod' },
    'must be a non-negative integer below 2^53',
  ],
];

test('invalid rules are rejected at load with Prometheus wording', async (t) => {
  for (const [rule, fragment] of invalid) {
    await t.test(fragment, () => {
      assert.throws(
        () =>
          compileRelabelConfigs(
            [rule],
            ['prometheus.yml:9:7: scrape_configs[0].relabel_configs[0]'],
          ),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.ok(
            err.message.startsWith('prometheus.yml:9:7: scrape_configs[0].relabel_configs[0]: '),
            err.message,
          );
          assert.ok(err.message.includes(fragment), `${err.message} should include ${fragment}`);
          return true;
        },
      );
    });
  }
});

test('valid edge rules are accepted', () => {
  const ok: RelabelConfig[] = [
    { source_labels: ['a'], target_label: '${1}' },
    { source_labels: ['a'], target_label: 'x_$1_${2}y' },
    { source_labels: ['a'], target_label: 'x', action: 'Replace' },
    { regex: 'x', action: 'labeldrop' },
    { source_labels: ['a'], target_label: 'b', action: 'keepequal' },
    { regex: '__meta_(.+)', replacement: 'm_${1}', action: 'labelmap' },
    { source_labels: ['a'], target_label: 'h', modulus: 18446744073709551615n, action: 'hashmod' },
  ];
  assert.equal(compileRelabelConfigs(ok).length, ok.length);
});

test('target templates follow relabelTarget', () => {
  const f = (s: string, want: boolean): void => assert.equal(isValidTargetTemplate(s), want, s);
  f('a', true);
  f('_a1', true);
  f('$1', true);
  f('${1}', true);
  f('${name}_x', true);
  f('a$b$c', true);
  f('1a', false);
  f('', false);
  f('$', false);
  f('${}', false);
  f('${1', false);
  f('a-b', false);
  f('a'.repeat(40) + '!', false); // must not backtrack exponentially
});

test('templates expand as Go Regexp.Expand', () => {
  const names = ['', 'first', '', '1x'];
  const m = Object.assign(['abc', 'a', 'b', 'c'], {
    index: 0,
    input: 'abc',
  }) as unknown as RegExpExecArray;
  const f = (tpl: string, want: string): void =>
    assert.equal(expandTemplate(compileTemplate(tpl, names), m), want, tpl);
  f('$1', 'a');
  f('${1}', 'a');
  f('$first', 'a');
  f('${first}', 'a');
  f('$1x', 'c'); // a named group 1x exists here
  f('$2x', '');
  f('${2}x', 'bx');
  f('$01', '');
  f('$0', 'abc');
  f('$9', '');
  f('$$1', '$1');
  f('$', '$');
  f('a$-b', 'a$-b');
  f('${1', '${1');
  f('x${first}y$2z', 'xay'); // $2z is the (absent) group "2z"
  f('no refs', 'no refs');
});

test('hashmod equals Prometheus for small and uint64 moduli', () => {
  // Figures from md5 in Python: int.from_bytes(md5(v)[8:], 'big') % m.
  assert.equal(hashMod('baz', 1000n), '976');
  assert.equal(hashMod('foo', 7n), '2');
  assert.equal(hashMod('127.0.0.1:9100', 7n), '5');
  assert.equal(hashMod('', 3n), '1');
  assert.equal(hashMod('héllo;x', 12345678901n), '11777871150');
  assert.equal(hashMod('baz', 18446744073709551615n), '16450797887570275976');
});

test('case mapping is per rune as in Go', () => {
  assert.equal(goToLower('ΑΣ'), 'ασ'); // JavaScript alone gives final sigma: 'ας'
  assert.equal(goToLower('İ'), 'i');
  assert.equal(goToUpper('ß'), 'ß');
  assert.equal(goToUpper('ſ'), 'S');
  assert.equal(goToUpper('abc'), 'ABC');
});
