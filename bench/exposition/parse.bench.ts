/**
 * Exposition parser throughput, single core, in MB/s and samples/s, for a Linkerd proxy body
 * (~1,700 series) and Prometheus's own textparse benchmark inputs. Modes:
 * - scan: `next()` + `seriesKey()` + `value()` + `timestamp()` per sample, the parser's
 *   share of a warm scrape;
 * - scan+map: the same plus the scraper's `Map.get(seriesKey)` hit, i.e. a whole warm scrape
 *   minus the append;
 * - warm: the scrape loop's warm path, the cache handed to the parser as known keys, so text
 *   lines are read from their end and looked up without a label scan (OpenMetrics inputs
 *   fall back to scan+map);
 * - full: `labels()` materialised for every sample, the cold-scrape path.
 * OpenMetrics inputs run in both strict and syntax-only modes.
 *
 * Throughput is per CPU-second of this process (process.cpuUsage), not wall time, so other
 * work on a shared machine distorts it less; a bare byte loop over the same bytes is printed
 * first as a calibration of how fast this CPU is right now. Treat figures as indicative.
 *
 * Run: node --expose-gc --import tsx bench/exposition/parse.bench.ts
 */

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EntryType, ExpositionParser, type ParserOptions } from '../../src/exposition/index.js';
import { linkerdProxyBody } from '../../test/fixtures/linkerd-body.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const TEXTPARSE = resolve('../shared/peer-tests/exposition/prometheus-textparse');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5);

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

/** The parser's share of a warm scrape: key, value and timestamp per line. Returns samples seen. */
function scan(p: ExpositionParser): number {
  let n = 0;
  let acc = 0;
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t !== EntryType.Series) continue;
    const ts = p.timestamp();
    acc += p.seriesKey().length + p.value() + (ts ?? 0);
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

type Mode = 'scan' | 'scan+map' | 'warm' | 'full';

/** Runs `once` repeatedly for SECONDS of CPU time; returns bytes and samples per CPU-second. */
function perCpuSecond(
  bytes: number,
  once: () => number,
): { mbps: number; sps: number; samples: number } {
  for (let i = 0; i < 30; i++) once(); // warm up the JIT
  gc();
  let iters = 0;
  let samples = 0;
  const start = process.cpuUsage().user;
  let cpu = 0;
  while (cpu < SECONDS) {
    samples += once();
    iters++;
    cpu = (process.cpuUsage().user - start) / 1e6;
  }
  return { mbps: (bytes * iters) / cpu / 1e6, sps: samples / cpu, samples: samples / iters };
}

function measure(input: Input, mode: Mode): { mbps: number; sps: number; samples: number } {
  const p = new ExpositionParser<number>(input.body, input.opts);
  const cache = new Map<string, number>();
  for (let t = p.next(); t !== EntryType.EOF; t = p.next())
    if (t === EntryType.Series) cache.set(p.seriesKey(), cache.size + 1);
  if (mode === 'warm') p.setKnownKeys(cache);
  return perCpuSecond(input.body.length, () => {
    p.reset(input.body);
    if (mode === 'warm') return scanKnown(p, cache);
    return mode === 'scan' ? scan(p) : mode === 'scan+map' ? scanMap(p, cache) : full(p);
  });
}

/** Calibration: the cheapest possible pass over the bytes (count newlines). */
function byteLoop(body: Buffer): number {
  let n = 0;
  for (let i = 0; i < body.length; i++) if (body[i] === 10) n++;
  return n;
}

const calibration = perCpuSecond(inputs[1].body.length, () => byteLoop(inputs[1].body));
console.log(
  `calibration: bare byte loop over ${inputs[1].name}: ${calibration.mbps.toFixed(0)} MB per CPU-second`,
);
const modes: Mode[] = ['scan', 'scan+map', 'warm', 'full'];
const rows: string[][] = [
  ['input', 'bytes', 'samples', ...modes.flatMap((m) => [`${m} MB/s`, `${m} samples/s`])],
];
for (const input of inputs) {
  const row = [input.name, String(input.body.length), ''];
  for (const m of modes) {
    const r = measure(input, m);
    row[2] = String(r.samples);
    row.push(r.mbps.toFixed(0), (r.sps / 1e6).toFixed(2) + 'M');
  }
  rows.push(row);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows)
  console.log(r.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  '));
console.log(
  `node ${process.version}, ${SECONDS} CPU-s per cell, figures per CPU-second; targets on the textparse inputs: scan >= 250 MB/s, full >= 100 MB/s`,
);
