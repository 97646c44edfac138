// Write → parse → the same samples: the writer and the parser agree on every byte that
// matters, in both formats, for random inputs full of escapes and special floats, and for
// a realistic Linkerd proxy body.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Labels } from '../src/model/labels.js';
import {
  EntryType,
  ExpositionParser,
  type ExpositionFormat,
  type MetricType,
} from '../src/exposition/parser.js';
import { ExpositionWriter, type ExemplarInput, type FamilyType } from '../src/exposition/writer.js';
import { linkerdProxyBody } from './fixtures/linkerd-body.js';
import { mulberry32 as rng } from './support/rng.js';

/** One sample as the parser reports it, in comparable form. */
interface Sample {
  labels: string;
  value: number;
  timestamp: number | null;
  exemplar: string | null;
}

/** What a body holds: metadata per family and every sample in order. */
interface Parsed {
  meta: Map<string, { type?: MetricType; help?: string; unit?: string }>;
  samples: Sample[];
}

/** `strict: false` checks OpenMetrics syntax only, for inputs that break its family rules. */
function parseAll(body: Buffer, format: ExpositionFormat, strict = true): Parsed {
  const p = new ExpositionParser(body, { format, strict });
  const meta: Parsed['meta'] = new Map();
  const samples: Sample[] = [];
  const m = (name: string) => {
    let e = meta.get(name);
    if (!e) meta.set(name, (e = {}));
    return e;
  };
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t === EntryType.Help) m(p.family()).help = p.help();
    else if (t === EntryType.Type) m(p.family()).type = p.type();
    else if (t === EntryType.Unit) m(p.family()).unit = p.unit();
    else if (t === EntryType.Series) {
      const ex = p.exemplar();
      samples.push({
        labels: p.labels().toString(),
        value: p.value(),
        timestamp: p.timestamp(),
        exemplar: ex ? `${ex.labels.toString()} ${ex.value} ${ex.timestamp}` : null,
      });
    }
  }
  return { meta, samples };
}

/** Rewrites a parsed body with the writer: families as they come, samples in order. */
function rewrite(
  body: Buffer,
  inFormat: ExpositionFormat,
  outFormat: ExpositionFormat,
  strict = true,
): Buffer {
  const p = new ExpositionParser(body, { format: inFormat, strict });
  const w = new ExpositionWriter(outFormat, { initialCapacity: 256 });
  let pending: { name: string; type?: MetricType; help?: string; unit?: string } | null = null;
  const flushFamily = () => {
    if (pending)
      w.family(pending.name, (pending.type ?? 'untyped') as FamilyType, pending.help, pending.unit);
    pending = null;
  };
  const meta = (name: string) => {
    if (pending && pending.name !== name) flushFamily();
    if (!pending) pending = { name };
    return pending;
  };
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t === EntryType.Help) meta(p.family()).help = p.help();
    else if (t === EntryType.Type) meta(p.family()).type = p.type();
    else if (t === EntryType.Unit) meta(p.family()).unit = p.unit();
    else if (t === EntryType.Series) {
      flushFamily();
      const labels = p.labels();
      const ex = p.exemplar();
      w.sample(labels.metricName(), labels, p.value(), p.timestamp(), ex as ExemplarInput | null);
    }
  }
  flushFamily();
  w.eof();
  return w.take();
}

/** Values equal as the formats can carry them: NaN equals NaN, and -0 is written as 0. */
function sameValue(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

function assertSameSamples(got: Sample[], want: Sample[]): void {
  assert.equal(got.length, want.length, 'sample count');
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    assert.equal(g.labels, w.labels, `sample ${i} labels`);
    assert.ok(
      sameValue(g.value, w.value),
      `sample ${i} ${w.labels}: value ${g.value}, want ${w.value}`,
    );
    assert.equal(g.timestamp, w.timestamp, `sample ${i} ${w.labels} timestamp`);
    assert.equal(g.exemplar, w.exemplar, `sample ${i} ${w.labels} exemplar`);
  }
}

// ---------------------------------------------------------------------------------------
// Random inputs.

const PIECES = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '\n',
  '\\n',
  '\\"',
  'é',
  '€',
  '日本',
  '😀',
  '{',
  '}',
  ',',
  '=',
  '#',
  '\t',
  'x y',
  '\\\\',
];
const SPECIAL_VALUES = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  1e-300,
  5e-324,
  1.7976931348623157e308,
  2 ** 53,
  0.1,
  1e21,
  1e6,
  123456.7,
];

interface RandomFamily {
  name: string;
  type: FamilyType;
  help: string | undefined;
  samples: {
    name: string;
    labels: Labels;
    value: number;
    timestamp: number | null;
    exemplar: ExemplarInput | null;
  }[];
}

function randomBody(
  seed: number,
  format: ExpositionFormat,
): { families: RandomFamily[]; body: Buffer } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const str = (max: number) => {
    let s = '';
    const n = Math.floor(r() * max);
    for (let i = 0; i < n; i++) s += pick(PIECES);
    return s;
  };
  const value = () =>
    r() < 0.4 ? pick(SPECIAL_VALUES) : (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
  const timestamp = () => (r() < 0.5 ? null : Math.floor(r() * 2e12));
  const families: RandomFamily[] = [];
  const nFamilies = 1 + Math.floor(r() * 6);
  for (let f = 0; f < nFamilies; f++) {
    const type = pick<FamilyType>(['counter', 'gauge', 'untyped']);
    const base = `fam_${f}_${pick(['x', 'y:z', 'A_b', '_q'])}`;
    const name = type === 'counter' ? base + '_total' : base;
    const fam: RandomFamily = { name, type, help: r() < 0.7 ? str(8) : undefined, samples: [] };
    const nSeries = 1 + Math.floor(r() * 5);
    for (let s = 0; s < nSeries; s++) {
      const pairs: Record<string, string> = { __name__: name, series: String(s) };
      const nLabels = Math.floor(r() * 4);
      for (let l = 0; l < nLabels; l++) pairs[`l${l}_${pick(['a', 'B', '_c'])}`] = str(10);
      // Counters may not go negative or NaN in strict OpenMetrics.
      let v = value();
      if (type === 'counter' && !(v >= 0)) v = Math.abs(v) || 0;
      const exemplar: ExemplarInput | null =
        format === 'openmetrics' && type === 'counter' && r() < 0.5
          ? {
              labels: Labels.from({ trace_id: str(6).slice(0, 20) || 't' }),
              value: Math.abs(value()) || 1,
              timestamp: timestamp(),
            }
          : null;
      fam.samples.push({
        name,
        labels: Labels.from(pairs),
        value: v,
        timestamp: timestamp(),
        exemplar,
      });
    }
    families.push(fam);
  }
  const w = new ExpositionWriter(format);
  for (const fam of families) {
    w.family(fam.name, fam.type, fam.help);
    for (const s of fam.samples) w.sample(s.name, s.labels, s.value, s.timestamp, s.exemplar);
  }
  w.eof();
  return { families, body: w.take() };
}

function expectedSamples(families: RandomFamily[]): Sample[] {
  const out: Sample[] = [];
  for (const f of families) {
    for (const s of f.samples) {
      const ex = s.exemplar;
      out.push({
        labels: s.labels.toString(),
        value: s.value,
        timestamp: s.timestamp,
        exemplar: ex
          ? `${(ex.labels as Labels).toString()} ${ex.value} ${ex.timestamp ?? null}`
          : null,
      });
    }
  }
  return out;
}

for (const format of ['text', 'openmetrics'] as const) {
  test(`random bodies round-trip in ${format}`, () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { families, body } = randomBody(seed, format);
      let parsed: Parsed;
      try {
        parsed = parseAll(body, format);
      } catch (err) {
        assert.fail(`seed ${seed}: ${(err as Error).message}\n${body.toString()}`);
      }
      assertSameSamples(parsed.samples, expectedSamples(families));
      for (const f of families) {
        const metaName =
          format === 'openmetrics' && f.type === 'counter' ? f.name.slice(0, -6) : f.name;
        const m = parsed.meta.get(metaName);
        assert.ok(m, `seed ${seed}: metadata of ${metaName}`);
        assert.equal(m.help, f.help, `seed ${seed}: HELP of ${metaName}`);
        const wantType = f.type === 'untyped' && format === 'openmetrics' ? 'unknown' : f.type;
        assert.equal(m.type, wantType, `seed ${seed}: TYPE of ${metaName}`);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------
// The Linkerd proxy body.

test('the Linkerd proxy body survives text → text and text → OpenMetrics', async (t) => {
  const body = Buffer.from(linkerdProxyBody());
  const original = parseAll(body, 'text');
  assert.ok(original.samples.length > 1000, `only ${original.samples.length} samples`);
  await t.test('text', () => {
    const out = rewrite(body, 'text', 'text');
    assertSameSamples(parseAll(out, 'text').samples, original.samples);
    // And writing it again gives the very same bytes: the writer is deterministic.
    assert.deepEqual(rewrite(out, 'text', 'text'), out);
  });
  await t.test('openmetrics', () => {
    const out = rewrite(body, 'text', 'openmetrics');
    assertSameSamples(parseAll(out, 'openmetrics').samples, original.samples);
    assert.deepEqual(rewrite(out, 'openmetrics', 'openmetrics'), out);
  });
});

test('the prometheus-textparse inputs survive a rewrite in both formats', async (t) => {
  const { readFileSync } = await import('node:fs');
  const dir = new URL('../../shared/peer-tests/exposition/prometheus-textparse/', import.meta.url);
  const cases: [string, ExpositionFormat][] = [
    ['alltypes.237mfs.prom.txt', 'text'],
    ['alltypes.5mfs.om.txt', 'openmetrics'],
  ];
  for (const [file, inFormat] of cases) {
    await t.test(file, () => {
      const body = readFileSync(new URL(file, dir));
      // These upstream inputs break OpenMetrics family rules on purpose (a gauge and a counter
      // sharing a family name, a negative histogram sum), so OpenMetrics is read syntax-only.
      const original = parseAll(body, inFormat, false);
      for (const outFormat of ['text', 'openmetrics'] as const) {
        const out = rewrite(body, inFormat, outFormat, false);
        const back = parseAll(out, outFormat, false).samples;
        // Exemplars exist only in OpenMetrics; text output drops them.
        const want =
          outFormat === 'text'
            ? original.samples.map((s) => ({ ...s, exemplar: null }))
            : original.samples;
        assertSameSamples(back, want);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
// Through a real Prometheus: our text output is scraped (Go parses it), then /federate
// writes the same samples back with Go's expfmt. Our writer must produce those bytes.

test('Prometheus 2.42 /federate writes exactly what our text writer writes', async (t) => {
  const { requirePeer } = await import('./support/peers.js');
  const prometheus = requirePeer(t, 'prometheus', 'prometheus');
  if (!prometheus) return;
  const { createServer } = await import('node:http');
  const { startPrometheus } = await import('./support/servers.js');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { compareLabels } = await import('../src/model/labels.js');

  // Series with awkward label values and values across the whole float range.
  const r = rng(42);
  const nowMs = Date.now() - 5_000;
  const target = new ExpositionWriter('text');
  const series: { labels: Labels; value: number; ts: number }[] = [];
  const values = [
    ...SPECIAL_VALUES.filter((v) => v === v),
    NaN,
    1e-5,
    1e-4,
    999999,
    1234567,
    0.000087005,
    15515488,
  ];
  for (let i = 0; i < 120; i++) values.push((r() - 0.5) * 10 ** Math.floor(r() * 60 - 30));
  const texts = [
    'plain',
    'quote"d',
    'back\\slash',
    'new\nline',
    'ünï€😀',
    'tab\there',
    '{a="b"}, x',
  ];
  values.forEach((v, i) => {
    const name = `rt_family_${i % 7}`;
    const labels = Labels.from({ __name__: name, idx: String(i), text: texts[i % texts.length] });
    series.push({ labels, value: v, ts: nowMs - (i % 50) });
  });
  for (const s of series) target.series(s.labels, s.value, s.ts);
  const body = target.take();

  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(body);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const targetPort = (server.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'federate-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n- job_name: rt\n  static_configs: [{targets: ['127.0.0.1:${targetPort}']}]\n`,
  );
  const prom = await startPrometheus(null, prometheus, {
    configFile: join(dir, 'prometheus.yml'),
    dataDir: join(dir, 'data'),
  });
  t.after(async () => {
    await prom.stop();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Expected: families sorted by name, each `# TYPE name untyped`, series in label order,
  // with the target labels the scrape added.
  const instance = `127.0.0.1:${targetPort}`;
  const scraped = series
    .map((s) => ({ ...s, labels: Labels.from({ ...s.labels.toObject(), instance, job: 'rt' }) }))
    .sort((a, b) => compareLabels(a.labels, b.labels));
  const want = new ExpositionWriter('text');
  let family = '';
  for (const s of scraped) {
    const name = s.labels.metricName();
    if (name !== family) want.family(name, 'untyped');
    family = name;
    want.series(s.labels, s.value, s.ts);
  }
  const wantText = want.take().toString('utf8');

  const url = `${prom.base}/federate?match[]=${encodeURIComponent('{__name__=~"rt_.*"}')}`;
  let got = '';
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) got = await res.text();
    } catch {
      // not listening yet
    }
    if (got.split('\n').length > series.length) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.equal(got, wantText);
});
