import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareLabels, Labels } from '../model/labels.js';
import { parseMatcher } from '../storage/querier-suite.js';
import { ValueType } from '../storage/interface.js';
import { Head } from './head.js';

const STEP = 10_000;
const SERIES = Labels.from({ __name__: 'request_total', pod: 'web-1' });

/** The counter's value at scrape i: irregular, so the XOR windows change often. */
function value(i: number): number {
  return i * 7 + (i % 5) * 0.25;
}

/** Samples of the one series over [mint, maxt] as the head's querier reads them. */
async function read(head: Head, mint: number, maxt: number, seekTo?: number): Promise<number[]> {
  const q = await head.querier(mint, maxt);
  const ss = q.select(false, null, [parseMatcher('__name__="request_total"')]);
  const out: number[] = [];
  while (ss.next()) {
    const it = ss.at().iterator();
    for (
      let vt = seekTo === undefined ? it.next() : it.seek(seekTo);
      vt !== ValueType.None;
      vt = it.next()
    ) {
      out.push(it.atT(), it.atV());
    }
    assert.equal(it.err(), null);
  }
  q.close();
  return out;
}

function want(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = Math.ceil(from / STEP); i * STEP <= to; i++) out.push(i * STEP, value(i));
  return out;
}

test('reads the same samples again once checkpoints are left', async (t) => {
  // 361 scrapes: three closed chunks of 120 and one open chunk, as the engine bench has.
  const head = new Head();
  for (let i = 0; i <= 360; i++) {
    const app = head.appender();
    app.append(0, SERIES, i * STEP, value(i));
    await app.commit();
  }
  const windows: { name: string; mint: number; maxt: number; seekTo?: number }[] = [
    { name: 'last 30s of a closed chunk', mint: 1_170_000, maxt: 1_199_999 },
    { name: 'window across a chunk edge', mint: 1_170_000, maxt: 1_230_000 },
    { name: 'last minute of the open chunk', mint: 3_540_000, maxt: 3_600_000 },
    { name: 'earlier window in a checkpointed chunk', mint: 1_000_000, maxt: 1_100_000 },
    { name: 'seek inside the range', mint: 2_400_000, maxt: 3_600_000, seekTo: 3_200_000 },
    { name: 'everything', mint: 0, maxt: 3_600_000 },
  ];
  for (const w of windows) {
    await t.test(w.name, async () => {
      const expect = want(Math.max(w.mint, w.seekTo ?? -Infinity), w.maxt);
      // The first read leaves checkpoints; later ones start from them.
      for (let round = 0; round < 3; round++) {
        assert.deepEqual(await read(head, w.mint, w.maxt, w.seekTo), expect, `round ${round}`);
      }
    });
  }
  await t.test('windows moving forward, as a dashboard refreshes', async () => {
    for (let end = 600_000; end <= 3_600_000; end += 15_000) {
      assert.deepEqual(await read(head, end - 30_000, end), want(end - 30_000, end), `${end}`);
    }
  });
});

test('a checkpoint of a series open chunk is not used for its next one', async () => {
  const head = new Head();
  let i = 0;
  const scrape = async (): Promise<void> => {
    const app = head.appender();
    app.append(0, SERIES, i * STEP, value(i));
    await app.commit();
    i++;
  };
  while (i < 100) await scrape();
  // Checkpoint deep inside the open chunk.
  assert.deepEqual(await read(head, 950_000, 990_000), want(950_000, 990_000));
  // Cut it (past 120 samples the next chunk starts) and read the new open chunk.
  while (i < 300) await scrape();
  for (const [mint, maxt] of [
    [2_950_000, 2_990_000],
    [1_300_000, 1_500_000],
  ]) {
    assert.deepEqual(await read(head, mint, maxt), want(mint, maxt));
    assert.deepEqual(await read(head, mint, maxt), want(mint, maxt));
  }
});

test('large sorted selects come out in label order, also after series are added', async () => {
  const head = new Head();
  const labelsOf = (i: number): Labels =>
    Labels.from({
      __name__: i % 3 === 0 ? 'a_total' : 'b_total',
      pod: `web-${(i * 7919) % 5003}`,
      le: String(i % 11),
    });
  const add = async (from: number, to: number): Promise<void> => {
    const app = head.appender();
    for (let i = from; i < to; i++) app.append(0, labelsOf(i), 1000, i);
    await app.commit();
  };
  const check = async (want: number): Promise<void> => {
    const q = await head.querier(0, 2000);
    for (const matcher of ['__name__=~".+"', '__name__="b_total"']) {
      const ss = q.select(true, null, [parseMatcher(matcher)]);
      const got: Labels[] = [];
      while (ss.next()) got.push(ss.at().labels);
      const sorted = [...got].sort(compareLabels);
      assert.deepEqual(got.map(String), sorted.map(String), matcher);
      if (matcher === '__name__=~".+"') assert.equal(got.length, want);
    }
    q.close();
  };
  await add(0, 6000);
  await check(6000);
  await check(6000);
  await add(6000, 6100);
  await check(6100);
});

test('readBatch copies what next() walks, chunk by chunk', async () => {
  const head = new Head();
  for (let i = 0; i <= 360; i++) {
    const app = head.appender();
    app.append(0, SERIES, i * STEP, value(i));
    await app.commit();
  }
  const cases: { name: string; mint: number; maxt: number; upTo: number; room: number }[] = [
    { name: 'everything', mint: 0, maxt: 3_600_000, upTo: 3_600_000, room: 1024 },
    { name: 'across chunk edges', mint: 1_170_000, maxt: 2_430_000, upTo: 2_430_000, room: 1024 },
    { name: 'caller maxt earlier', mint: 0, maxt: 3_600_000, upTo: 1_234_567, room: 1024 },
    { name: 'open chunk only', mint: 3_540_000, maxt: 3_600_000, upTo: 3_600_000, room: 1024 },
    { name: 'arrays of 7', mint: 500_000, maxt: 3_000_000, upTo: 3_000_000, room: 7 },
  ];
  for (const c of cases) {
    const q = await head.querier(c.mint, c.maxt);
    const ss = q.select(false, null, [parseMatcher('__name__="request_total"')]);
    assert.ok(ss.next(), c.name);
    const it = ss.at().iterator();
    const ts = new Float64Array(c.room);
    const vs = new Float64Array(c.room);
    const got: number[] = [];
    for (let vt = it.seek(c.mint); vt !== ValueType.None; vt = it.next()) {
      const n = it.readBatch!(c.upTo, ts, vs, 0);
      if (n === 0) break;
      for (let i = 0; i < n; i++) got.push(ts[i], vs[i]);
    }
    assert.equal(it.err(), null);
    assert.deepEqual(got, want(c.mint, c.upTo), c.name);
    q.close();
  }
});
