import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CorruptionError, StorageError } from '../../model/errors.js';
import { compareLabels, Labels } from '../../model/labels.js';
import { IndexReader, SeriesChunks } from './index-reader.js';
import { compareUtf8, IndexWriter, type ChunkMeta } from './index-writer.js';

const here = fileURLToPath(new URL('.', import.meta.url));

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'mm-index-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function symbolsOf(series: { labels: Labels }[]): string[] {
  const s = new Set<string>(['']);
  for (const x of series) x.labels.forEach((n, v) => (s.add(n), s.add(v)));
  return [...s].sort();
}

test('writes the same bytes as promtool 2.42 for the same series', (t) => {
  const golden = Buffer.from(
    readFileSync(join(here, 'testdata/promtool-2.42-index.hex'), 'utf8').replace(/\s+/g, ''),
    'hex',
  );
  const r = new IndexReader(golden, 'golden');
  const c = new SeriesChunks();
  const all = r.allPostings();
  assert.deepEqual([...all], [5, 7]);
  const p = join(tempDir(t), 'index');
  const w = new IndexWriter(p);
  w.addSymbols(r.symbols());
  const want = [
    {
      labels: '{__name__="http_requests_total", code="200", job="a"}',
      chunks: [{ mint: 1700000000000, maxt: 1700000010000, ref: 8 }],
    },
    {
      labels: '{__name__="http_requests_total", code="500", job="a"}',
      chunks: [{ mint: 1700000010000, maxt: 1700000010000, ref: 36 }],
    },
  ];
  for (let i = 0; i < all.length; i++) {
    const ls = r.series(all[i], c);
    const metas: ChunkMeta[] = [];
    for (let k = 0; k < c.n; k++) metas.push({ mint: c.mint[k], maxt: c.maxt[k], ref: c.ref[k] });
    assert.equal(ls.toString(), want[i].labels);
    assert.deepEqual(metas, want[i].chunks);
    assert.equal(w.addSeries(ls, metas), all[i]);
  }
  w.close();
  assert.deepEqual(readFileSync(p), golden);
});

test('round-trips series, symbols, postings and label values', (t) => {
  const series: { labels: Labels; chunks: ChunkMeta[] }[] = [];
  for (let i = 0; i < 300; i++) {
    const chunks: ChunkMeta[] = [];
    let t0 = -5000 + i; // negative times are allowed
    for (let k = 0; k < i % 4; k++) {
      chunks.push({ mint: t0, maxt: t0 + 1000 * k, ref: 2 ** 32 * (k % 2) + 8 + i * 100 + k });
      t0 += 1000 * k + 1 + i;
    }
    series.push({
      labels: Labels.from({
        __name__: `m${i % 7}`,
        pod: `pod-${i}`,
        zone: i % 3 === 0 ? 'ü-ñ' : `z${i % 3}`,
        ...(i % 5 === 0 ? { odd: 'x' } : {}),
      }),
      chunks,
    });
  }
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  const p = join(tempDir(t), 'index');
  const w = new IndexWriter(p);
  w.addSymbols(symbolsOf(series));
  const refs = series.map((s) => w.addSeries(s.labels, s.chunks));
  w.close();

  const r = IndexReader.open(p);
  assert.deepEqual([...r.allPostings()], refs);
  const c = new SeriesChunks();
  for (let i = 0; i < series.length; i++) {
    assert.ok(r.series(refs[i], c).equals(series[i].labels));
    const metas = Array.from({ length: c.n }, (_, k) => ({
      mint: c.mint[k],
      maxt: c.maxt[k],
      ref: c.ref[k],
    }));
    assert.deepEqual(metas, series[i].chunks);
  }
  assert.deepEqual(r.labelNames(), ['__name__', 'odd', 'pod', 'zone']);
  assert.deepEqual(r.labelValues('zone'), ['z1', 'z2', 'ü-ñ']);
  assert.deepEqual(r.labelValues('missing'), []);
  const cases: [string, string, number][] = [
    ['__name__', 'm3', series.filter((s) => s.labels.get('__name__') === 'm3').length],
    ['zone', 'ü-ñ', 100],
    ['odd', 'x', 60],
    ['pod', 'pod-299', 1],
    ['pod', 'nope', 0],
  ];
  for (const [n, v, count] of cases) {
    const ps = r.postings(n, v);
    assert.equal(ps.length, count, `${n}=${v}`);
    for (const ref of ps) assert.equal(r.series(ref, c).get(n), v);
  }
});

test('rejects series out of order and unknown symbols', (t) => {
  const p = join(tempDir(t), 'index');
  const w = new IndexWriter(p);
  w.addSymbols(['', 'a', 'b', 'x']);
  w.addSeries(Labels.from({ x: 'b' }), []);
  assert.throws(() => w.addSeries(Labels.from({ x: 'a' }), []), StorageError);
  assert.throws(() => w.addSeries(Labels.from({ x: 'c' }), []), /not in the symbol table/);
  assert.throws(
    () =>
      w.addSeries(Labels.from({ x: 'x' }), [
        { mint: 10, maxt: 20, ref: 8 },
        { mint: 15, maxt: 30, ref: 40 },
      ]),
    /overlaps/,
  );
  w.close();
});

test('detects corruption in every checksummed section', (t) => {
  const p = join(tempDir(t), 'index');
  const w = new IndexWriter(p);
  w.addSymbols(['', 'a', 'n']);
  w.addSeries(Labels.from({ n: 'a' }), [{ mint: 1, maxt: 2, ref: 8 }]);
  w.close();
  const good = readFileSync(p);
  const r = new IndexReader(good);
  const at = (name: string, off: number): [string, number] => [name, off];
  const spots = [
    at('symbols', r.toc.symbols + 6),
    at('toc', good.length - 10),
    at('postings offset table', r.toc.postingsTable + 9),
    at('magic', 1),
  ];
  for (const [name, off] of spots) {
    const b = Buffer.from(good);
    b[off] ^= 0x40;
    writeFileSync(p, b);
    assert.throws(() => IndexReader.open(p), CorruptionError, name);
  }
  const b = Buffer.from(good);
  b[r.toc.series + 16 + 3] ^= 0x40; // inside the first series entry
  assert.throws(
    () => new IndexReader(b).series(r.allPostings()[0], new SeriesChunks()),
    /checksum mismatch/,
  );
});

test('orders symbols by UTF-8 bytes, as Go, also beyond U+FFFF', (t) => {
  const strs = ['a', 'b', '\uFFFD', '\u{1F600}', 'é', '\uE000', '\u{10000}', 'z', ''];
  const byBytes = [...strs].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual([...strs].sort(compareUtf8), byBytes);
  assert.notDeepEqual([...strs].sort(), byBytes); // JavaScript's default order differs here

  const p = join(tempDir(t), 'index');
  const w = new IndexWriter(p);
  const values = strs.filter((s) => s !== '');
  w.addSymbols(['', 'v', ...values].sort(compareUtf8));
  const series = values.map((v) => Labels.from({ v })).sort(compareLabels);
  for (const s of series) w.addSeries(s, []);
  w.close();
  const r = IndexReader.open(p);
  assert.deepEqual(
    r.labelValues('v'),
    byBytes.filter((s) => s !== ''),
  );
  for (const v of values) assert.equal(r.postings('v', v).length, 1, JSON.stringify(v));
});
