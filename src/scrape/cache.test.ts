import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryType, ExpositionParser } from '../exposition/index.js';
import { Labels } from '../model/labels.js';
import { CacheEntry, hashKeyBytes, ScrapeCache, type KeyHash } from './cache.js';

/** A cache and the text parser that feeds it, as a scrape loop holds them. */
interface Reader {
  cache: ScrapeCache;
  parser: ExpositionParser<CacheEntry> | null;
}

function reader(hash: KeyHash = hashKeyBytes): Reader {
  return { cache: new ScrapeCache(hash), parser: null };
}

/**
 * One scrape of a body with these series keys, as the loop does it: the entry by line,
 * by bytes, or a new one. `fail` stops before the commit (a scrape that fails). Returns
 * the entry of every line.
 */
function scrape(r: Reader, keys: string[], fail = false): CacheEntry[] {
  // A fresh Buffer each time, as a fetch gives: the cache must not rely on the old one.
  const body = Buffer.from(keys.map((k, i) => `${k} ${i}\n`).join(''), 'latin1');
  const cache = r.cache;
  const iter = cache.beginIteration(body);
  if (r.parser === null) {
    r.parser = new ExpositionParser<CacheEntry>(body, { format: 'text' });
    r.parser.setAutoRemember(false);
  } else r.parser.reset(body);
  const p = r.parser;
  p.setKnownKeys(cache.size > 0 ? cache : null);
  const out: CacheEntry[] = [];
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t !== EntryType.Series) continue;
    let e = p.known();
    if (e === undefined) e = cache.getRange(body, p.seriesKeyStart(), p.seriesKeyEnd());
    if (e === undefined) {
      const key = p.seriesKey();
      const series = cache.seriesFor(Labels.from({ __name__: 'm', key }));
      e = cache.add(series, p.seriesKeyStart(), p.seriesKeyEnd());
    }
    cache.noteLine(e, p.seriesKeyStart());
    if (e.lastIter !== iter) {
      e.lastIter = iter;
      cache.seenEntries++;
    }
    if (e.series!.lastIter !== iter) {
      e.series!.lastIter = iter;
      cache.seenSeries++;
    }
    out.push(e);
  }
  if (fail) {
    // Not ended: the next beginIteration drops what this one made.
  } else if (body.length === 0) {
    // An empty body is what a failed fetch writes: nothing is evicted.
    cache.endIteration(false);
  } else {
    p.rememberBody();
    cache.endIteration(true, p.rememberedBody());
  }
  p.reset(Buffer.alloc(0));
  body.fill(0); // the fetcher reuses the Buffer
  return out;
}

const SCRAPES: { name: string; scrapes: (string[] | { fail: string[] })[] }[] = [
  {
    name: 'same order',
    scrapes: [
      ['a', 'b{x="1"}', 'c'],
      ['a', 'b{x="1"}', 'c'],
      ['a', 'b{x="1"}', 'c'],
    ],
  },
  {
    name: 'reordered',
    scrapes: [
      ['a', 'b', 'c'],
      ['c', 'a', 'b'],
      ['b', 'c', 'a'],
    ],
  },
  {
    name: 'line inserted and removed',
    scrapes: [
      ['a', 'b', 'c'],
      ['a', 'x', 'b', 'c'],
      ['a', 'c'],
    ],
  },
  {
    name: 'repeated line',
    scrapes: [
      ['a', 'a', 'b'],
      ['a', 'b', 'a'],
      ['a', 'a', 'b'],
    ],
  },
  {
    name: 'evicted then back',
    scrapes: [
      ['a', 'b', 'c'],
      ['a', 'c'],
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ],
  },
  { name: 'empty scrape between', scrapes: [['a', 'b'], [], ['a', 'b']] },
  {
    name: 'keys of one length that differ in one byte',
    scrapes: [
      ['m{l="1"}', 'm{l="2"}', 'm{l="3"}', 'n{l="1"}'],
      ['m{l="2"}', 'm{l="1"}', 'n{l="1"}', 'm{l="3"}'],
      ['m{l="1"}', 'm{l="2"}', 'm{l="4"}', 'n{l="1"}'],
    ],
  },
  {
    name: 'a failed scrape between',
    scrapes: [
      ['a', 'b', 'c'],
      { fail: ['a', 'x', 'y', 'c'] },
      ['a', 'y', 'b', 'c'],
      ['x', 'a', 'b', 'c'],
    ],
  },
  {
    name: 'bodies shift and shrink',
    scrapes: [
      ['aaaaaaaaaaaaaaaa{x="1"}', 'bbbbbbbbbbbbbbbb{y="2"}', 'c'],
      ['c', 'bbbbbbbbbbbbbbbb{y="2"}'],
      ['z', 'aaaaaaaaaaaaaaaa{x="1"}', 'bbbbbbbbbbbbbbbb{y="2"}', 'c'],
    ],
  },
];

const HASHES: { name: string; hash: KeyHash }[] = [
  { name: 'real hash', hash: hashKeyBytes },
  { name: 'every key collides', hash: () => 0 },
  { name: 'hash by length only', hash: (_v, s, e) => e - s },
];

test('ScrapeCache: each key has one entry, never another key’s, whatever the order, hash or failures', async (t) => {
  for (const h of HASHES) {
    for (const c of SCRAPES) {
      await t.test(`${h.name}: ${c.name}`, () => {
        const r = reader(h.hash);
        // The entry each key must get while it stays in the cache.
        const expect = new Map<string, CacheEntry>();
        for (const step of c.scrapes) {
          const fail = !Array.isArray(step);
          const keys = Array.isArray(step) ? step : step.fail;
          const got = scrape(r, keys, fail);
          assert.equal(got.length, keys.length);
          const owner = new Map<CacheEntry, string>();
          const made = new Set<string>();
          for (let i = 0; i < keys.length; i++) {
            const k = keys[i];
            assert.notEqual(got[i].keyAt, -1, `${k}: an evicted entry was handed out`);
            const was = owner.get(got[i]);
            assert.ok(was === undefined || was === k, `${k} got the entry of ${was}`);
            owner.set(got[i], k);
            const e = expect.get(k);
            if (e !== undefined) assert.equal(got[i], e, `${k}: a second entry`);
            else {
              expect.set(k, got[i]);
              made.add(k);
            }
          }
          if (fail) {
            // Entries made by the failed scrape are dropped (the next scrape makes new ones).
            for (const k of made) expect.delete(k);
            continue;
          }
          if (keys.length === 0) continue;
          // A successful scrape evicts what it did not have.
          for (const k of [...expect.keys()]) {
            if (!keys.includes(k)) {
              assert.equal(expect.get(k)!.keyAt, -1, `${k} not evicted`);
              expect.delete(k);
            }
          }
          assert.equal(r.cache.size, new Set(keys).size);
        }
      });
    }
  }
});

test('ScrapeCache: a repeat scrape finds every line by its index in the remembered body', () => {
  const r = reader();
  const keys = ['a{x="1"}', 'a{x="2"}', 'b', 'c{y="z"}'];
  const first = scrape(r, keys);
  // Every line of the next body repeats the remembered one at its place.
  const cache = r.cache;
  for (let i = 0; i < keys.length; i++) assert.equal(cache.getRemembered(i), first[i]);
  assert.equal(cache.getRemembered(keys.length), undefined);
  assert.deepEqual(scrape(r, keys), first);
});

test('ScrapeCache.getRange: unknown keys and keys of another length are undefined', () => {
  const r = reader(() => 0);
  scrape(r, ['ab', 'abc']);
  const body = Buffer.from('ab abc abd a\n', 'latin1');
  r.cache.beginIteration(body);
  assert.equal(r.cache.getRange(body, 0, 2)?.keyLen, 2);
  assert.equal(r.cache.getRange(body, 3, 6)?.keyLen, 3);
  assert.equal(r.cache.getRange(body, 7, 10), undefined);
  assert.equal(r.cache.getRange(body, 11, 12), undefined);
});
