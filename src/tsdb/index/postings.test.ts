import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../../model/labels.js';
import { Matcher, type MatchType } from '../../model/matcher.js';
import {
  MemPostings,
  intersect,
  merge,
  memPostingsIndex,
  postingsForMatchers,
  seekIndex,
  without,
} from './postings.js';

const u = (...xs: number[]) => Uint32Array.from(xs);
const arr = (a: Uint32Array) => Array.from(a);
const range = (from: number, to: number, step = 1) => {
  const out: number[] = [];
  for (let i = from; i < to; i += step) out.push(i);
  return Uint32Array.from(out);
};

test('set operations', async (t) => {
  const cases: {
    name: string;
    op: 'intersect' | 'merge' | 'without';
    in: Uint32Array[];
    want: number[];
  }[] = [
    { name: 'intersect of nothing is empty', op: 'intersect', in: [], want: [] },
    { name: 'intersect of one list is itself', op: 'intersect', in: [u(1, 2, 3)], want: [1, 2, 3] },
    { name: 'intersect two', op: 'intersect', in: [u(1, 2, 3, 4, 5), u(2, 4, 6)], want: [2, 4] },
    {
      name: 'intersect three',
      op: 'intersect',
      in: [u(1, 2, 3, 4), u(2, 3, 4), u(0, 3, 4, 9)],
      want: [3, 4],
    },
    { name: 'intersect disjoint', op: 'intersect', in: [u(1, 3), u(2, 4)], want: [] },
    { name: 'intersect with empty', op: 'intersect', in: [u(1, 3), u()], want: [] },
    {
      name: 'intersect galloping',
      op: 'intersect',
      in: [u(5, 500, 9999, 20000), range(0, 10000, 5)],
      want: [5, 500],
    },
    { name: 'merge of nothing is empty', op: 'merge', in: [], want: [] },
    {
      name: 'merge two overlapping',
      op: 'merge',
      in: [u(1, 3, 5), u(2, 3, 6)],
      want: [1, 2, 3, 5, 6],
    },
    {
      name: 'merge many',
      op: 'merge',
      in: [u(9), u(1, 9), u(4), u(2, 4, 8)],
      want: [1, 2, 4, 8, 9],
    },
    { name: 'merge with empty', op: 'merge', in: [u(), u(7)], want: [7] },
    { name: 'without', op: 'without', in: [u(1, 2, 3, 4, 5), u(2, 4)], want: [1, 3, 5] },
    { name: 'without nothing', op: 'without', in: [u(1, 2), u()], want: [1, 2] },
    { name: 'without everything', op: 'without', in: [u(1, 2), u(0, 1, 2, 3)], want: [] },
    {
      name: 'without galloping',
      op: 'without',
      in: [u(3, 10, 11, 9990), range(0, 10000, 10)],
      want: [3, 11],
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const got =
        tc.op === 'intersect'
          ? intersect(tc.in)
          : tc.op === 'merge'
            ? merge(tc.in)
            : without(tc.in[0], tc.in[1]);
      assert.deepEqual(arr(got), tc.want);
    });
  }
  await t.test('seekIndex finds the first element not below x', () => {
    const a = u(1, 3, 5, 7, 9, 11);
    for (const [lo, x, want] of [
      [0, 0, 0],
      [0, 1, 0],
      [0, 4, 2],
      [2, 4, 2],
      [0, 11, 5],
      [0, 12, 6],
      [3, 1, 3],
    ]) {
      assert.equal(seekIndex(a, lo, x), want, `seek(${lo}, ${x})`);
    }
  });
  await t.test('random lists agree with Set arithmetic', () => {
    let seed = 1;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
    for (let round = 0; round < 200; round++) {
      const mk = () => {
        const n = Math.floor(rnd() ** 3 * 3000);
        const s = new Set<number>();
        for (let i = 0; i < n; i++) s.add(Math.floor(rnd() * 5000));
        return Uint32Array.from([...s].sort((x, y) => x - y));
      };
      const a = mk();
      const b = mk();
      const sb = new Set(b);
      assert.deepEqual(
        arr(intersect([a, b])),
        arr(a).filter((x) => sb.has(x)),
      );
      assert.deepEqual(
        arr(without(a, b)),
        arr(a).filter((x) => !sb.has(x)),
      );
      assert.deepEqual(
        arr(merge([a, b])),
        [...new Set([...a, ...b])].sort((x, y) => x - y),
      );
    }
  });
});

test('MemPostings', async (t) => {
  await t.test('adds, looks up, lists names and values sorted', () => {
    const p = new MemPostings();
    p.add(1, Labels.from({ a: 'x', b: '2' }));
    p.add(2, Labels.from({ a: 'y' }));
    p.add(3, Labels.from({ a: 'x', c: '1' }));
    assert.deepEqual(arr(p.get('a', 'x')), [1, 3]);
    assert.deepEqual(arr(p.get('a', 'nope')), []);
    assert.deepEqual(arr(p.allPostings()), [1, 2, 3]);
    assert.deepEqual(arr(p.get('', '')), [1, 2, 3]);
    assert.deepEqual(p.labelNames(), ['a', 'b', 'c']);
    assert.deepEqual(p.labelValues('a'), ['x', 'y']);
    p.add(4, Labels.from({ a: 'w' }));
    assert.deepEqual(p.labelValues('a'), ['w', 'x', 'y']);
  });
  await t.test('out-of-order and repeated refs stay sorted and unique', () => {
    const p = new MemPostings();
    for (const r of [5, 2, 9, 2, 7, 1]) p.add(r, Labels.from({ a: 'x' }));
    assert.deepEqual(arr(p.get('a', 'x')), [1, 2, 5, 7, 9]);
  });
  await t.test('views taken before a change do not change', () => {
    const p = new MemPostings();
    p.add(1, Labels.from({ a: 'x' }));
    const v = p.get('a', 'x');
    for (let r = 2; r < 50; r++) p.add(r, Labels.from({ a: 'x' }));
    assert.deepEqual(arr(v), [1]);
    const v2 = p.get('a', 'x');
    const ls = Labels.from({ a: 'x' });
    p.delete(new Set([1, 2]), [ls]);
    assert.equal(v2.length, 49);
    assert.equal(v2[0], 1);
    assert.deepEqual(arr(p.get('a', 'x')).slice(0, 2), [3, 4]);
  });
  await t.test('delete drops emptied values and names', () => {
    const p = new MemPostings();
    const l1 = Labels.from({ a: 'x', b: 'only' });
    const l2 = Labels.from({ a: 'x' });
    p.add(1, l1);
    p.add(2, l2);
    p.delete(new Set([1]), [l1]);
    assert.deepEqual(p.labelNames(), ['a']);
    assert.deepEqual(p.labelValues('b'), []);
    assert.deepEqual(arr(p.get('a', 'x')), [2]);
    assert.deepEqual(arr(p.allPostings()), [2]);
  });
});

// The series of Prometheus's TestPostingsForMatchers.
const SERIES_OBJECTS: Record<string, string>[] = [
  { n: '1' },
  { n: '1', i: 'a' },
  { n: '1', i: 'b' },
  { n: '2' },
  { n: '2.5' },
];
const SERIES = SERIES_OBJECTS.map((o) => Labels.from(o));
function fixture(): { p: MemPostings; byRef: Map<number, Labels> } {
  const p = new MemPostings();
  const byRef = new Map<number, Labels>();
  SERIES.forEach((ls, i) => {
    p.add(i + 1, ls);
    byRef.set(i + 1, ls);
  });
  return { p, byRef };
}
const M = (s: string): Matcher => {
  const m = /^(\w+)(=~|!~|!=|=)"(.*)"$/.exec(s)!;
  return new Matcher(m[2] as MatchType, m[1], m[3]);
};

test('postingsForMatchers', async (t) => {
  const { p, byRef } = fixture();
  const ix = memPostingsIndex(p);
  const cases: { ms: string[]; want: Record<string, string>[] }[] = [
    { ms: [], want: [] },
    { ms: ['n="1"'], want: [{ n: '1' }, { n: '1', i: 'a' }, { n: '1', i: 'b' }] },
    { ms: ['n="1"', 'i="a"'], want: [{ n: '1', i: 'a' }] },
    { ms: ['n="1"', 'i="missing"'], want: [] },
    { ms: ['missing=""'], want: SERIES.map((l) => l.toObject()) },
    { ms: ['i=""'], want: [{ n: '1' }, { n: '2' }, { n: '2.5' }] },
    { ms: ['n!="1"'], want: [{ n: '2' }, { n: '2.5' }] },
    {
      ms: ['i!=""'],
      want: [
        { n: '1', i: 'a' },
        { n: '1', i: 'b' },
      ],
    },
    { ms: ['missing!=""'], want: [] },
    { ms: ['n="1"', 'i!="a"'], want: [{ n: '1' }, { n: '1', i: 'b' }] },
    {
      ms: ['n="1"', 'i!=""'],
      want: [
        { n: '1', i: 'a' },
        { n: '1', i: 'b' },
      ],
    },
    { ms: ['n=~"1"'], want: [{ n: '1' }, { n: '1', i: 'a' }, { n: '1', i: 'b' }] },
    { ms: ['n=~"1|2"'], want: [{ n: '1' }, { n: '1', i: 'a' }, { n: '1', i: 'b' }, { n: '2' }] },
    { ms: ['n=~"2.*"'], want: [{ n: '2' }, { n: '2.5' }] },
    { ms: ['n="1"', 'i=~"a"'], want: [{ n: '1', i: 'a' }] },
    {
      ms: ['n="1"', 'i=~"a|b"'],
      want: [
        { n: '1', i: 'a' },
        { n: '1', i: 'b' },
      ],
    },
    { ms: ['n="1"', 'i=~"a?"'], want: [{ n: '1' }, { n: '1', i: 'a' }] },
    { ms: ['n="1"', 'i=~""'], want: [{ n: '1' }] },
    { ms: ['n="1"', 'i=~".*"'], want: [{ n: '1' }, { n: '1', i: 'a' }, { n: '1', i: 'b' }] },
    {
      ms: ['n="1"', 'i=~".+"'],
      want: [
        { n: '1', i: 'a' },
        { n: '1', i: 'b' },
      ],
    },
    { ms: ['n!~"1"'], want: [{ n: '2' }, { n: '2.5' }] },
    { ms: ['n="1"', 'i!~"a"'], want: [{ n: '1' }, { n: '1', i: 'b' }] },
    { ms: ['n="1"', 'i!~"a?"'], want: [{ n: '1', i: 'b' }] },
    {
      ms: ['n="1"', 'i!~""'],
      want: [
        { n: '1', i: 'a' },
        { n: '1', i: 'b' },
      ],
    },
    { ms: ['n="1"', 'i!~".*"'], want: [] },
    { ms: ['n="1"', 'i!~".+"'], want: [{ n: '1' }] },
    { ms: ['n="1"', 'i!=""', 'i="a"'], want: [{ n: '1', i: 'a' }] },
    { ms: ['n="1"', 'i!="b"', 'i=~"(b|a).*"'], want: [{ n: '1', i: 'a' }] },
    { ms: ['n="1"', 'i=~"(b|a).*"', 'i!~"b"'], want: [{ n: '1', i: 'a' }] },
    {
      ms: ['n="1"', 'i=~"a|b|c"'],
      want: [
        { n: '1', i: 'a' },
        { n: '1', i: 'b' },
      ],
    },
    { ms: ['i=~".+"', 'i!="a"'], want: [{ n: '1', i: 'b' }] },
    { ms: ['n!="1"', 'n!="2"'], want: [{ n: '2.5' }] },
    { ms: ['i!~"a"', 'n=~"2.*"'], want: [{ n: '2' }, { n: '2.5' }] },
  ];
  for (const tc of cases) {
    await t.test(`{${tc.ms.join(', ')}}`, () => {
      const got = arr(postingsForMatchers(ix, tc.ms.map(M))).map((r) => byRef.get(r)!.toObject());
      assert.deepEqual(got, tc.want);
    });
  }
});

test('postingsForMatchers agrees with a brute-force scan', () => {
  let seed = 99;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const names = ['a', 'b', 'c', 'd'];
  const values = ['', 'x', 'y', 'z', 'xy', '1', '10'];
  const p = new MemPostings();
  const all: [number, Labels][] = [];
  for (let r = 1; r <= 400; r++) {
    const o: Record<string, string> = {};
    for (const n of names) o[n] = pick(values);
    o.__name__ = 'm';
    const ls = Labels.from(o);
    p.add(r, ls);
    all.push([r, ls]);
  }
  const ix = memPostingsIndex(p);
  const types: MatchType[] = ['=', '!=', '=~', '!~'];
  const regexes = ['x', 'x|y', 'x.*', '.*', '.+', '', '1.?', 'z|', '(x|y)y?'];
  for (let round = 0; round < 500; round++) {
    const ms: Matcher[] = [];
    const k = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < k; i++) {
      const type = pick(types);
      const name = pick([...names, 'missing']);
      ms.push(
        new Matcher(type, name, type === '=' || type === '!=' ? pick(values) : pick(regexes)),
      );
    }
    const want = all.filter(([, ls]) => ms.every((m) => m.matches(ls.get(m.name)))).map(([r]) => r);
    assert.deepEqual(arr(postingsForMatchers(ix, ms)), want, `{${ms.join(', ')}}`);
  }
});
