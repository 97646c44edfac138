// Block size and speed on Linkerd-shaped history: 20 proxies × 1,000 series × 2h at a
// 10 s scrape interval (14.4M samples), one 2h block. Prints bytes per sample on disk
// (chunks + index), write throughput (XOR encoding + segment and index files) and read
// throughput (a querier over every series). With promtool installed, it also backfills
// a slice of the same data with promtool and prints both block sizes side by side.
//
// Run: node --expose-gc --import tsx bench/tsdb/block.bench.ts [proxies]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatGoFloat } from '../../src/exposition/format-float.js';
import { Labels } from '../../src/model/labels.js';
import { Matcher } from '../../src/model/matcher.js';
import { ValueType } from '../../src/storage/interface.js';
import { Block } from '../../src/tsdb/block.js';
import {
  encodeXORChunks,
  sortedSymbols,
  writeBlock,
  type BlockSeries,
  type BlockSource,
} from '../../src/tsdb/block-writer.js';
import { compareLabels } from '../../src/model/labels.js';
import { LINKERD_LATENCY_BUCKETS_MS } from '../../test/fixtures/linkerd-body.js';

const PROXIES = Number(process.argv[2] ?? 20);
const STEP_MS = 10_000;
const SAMPLES = 720; // 2h
const T0 = 1_700_006_400_000; // a 2h boundary, so promtool makes one block too
// Linkerd's latency bucket bounds as `le` values.
const LE = [...LINKERD_LATENCY_BUCKETS_MS.map(String), '+Inf'];

/** Deterministic pseudo-random numbers (xorshift32), so runs compare. */
function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface SeriesSpec {
  labels: Labels;
  kind: 'counter' | 'sum' | 'gauge';
  /** Mean increase per scrape. */
  rate: number;
  /** Mean of each increase (latency sums: ms per request). */
  scale: number;
  seed: number;
}

/** A Poisson draw with mean `lambda` (inversion for small means, normal approximation above 30). */
function poisson(r: () => number, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) {
    const u = Math.max(1e-12, r());
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
  }
  const l = Math.exp(-lambda);
  let k = 0;
  let p = r();
  while (p > l) {
    k++;
    p *= r();
  }
  return k;
}

/**
 * 1,000 series per proxy: 30 routes × (request, response, 26 buckets, sum, count) and 100
 * TCP series. Route traffic is log-uniform between 0.01 and 20 requests/s and latencies
 * log-normal around 5-50 ms, so most high buckets move with the count and low ones rarely.
 */
function specs(): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  let seed = 1;
  const pick = rng(12345);
  for (let p = 0; p < PROXIES; p++) {
    const pod = `web-${p}-7d9f8c6b5-${(p * 7919).toString(36).padStart(5, 'x')}`;
    const base = {
      namespace: 'emojivoto',
      pod,
      deployment: 'web',
      instance: `10.42.${p >> 8}.${p & 255}:4191`,
      job: 'linkerd-proxy',
    };
    for (let r = 0; r < 30; r++) {
      const route = {
        direction: r % 2 ? 'outbound' : 'inbound',
        authority: `svc-${r}.emojivoto.svc.cluster.local:8080`,
        status_code: r % 5 === 4 ? '500' : '200',
        tls: 'true',
      };
      const perScrape = 10 * Math.exp(Math.log(0.01) + pick() * Math.log(20 / 0.01));
      const medianMs = 5 * Math.exp(pick() * Math.log(10));
      out.push({
        labels: Labels.from({ __name__: 'request_total', ...base, ...route }),
        kind: 'counter',
        rate: perScrape,
        scale: 1,
        seed: seed++,
      });
      out.push({
        labels: Labels.from({
          __name__: 'response_total',
          ...base,
          ...route,
          classification: 'success',
        }),
        kind: 'counter',
        rate: perScrape,
        scale: 1,
        seed: seed++,
      });
      for (let k = 0; k < LE.length; k++) {
        // Share of requests at or under this bucket for a log-normal latency (sigma 1).
        const le = LE[k] === '+Inf' ? Infinity : Number(LE[k]);
        const share = le === Infinity ? 1 : 0.5 * (1 + erf(Math.log(le / medianMs) / Math.SQRT2));
        out.push({
          labels: Labels.from({
            __name__: 'response_latency_ms_bucket',
            ...base,
            ...route,
            le: LE[k],
          }),
          kind: 'counter',
          rate: perScrape * share,
          scale: 1,
          seed: seed++,
        });
      }
      out.push({
        labels: Labels.from({ __name__: 'response_latency_ms_sum', ...base, ...route }),
        kind: 'sum',
        rate: perScrape,
        scale: medianMs * 1.65,
        seed: seed++,
      });
      out.push({
        labels: Labels.from({ __name__: 'response_latency_ms_count', ...base, ...route }),
        kind: 'counter',
        rate: perScrape,
        scale: 1,
        seed: seed++,
      });
    }
    for (let c = 0; c < 100; c++) {
      const kind = c % 2 ? 'gauge' : 'counter';
      out.push({
        labels: Labels.from({
          __name__: kind === 'gauge' ? 'tcp_open_connections' : 'tcp_read_bytes_total',
          ...base,
          peer: c % 4 ? 'src' : 'dst',
          srv_port: String(4000 + c),
        }),
        kind,
        rate: kind === 'gauge' ? 0.02 : 0.3,
        scale: 1500,
        seed: seed++,
      });
    }
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

/** Abramowitz-Stegun erf, plenty for bucket shares. */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}

const ts = new Float64Array(SAMPLES);
for (let i = 0; i < SAMPLES; i++) ts[i] = T0 + i * STEP_MS;
const vs = new Float64Array(SAMPLES);

/** Fills `vs` with the samples of one series (the same series gives the same samples). */
function values(s: SeriesSpec): Float64Array {
  const r = rng(s.seed);
  let v = s.kind === 'gauge' ? 10 : Math.floor(r() * 1000);
  for (let i = 0; i < SAMPLES; i++) {
    if (s.kind === 'gauge') v = Math.max(0, v + poisson(r, s.rate) - poisson(r, s.rate));
    else if (s.kind === 'sum') {
      const n = poisson(r, s.rate);
      for (let k = 0; k < n && k < 50; k++)
        v += s.scale * Math.exp(r() - 0.5) * 0.001 * Math.round(1000 * r() + 500);
    } else v += poisson(r, s.rate) * s.scale;
    vs[i] = v;
  }
  return vs;
}

/** Values of every series, generated once (series i at [i * SAMPLES, (i + 1) * SAMPLES)). */
let allValues = new Float64Array(0);

function source(list: SeriesSpec[], perChunk: number, offset = 0): BlockSource {
  return {
    symbols() {
      const set = new Set<string>();
      for (const s of list) s.labels.forEach((n, v) => (set.add(n), set.add(v)));
      return sortedSymbols(set);
    },
    *series(): Iterable<BlockSeries> {
      for (let i = 0; i < list.length; i++) {
        const v = allValues.subarray((offset + i) * SAMPLES, (offset + i + 1) * SAMPLES);
        yield { labels: list[i].labels, chunks: encodeXORChunks(ts, v, SAMPLES, perChunk) };
      }
    },
  };
}

function dirSize(d: string): number {
  let n = 0;
  for (const f of readdirSync(d)) {
    const p = join(d, f);
    const st = statSync(p);
    n += st.isDirectory() ? dirSize(p) : st.size;
  }
  return n;
}

const dir = mkdtempSync(join(tmpdir(), 'mm-block-bench-'));
try {
  const list = specs();
  const samples = list.length * SAMPLES;
  console.log(
    `block bench: ${PROXIES} proxies, ${list.length} series, ${samples} samples (10 s interval, 2 h)`,
  );
  console.log('figures are preliminary: the machine is shared with other work');

  let t = performance.now();
  allValues = new Float64Array(samples);
  for (let i = 0; i < list.length; i++) allValues.set(values(list[i]), i * SAMPLES);
  console.log(`  (generated the samples in ${((performance.now() - t) / 1000).toFixed(1)} s)`);

  // Encoding alone, to separate CPU from file writes.
  t = performance.now();
  let encoded = 0;
  for (let i = 0; i < list.length; i++) {
    for (const c of encodeXORChunks(ts, allValues.subarray(i * SAMPLES, (i + 1) * SAMPLES)))
      encoded += c.data.length;
  }
  const encMs = performance.now() - t;
  console.log(
    `  XOR encode only:   ${(samples / encMs / 1000).toFixed(2)} M samples/s (${encoded} chunk bytes)`,
  );

  let bdir = '';
  for (const perChunk of [120, SAMPLES]) {
    globalThis.gc?.();
    t = performance.now();
    const meta = writeBlock(join(dir, String(perChunk)), source(list, perChunk), {
      mint: T0,
      maxt: T0 + 2 * 3_600_000,
    });
    const writeMs = performance.now() - t;
    const d = join(dir, String(perChunk), meta.ulid);
    if (perChunk === 120) bdir = d;
    const chunkBytes = dirSize(join(d, 'chunks'));
    const indexBytes = statSync(join(d, 'index')).size;
    console.log(
      `  ${perChunk} samples per chunk${perChunk === 120 ? " (as Prometheus's head)" : ' (one chunk per series, merged blocks)'}:`,
    );
    console.log(
      `    write block:     ${(samples / writeMs / 1000).toFixed(2)} M samples/s (${(writeMs / 1000).toFixed(2)} s, encoding included)`,
    );
    console.log(
      `    chunks:          ${(chunkBytes / samples).toFixed(3)} B/sample (${meta.stats.numChunks} chunks)`,
    );
    console.log(
      `    index:           ${(indexBytes / list.length).toFixed(1)} B/series (${(indexBytes / samples).toFixed(3)} B/sample)`,
    );
    console.log(
      `    chunks + index:  ${((chunkBytes + indexBytes) / samples).toFixed(3)} B/sample (target <= 1.3; Prometheus 2.42 reference 1.69)`,
    );
  }

  const b = Block.open(bdir);
  for (let pass = 1; pass <= 2; pass++) {
    globalThis.gc?.();
    t = performance.now();
    const q = b.querierSync(-Infinity, Infinity);
    const ss = q.select(true, null, [new Matcher('=~', '__name__', '.+')]);
    let n = 0;
    let sum = 0;
    while (ss.next()) {
      const it = ss.at().iterator();
      while (it.next() !== ValueType.None) {
        sum += it.atV();
        n++;
      }
    }
    const readMs = performance.now() - t;
    if (n !== samples) throw new Error(`read ${n} samples, wrote ${samples}`);
    console.log(
      `  read all samples, pass ${pass}: ${(n / readMs / 1000).toFixed(2)} M samples/s (${(readMs / 1000).toFixed(2)} s, checksum ${sum.toExponential(3)})`,
    );
  }
  b.close();

  // Side by side with promtool on one proxy's worth of the same data.
  const promtool = spawnSync('promtool', ['--version']).status === 0;
  if (promtool) {
    const first = list.findIndex((s) => s.labels.get('pod').startsWith('web-0-'));
    const one = list.filter((s) => s.labels.get('pod').startsWith('web-0-'));
    const om: string[] = [];
    for (let k = 0; k < one.length; k++) {
      const s = one[k];
      const v = allValues.subarray((first + k) * SAMPLES, (first + k + 1) * SAMPLES);
      const parts: string[] = [];
      s.labels.forEach((k, val) => k !== '__name__' && parts.push(`${k}="${val}"`));
      const lbl = `{${parts.join(',')}}`; // OpenMetrics allows no space after the comma
      const name = s.labels.metricName();
      for (let i = 0; i < SAMPLES; i++)
        om.push(`${name}${lbl} ${formatGoFloat(v[i])} ${ts[i] / 1000}`);
    }
    om.push('# EOF');
    const file = join(dir, 'one.om');
    writeFileSync(file, om.join('\n') + '\n');
    const theirs = join(dir, 'promtool');
    const r = spawnSync(
      'promtool',
      ['tsdb', 'create-blocks-from', 'openmetrics', '-q', file, theirs],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(r.stderr);
    const ids = readdirSync(theirs);
    if (ids.length !== 1) throw new Error(`promtool wrote ${ids.length} blocks, want 1`);
    const pc = dirSize(join(theirs, ids[0], 'chunks'));
    const pi = statSync(join(theirs, ids[0], 'index')).size;
    const ours = join(dir, 'ours-one');
    const m1 = writeBlock(ours, source(one, 120, first), { mint: T0, maxt: T0 + 2 * 3_600_000 });
    const oc = dirSize(join(ours, m1.ulid, 'chunks'));
    const oi = statSync(join(ours, m1.ulid, 'index')).size;
    const ns = one.length * SAMPLES;
    console.log(`  one proxy (${one.length} series), same samples, 120 per chunk:`);
    console.log(
      `    promtool 2.42:   chunks ${(pc / ns).toFixed(3)} B/sample, index ${(pi / one.length).toFixed(1)} B/series, total ${((pc + pi) / ns).toFixed(3)} B/sample`,
    );
    console.log(
      `    meshmetrics:     chunks ${(oc / ns).toFixed(3)} B/sample, index ${(oi / one.length).toFixed(1)} B/series, total ${((oc + oi) / ns).toFixed(3)} B/sample`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
