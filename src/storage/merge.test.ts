import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../model/labels.js';
import { Matcher } from '../model/matcher.js';
import {
  ValueType,
  type Querier,
  type SampleIterator,
  type Series,
  type SeriesSet,
} from './interface.js';
import { ChainSampleIterator, MergeQuerier } from './merge.js';

/** An iterator over fixed samples (a test double for any source). */
class ListIterator implements SampleIterator {
  private i = -1;
  private readonly ts: number[];
  private readonly vs: number[];
  private readonly failAt: number;
  constructor(ts: number[], vs: number[], failAt = -1) {
    this.ts = ts;
    this.vs = vs;
    this.failAt = failAt;
  }
  next(): ValueType {
    if (++this.i === this.failAt) return ValueType.None;
    return this.i < this.ts.length ? ValueType.Float : ValueType.None;
  }
  seek(t: number): ValueType {
    if (this.i >= 0 && this.i < this.ts.length && this.ts[this.i] >= t) return ValueType.Float;
    while (this.next() === ValueType.Float) if (this.ts[this.i] >= t) return ValueType.Float;
    return ValueType.None;
  }
  atT(): number {
    return this.ts[this.i];
  }
  atV(): number {
    return this.vs[this.i];
  }
  err(): Error | null {
    return this.i === this.failAt ? new Error('source broke') : null;
  }
}

function drain(it: SampleIterator): [number, number][] {
  const out: [number, number][] = [];
  while (it.next() === ValueType.Float) out.push([it.atT(), it.atV()]);
  return out;
}

test('ChainSampleIterator', async (t) => {
  const cases: { name: string; srcs: [number[], number[]][]; want: [number, number][] }[] = [
    { name: 'no sources', srcs: [], want: [] },
    {
      name: 'one source',
      srcs: [
        [
          [1, 2],
          [10, 20],
        ],
      ],
      want: [
        [1, 10],
        [2, 20],
      ],
    },
    {
      name: 'interleaved',
      srcs: [
        [
          [1, 3, 5],
          [1, 3, 5],
        ],
        [
          [2, 4],
          [2, 4],
        ],
      ],
      want: [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    },
    {
      name: 'equal timestamps appear once, first source wins',
      srcs: [
        [
          [1, 2, 3],
          [10, 20, 30],
        ],
        [
          [2, 3, 4],
          [-2, -3, -4],
        ],
        [[3], [-33]],
      ],
      want: [
        [1, 10],
        [2, 20],
        [3, 30],
        [4, -4],
      ],
    },
    {
      name: 'an empty source',
      srcs: [
        [[], []],
        [[7], [70]],
      ],
      want: [[7, 70]],
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      assert.deepEqual(
        drain(new ChainSampleIterator(tc.srcs.map(([ts, vs]) => new ListIterator(ts, vs)))),
        tc.want,
      );
    });
  }
  await t.test('seek across sources, never backwards', () => {
    const it = new ChainSampleIterator([
      new ListIterator([1, 5, 9], [1, 5, 9]),
      new ListIterator([2, 6, 10], [2, 6, 10]),
    ]);
    assert.equal(it.seek(4), ValueType.Float);
    assert.equal(it.atT(), 5);
    assert.equal(it.seek(1), ValueType.Float);
    assert.equal(it.atT(), 5);
    assert.equal(it.next(), ValueType.Float);
    assert.equal(it.atT(), 6);
    assert.equal(it.seek(10), ValueType.Float);
    assert.equal(it.atT(), 10);
    assert.equal(it.next(), ValueType.None);
    assert.equal(it.seek(0), ValueType.None);
  });
  await t.test('an error of one source surfaces', () => {
    const it = new ChainSampleIterator([
      new ListIterator([1, 2, 3], [1, 2, 3], 1),
      new ListIterator([5], [5]),
    ]);
    drain(it);
    assert.match(String(it.err()), /source broke/);
  });
});

/** A querier over fixed series (labels → samples), sorted. */
function fixedQuerier(series: [Record<string, string>, number[]][], names: string[]): Querier {
  const list = series.map(([l, ts]) => ({ labels: Labels.from(l), ts }));
  list.sort((a, b) => (a.labels.toString() < b.labels.toString() ? -1 : 1));
  return {
    select(): SeriesSet {
      let i = -1;
      return {
        next: () => ++i < list.length,
        at: (): Series => {
          const cur = list[i];
          return { labels: cur.labels, iterator: () => new ListIterator(cur.ts, cur.ts) };
        },
        err: () => null,
        warnings: () => [`from ${names.join(',')}`],
      };
    },
    labelValues: () => names,
    labelNames: () => ['a'],
    close: () => undefined,
  };
}

test('MergeQuerier', async (t) => {
  const q = new MergeQuerier([
    fixedQuerier(
      [
        [{ a: '1' }, [1, 2]],
        [{ a: '3' }, [1]],
      ],
      ['x', 'z'],
    ),
    fixedQuerier(
      [
        [{ a: '2' }, [5]],
        [{ a: '1' }, [2, 3]],
      ],
      ['y', 'x'],
    ),
  ]);
  await t.test('series with equal labels merge; output sorted', () => {
    const ss = q.select(false, null, [new Matcher('=~', 'a', '.+')]);
    const got: [string, [number, number][]][] = [];
    while (ss.next()) got.push([ss.at().labels.toString(), drain(ss.at().iterator())]);
    assert.deepEqual(got, [
      [
        '{a="1"}',
        [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
      ],
      ['{a="2"}', [[5, 5]]],
      ['{a="3"}', [[1, 1]]],
    ]);
    assert.deepEqual(ss.warnings(), ['from x,z', 'from y,x']);
  });
  await t.test('label values are a sorted union', () => {
    assert.deepEqual(q.labelValues('a'), ['x', 'y', 'z']);
    assert.deepEqual(q.labelNames(), ['a']);
  });
});
