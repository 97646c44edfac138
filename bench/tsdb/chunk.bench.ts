/**
 * XOR chunk benchmark: encode and decode speed (samples/s) and size (bytes/sample) on
 * Linkerd-shaped data: request counters rising every 10 s, latency histogram buckets,
 * connection gauges; 120-sample chunks as the head cuts them. The machine may be shared:
 * treat the figures as indicative.
 *
 * Run: node --expose-gc --import tsx bench/tsdb/chunk.bench.ts
 */

import { ValueType } from '../../src/storage/interface.js';
import { XORChunk } from '../../src/tsdb/chunkenc/xor.js';

const SAMPLES = 120;
const CHUNKS = 20_000; // 2.4M samples per shape
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Deterministic PRNG so runs compare. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Shape {
  name: string;
  ts: Float64Array;
  vs: Float64Array;
}

function shape(
  name: string,
  gen: (r: () => number, series: number, i: number, prev: number) => number,
): Shape {
  const r = rng(name.length * 7919);
  const ts = new Float64Array(CHUNKS * SAMPLES);
  const vs = new Float64Array(CHUNKS * SAMPLES);
  for (let c = 0; c < CHUNKS; c++) {
    const t0 = 1_700_000_000_000 + Math.floor(r() * 10_000);
    let prev = 0;
    for (let i = 0; i < SAMPLES; i++) {
      const k = c * SAMPLES + i;
      // Scrapes every 10 s with a few ms of jitter, as a real scrape loop lands.
      ts[k] = t0 + i * 10_000 + (r() < 0.2 ? Math.floor(r() * 5) : 0);
      prev = gen(r, c, i, prev);
      vs[k] = prev;
    }
  }
  return { name, ts, vs };
}

const shapes: Shape[] = [
  shape('request_total counter (+0..20 per 10 s)', (r, _s, i, prev) =>
    i === 0 ? Math.floor(r() * 1e6) : prev + Math.floor(r() * 20),
  ),
  shape('latency histogram bucket (rarely moves)', (r, _s, i, prev) =>
    i === 0 ? Math.floor(r() * 1e4) : prev + (r() < 0.3 ? 1 : 0),
  ),
  shape('tcp_open_connections gauge', (r) => Math.floor(r() * 8)),
  shape('process_cpu_seconds_total (float counter)', (r, _s, i, prev) =>
    i === 0 ? r() * 1000 : prev + r() * 0.05,
  ),
];

/** CPU time (user + system) in ms since `start`: steadier than wall time on a shared machine. */
function cpuMs(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

function fmt(n: number): string {
  return n >= 1e6
    ? `${(n / 1e6).toFixed(1)}M`
    : n >= 1e3
      ? `${(n / 1e3).toFixed(1)}k`
      : n.toFixed(2);
}

console.log(
  `XOR chunks of ${SAMPLES} samples, ${fmt(CHUNKS * SAMPLES)} samples per shape; samples/s by wall clock and by CPU time`,
);
for (const s of shapes) {
  const chunks: XORChunk[] = new Array(CHUNKS);
  let best = Infinity;
  let bestCpu = Infinity;
  let bytes = 0;
  for (let rep = 0; rep < 3; rep++) {
    gc();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    bytes = 0;
    for (let c = 0; c < CHUNKS; c++) {
      const ch = new XORChunk();
      const app = ch.appender();
      const off = c * SAMPLES;
      for (let i = 0; i < SAMPLES; i++) app.append(s.ts[off + i], s.vs[off + i]);
      chunks[c] = ch;
      bytes += ch.bytes().length;
    }
    best = Math.min(best, performance.now() - t0);
    bestCpu = Math.min(bestCpu, cpuMs(c0));
  }
  const encRate = (CHUNKS * SAMPLES) / (best / 1000);
  const encCpu = (CHUNKS * SAMPLES) / (bestCpu / 1000);

  let bestDec = Infinity;
  let bestDecCpu = Infinity;
  let sum = 0;
  const it = chunks[0].iterator();
  for (let rep = 0; rep < 3; rep++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    sum = 0;
    for (let c = 0; c < CHUNKS; c++) {
      const ci = chunks[c].iterator(it);
      while (ci.next() === ValueType.Float) sum += ci.atV();
    }
    bestDec = Math.min(bestDec, performance.now() - t0);
    bestDecCpu = Math.min(bestDecCpu, cpuMs(c0));
  }
  const decRate = (CHUNKS * SAMPLES) / (bestDec / 1000);
  const decCpu = (CHUNKS * SAMPLES) / (bestDecCpu / 1000);
  console.log(
    `${s.name.padEnd(44)} encode ${fmt(encRate).padStart(6)}/s (cpu ${fmt(encCpu).padStart(6)}/s)   ` +
      `decode ${fmt(decRate).padStart(6)}/s (cpu ${fmt(decCpu).padStart(6)}/s)   ` +
      `${(bytes / (CHUNKS * SAMPLES)).toFixed(2)} bytes/sample` +
      (sum === -1 ? '' : ''),
  );
}
