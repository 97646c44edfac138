/**
 * Exposition parser throughput, single core, in MB/s and samples/s, for a Linkerd proxy body
 * (~1,700 series) and Prometheus's own textparse benchmark inputs. Modes:
 * - scan: `next()` + the key's byte range and `rememberedLine()` + `value()` + `timestamp()`
 *   per sample, the parser's share of a warm scrape, on a parser that has read the same
 *   body before (as a scraper's parser has: text lines then match the keys remembered from
 *   the previous body);
 * - scan-first: the same on a new parser each pass, i.e. a body seen for the first time
 *   (every line tokenised forward: name, labels, value, timestamp);
 * - scan+map: `seriesKey()` strings and a `Map.get` hit per line, as a reader keyed by
 *   strings does (the scrape loop finds its entries by line index or key bytes instead);
 * - warm: the scrape loop's warm path, the cache handed to the parser as known keys, so text
 *   lines are read from their end and looked up without a label scan (OpenMetrics inputs
 *   fall back to scan+map);
 * - full: `labels()` materialised for every sample, the cold-scrape path.
 * OpenMetrics inputs run in both strict and syntax-only modes.
 *
 * Noise: throughput is per CPU-second of this process (process.cpuUsage), and every cell is
 * measured in rounds that alternate a bare byte loop over the same input (count newlines:
 * the cheapest possible pass) with the parser mode. Each round gives a ratio mode/byte-loop,
 * which cancels most of what a shared machine does to the CPU; the table shows the median
 * MB/s and the median ratio (×) over the rounds. Quote ratios when comparing runs.
 *
 * Run: node --expose-gc --import tsx bench/exposition/parse.bench.ts [--dist] [filters...]
 *   --dist      load the compiled parser from dist/ (`npm run build` first) instead of src/;
 *               --dist=DIR loads DIR/exposition/index.js (e.g. an older build, for before/after)
 *   filters     only inputs or modes whose name contains one of these (e.g. `nometa full`)
 * Env: BENCH_ROUNDS (default 5), BENCH_SECONDS per slice of a round (default 0.1).
 */

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExpositionParser, ParserOptions } from '../../src/exposition/index.js';
import { linkerdProxyBody } from '../../test/fixtures/linkerd-body.js';

type ExpositionModule = typeof import('../../src/exposition/index.js');

const argv = process.argv.slice(2);
const distArg = argv.find((a) => a === '--dist' || a.startsWith('--dist='));
const useDist = distArg !== undefined;
const filters = argv.filter((a) => !a.startsWith('--'));
const REPO = resolve(import.meta.dirname, '../..');
const DIST = join(
  distArg?.startsWith('--dist=') ? resolve(distArg.slice(7)) : join(REPO, 'dist'),
  'exposition/index.js',
);
if (useDist && !existsSync(DIST)) throw new Error(`${DIST} is missing: run npm run build first`);
const { EntryType, ExpositionParser: Parser } = (await import(
  useDist ? pathToFileURL(DIST).href : '../../src/exposition/index.js'
)) as ExpositionModule;

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const TEXTPARSE = join(REPO, '../shared/peer-tests/exposition/prometheus-textparse');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Input {
  name: string;
  body: Buffer;
  opts: ParserOptions;
}

const inputs: Input[] = [
  { name: 'linkerd proxy (text)', body: Buffer.from(linkerdProxyBody()), opts: { format: 'text' } },
  {
    name: 'alltypes.237mfs.prom.txt',
    body: readFileSync(join(TEXTPARSE, 'alltypes.237mfs.prom.txt')),
    opts: { format: 'text' },
  },
  {
    name: 'alltypes.237mfs.nometa',
    body: readFileSync(join(TEXTPARSE, 'alltypes.237mfs.nometa.prom.txt')),
    opts: { format: 'text' },
  },
  {
    name: 'alltypes.5mfs.om (syntax)',
    body: readFileSync(join(TEXTPARSE, 'alltypes.5mfs.om.txt')),
    opts: { format: 'openmetrics', strict: false },
  },
  {
    name: '1histogram.om (syntax)',
    body: readFileSync(join(TEXTPARSE, '1histogram.om.txt')),
    opts: { format: 'openmetrics', strict: false },
  },
  {
    name: '1histogram.om (strict)',
    body: readFileSync(join(TEXTPARSE, '1histogram.om.txt')),
    opts: { format: 'openmetrics' },
  },
];

/**
 * The parser's share of a warm scrape: the key (as the scrape loop takes it: its byte range
 * and the remembered line it repeats, no string), value and timestamp per line. Returns
 * samples seen.
 */
function scan(p: ExpositionParser): number {
  let n = 0;
  let acc = 0;
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t !== EntryType.Series) continue;
    const ts = p.timestamp();
    acc += p.seriesKeyEnd() - p.seriesKeyStart() + p.rememberedLine() + p.value() + (ts ?? 0);
    n++;
  }
  if (acc === -1) console.log(acc); // keep the work observable
  return n;
}

/** A warm scrape without the append: a cache hit per line. */
function scanMap(p: ExpositionParser, cache: Map<string, number>): number {
  let n = 0;
  let acc = 0;
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t !== EntryType.Series) continue;
    const ref = cache.get(p.seriesKey());
    const ts = p.timestamp();
    acc += (ref ?? 0) + p.value() + (ts ?? 0);
    n++;
  }
  if (acc === -1) console.log(acc);
  return n;
}

/** A warm scrape through the known-keys path (ExpositionParser.setKnownKeys). */
function scanKnown(p: ExpositionParser<number>, cache: Map<string, number>): number {
  let n = 0;
  let acc = 0;
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t !== EntryType.Series) continue;
    const ref = p.known() ?? cache.get(p.seriesKey());
    const ts = p.timestamp();
    acc += (ref ?? 0) + p.value() + (ts ?? 0);
    n++;
  }
  if (acc === -1) console.log(acc);
  return n;
}

/** The cold-scrape loop: labels for every sample. */
function full(p: ExpositionParser): number {
  let n = 0;
  let acc = 0;
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t !== EntryType.Series) continue;
    acc += p.labels().size + p.value();
    n++;
  }
  if (acc === -1) console.log(acc);
  return n;
}

type Mode = 'scan' | 'scan-first' | 'scan+map' | 'warm' | 'full';

/** CPU seconds (user) this process has used so far. */
function cpuNow(): number {
  return process.cpuUsage().user / 1e6;
}

/** Runs `once` for SECONDS of CPU time; returns iterations, samples and CPU seconds used. */
function slice(once: () => number): { iters: number; samples: number; cpu: number } {
  let iters = 0;
  let samples = 0;
  const start = cpuNow();
  let cpu = 0;
  while (cpu < SECONDS) {
    samples += once();
    iters++;
    cpu = cpuNow() - start;
  }
  return { iters, samples, cpu };
}

/** Calibration: the cheapest possible pass over the bytes (count newlines). */
function byteLoop(body: Buffer): number {
  let n = 0;
  for (let i = 0; i < body.length; i++) if (body[i] === 10) n++;
  return n;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Cell {
  mbps: number;
  ratio: number;
  sps: number;
  samples: number;
  byteLoopMbps: number;
}

/** ROUNDS rounds of (byte loop, mode) over the same input; medians of MB/s and of the ratio. */
function measure(input: Input, mode: Mode): Cell {
  const p = new Parser<number>(input.body, input.opts);
  const cache = new Map<string, number>();
  for (let t = p.next(); t !== EntryType.EOF; t = p.next())
    if (t === EntryType.Series) cache.set(p.seriesKey(), cache.size + 1);
  if (mode === 'warm') p.setKnownKeys(cache);
  const once = (): number => {
    if (mode === 'scan-first') return scan(new Parser(input.body, input.opts));
    p.reset(input.body);
    if (mode === 'warm') return scanKnown(p, cache);
    return mode === 'scan' ? scan(p) : mode === 'scan+map' ? scanMap(p, cache) : full(p);
  };
  const bytes = input.body.length;
  for (let i = 0; i < 30; i++) once(); // warm up the JIT
  const mbps: number[] = [];
  const base: number[] = [];
  const ratios: number[] = [];
  const sps: number[] = [];
  let samples = 0;
  for (let r = 0; r < ROUNDS; r++) {
    gc();
    const b = slice(() => byteLoop(input.body));
    gc();
    const m = slice(once);
    const bm = (bytes * b.iters) / b.cpu / 1e6;
    const mm = (bytes * m.iters) / m.cpu / 1e6;
    base.push(bm);
    mbps.push(mm);
    ratios.push(mm / bm);
    sps.push(m.samples / m.cpu);
    samples = m.samples / m.iters;
  }
  return {
    mbps: median(mbps),
    ratio: median(ratios),
    sps: median(sps),
    samples,
    byteLoopMbps: median(base),
  };
}

const matches = (name: string): boolean =>
  filters.length === 0 || filters.some((f) => name.includes(f));
const allModes: Mode[] = ['scan', 'scan-first', 'scan+map', 'warm', 'full'];
const modes = allModes.some(matches) ? allModes.filter(matches) : allModes;
const selected = inputs.some((i) => matches(i.name))
  ? inputs.filter((i) => matches(i.name))
  : inputs;

console.log(
  `parser from ${useDist ? `${DIST} (compiled)` : 'src/ (tsx)'}; ${ROUNDS} rounds of ${SECONDS} CPU-s per slice; cells: median MB/s (median ratio to the byte loop) and samples/s`,
);
const rows: string[][] = [
  [
    'input',
    'bytes',
    'samples',
    'byte loop',
    ...modes.flatMap((m) => [`${m} MB/s (×)`, 'samples/s']),
  ],
];
for (const input of selected) {
  const row = [input.name, String(input.body.length), '', ''];
  const base: number[] = [];
  for (const m of modes) {
    const c = measure(input, m);
    row[2] = String(c.samples);
    base.push(c.byteLoopMbps);
    row.push(`${c.mbps.toFixed(0)} (${c.ratio.toFixed(2)})`, (c.sps / 1e6).toFixed(2) + 'M');
  }
  row[3] = median(base).toFixed(0);
  rows.push(row);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows)
  console.log(r.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  '));
console.log(
  `node ${process.version}; figures per CPU-second; targets on the textparse inputs: scan >= 250 MB/s, full >= 100 MB/s`,
);
