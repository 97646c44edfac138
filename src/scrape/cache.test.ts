import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Labels } from '../model/labels.js';
import { CacheEntry, ScrapeCache } from './cache.js';

/** One scrape through the cache: looks every key up, adding the missing ones; returns the entries. */
function scrape(cache: ScrapeCache, keys: string[]): CacheEntry[] {
  const iter = cache.beginIteration();
  const out: CacheEntry[] = [];
  for (const k of keys) {
    let e = cache.get(k);
    if (e === undefined) {
      e = new CacheEntry(cache.seriesFor(Labels.from({ __name__: 'm', k })), k);
      cache.add(e);
    }
    if (e.lastIter !== iter) {
      e.lastIter = iter;
      cache.seenEntries++;
    }
    e.series!.lastIter = iter;
    cache.seenSeries++;
    out.push(e);
  }
  cache.endIteration(true);
  return out;
}

test('ScrapeCache.get: the entry for the key whatever the order of lines', async (t) => {
  const cases: { name: string; scrapes: string[][] }[] = [
    {
      name: 'same order',
      scrapes: [
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
        ['a', 'b', 'c'],
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
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const cache = new ScrapeCache();
      for (const keys of c.scrapes) {
        const got = scrape(cache, keys);
        for (let i = 0; i < keys.length; i++) {
          assert.equal(got[i].key, keys[i]);
          // The entry handed out is the one the map holds: never an evicted one.
          assert.equal(cache.entries.get(keys[i]), got[i]);
        }
        assert.equal(cache.entries.size, new Set(keys).size);
      }
    });
  }
});

test('ScrapeCache.get: unknown keys are undefined, evicted entries are never guessed', () => {
  const cache = new ScrapeCache();
  const [, b] = scrape(cache, ['a', 'b']);
  scrape(cache, ['a']);
  assert.equal(b.key, '');
  cache.beginIteration();
  assert.equal(cache.get('a')?.key, 'a');
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('zzz'), undefined);
});
