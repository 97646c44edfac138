/**
 * Exposition writer throughput, single core, in MB/s and samples/s: the inputs are parsed
 * once (a Linkerd proxy body of ~1,700 series and Prometheus's textparse inputs), then
 * written again and again, in text 0.0.4 and OpenMetrics, three ways:
 * - sample: `family()` + `sample(name, labels, value, ts)` from `Labels` (the /federate path);
 * - encoded: series bytes encoded once with `encodeSeries`, then `sampleEncoded` (a proxy
 *   serving the same series on every scrape);
 * - naive (baseline): template strings per line joined and turned into a Buffer.
 * Rates are per CPU second of this process. The machine may be shared, so treat the
 * figures as indicative.
 *
 * Run: node --expose-gc --import tsx bench/exposition/write.bench.ts
 */

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Labels } from '../../src/model/labels.js';
import {
  EntryType,
  ExpositionParser,
  ExpositionWriter,
  formatGoFloat,
  type FamilyType,
  type ParserOptions,
  type WriterFormat,
} from '../../src/exposition/index.js';
import { linkerdProxyBody } from '../../test/fixtures/linkerd-body.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const TEXTPARSE = resolve('../shared/peer-tests/exposition/prometheus-textparse');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);

interface Family {
  name: string;
  type: FamilyType;
  help: string | undefined;
  samples: { name: string; labels: Labels; encoded: Buffer; value: number; ts: number | null }[];
}

/** Parses a body into families with their samples, once. */
function load(body: Buffer, opts: ParserOptions): Family[] {
  const p = new ExpositionParser(body, opts);
  const fams: Family[] = [];
  let cur: Family | null = null;
  let help: string | undefined;
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t === EntryType.Help) help = p.help();
    else if (t === EntryType.Type) {
      cur = { name: p.family(), type: p.type() as FamilyType, help, samples: [] };
      fams.push(cur);
      help = undefined;
    } else if (t === EntryType.Series) {
      if (!cur) {
        cur = { name: p.metricName(), type: 'untyped', help: undefined, samples: [] };
        fams.push(cur);
      }
      const labels = p.labels();
      const name = labels.metricName();
      cur.samples.push({
        name,
        labels,
        encoded: ExpositionWriter.encodeSeries(name, labels),
        value: p.value(),
        ts: p.timestamp(),
      });
    }
  }
  return fams;
}

function writeSamples(w: ExpositionWriter, fams: Family[]): number {
  w.reset();
  for (const f of fams) {
    w.family(f.name, f.type, f.help);
    for (const s of f.samples) w.sample(s.name, s.labels, s.value, s.ts);
  }
  w.eof();
  return w.size;
}

function writeEncoded(w: ExpositionWriter, fams: Family[]): number {
  w.reset();
  for (const f of fams) {
    w.family(f.name, f.type, f.help);
    for (const s of f.samples) w.sampleEncoded(s.encoded, s.value, s.ts);
  }
  w.eof();
  return w.size;
}

/** The baseline: one template string per line. Text format only. */
function writeNaive(fams: Family[]): number {
  const lines: string[] = [];
  for (const f of fams) {
    if (f.help !== undefined)
      lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const parts: string[] = [];
      s.labels.forEach((n, v) => {
        if (n !== '__name__')
          parts.push(
            `${n}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
          );
      });
      const ls = parts.length ? `{${parts.join(',')}}` : '';
      lines.push(`${s.name}${ls} ${formatGoFloat(s.value)}${s.ts === null ? '' : ' ' + s.ts}`);
    }
  }
  return Buffer.from(lines.join('\n') + '\n').length;
}

/**
 * Runs `fn` for about SECONDS of wall time and returns [MB/s, samples/s] per second of CPU
 * time used by this process: on a shared, overloaded machine wall-clock rates mostly measure
 * the other tenants.
 */
function measure(fn: () => number, samples: number): [number, number] {
  for (let i = 0; i < 20; i++) fn(); // warm up
  gc();
  let bytes = 0;
  let runs = 0;
  const cpu0 = process.cpuUsage();
  const deadline = process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));
  while (process.hrtime.bigint() < deadline) {
    for (let i = 0; i < 8; i++) bytes += fn();
    runs += 8;
  }
  const cpu = process.cpuUsage(cpu0);
  const sec = (cpu.user + cpu.system) / 1e6;
  return [bytes / sec / 1e6, (runs * samples) / sec];
}

const inputs: { name: string; fams: Family[] }[] = [
  { name: 'linkerd proxy', fams: load(Buffer.from(linkerdProxyBody()), { format: 'text' }) },
  {
    name: 'alltypes.237mfs',
    fams: load(readFileSync(join(TEXTPARSE, 'alltypes.237mfs.prom.txt')), { format: 'text' }),
  },
  {
    name: 'alltypes.5mfs.om',
    fams: load(readFileSync(join(TEXTPARSE, 'alltypes.5mfs.om.txt')), {
      format: 'openmetrics',
      strict: false,
    }),
  },
];

const fmt = (x: number, d = 1) => x.toFixed(d).padStart(9);
console.log('exposition writer, rates per CPU second (preliminary: the machine is shared)');
console.log(
  `${'input'.padEnd(18)} ${'format'.padEnd(12)} ${'path'.padEnd(8)} ${'series'.padStart(7)} ${'bytes'.padStart(8)} ${'MB/s'.padStart(9)} ${'samples/s'.padStart(12)}`,
);
for (const { name, fams } of inputs) {
  const samples = fams.reduce((n, f) => n + f.samples.length, 0);
  for (const format of ['text', 'openmetrics'] as WriterFormat[]) {
    const w = new ExpositionWriter(format);
    const size = writeSamples(w, fams);
    const paths: [string, () => number][] = [
      ['sample', () => writeSamples(w, fams)],
      ['encoded', () => writeEncoded(w, fams)],
    ];
    if (format === 'text') paths.push(['naive', () => writeNaive(fams)]);
    for (const [path, fn] of paths) {
      const [mbps, sps] = measure(fn, samples);
      console.log(
        `${name.padEnd(18)} ${format.padEnd(12)} ${path.padEnd(8)} ${String(samples).padStart(7)} ${String(size).padStart(8)} ${fmt(mbps)} ${fmt(sps / 1e6, 2)}M`,
      );
    }
  }
}
