/**
 * The exposition parser against test data nobody here wrote (peer-tests/, see its
 * SOURCES.md): the OpenMetrics parser suite, outcomes observed on Prometheus 2.42, the
 * expfmt fuzz corpus plus random mutations, Prometheus's textparse benchmark inputs, and
 * a Linkerd proxy body.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ParseError } from '../src/model/errors.js';
import {
  EntryType,
  ExpositionParser,
  validateOpenMetrics,
  type ExpositionFormat,
  type ParserOptions,
} from '../src/exposition/index.js';
import { linkerdProxyBody } from './fixtures/linkerd-body.js';

const PEERS = resolve('../shared/peer-tests');
const OM_DIR = join(PEERS, 'openmetrics/parsers');
const EXPO = join(PEERS, 'exposition');

test('peer test data is present', () => {
  assert.ok(existsSync(OM_DIR), `${OM_DIR} missing: run from the repository root`);
  assert.ok(existsSync(EXPO), `${EXPO} missing`);
});

test('OpenMetrics parser suite: every case gets the right verdict in strict mode', () => {
  let passed = 0;
  const wrong: string[] = [];
  const cases = readdirSync(OM_DIR)
    .filter((c) => existsSync(join(OM_DIR, c, 'test.json')))
    .sort();
  for (const c of cases) {
    const meta = JSON.parse(readFileSync(join(OM_DIR, c, 'test.json'), 'utf8')) as {
      file: string;
      shouldParse: boolean;
    };
    const err = validateOpenMetrics(readFileSync(join(OM_DIR, c, meta.file)));
    if ((err === null) === meta.shouldParse) passed++;
    else
      wrong.push(
        `${c}: want ${meta.shouldParse ? 'accept' : 'reject'}, got ${err ? err.message : 'accept'}`,
      );
  }
  console.log(`openmetrics parsers: ${passed} passed, ${wrong.length} failed`);
  assert.deepEqual(wrong, []);
  assert.equal(passed, 211);
});

/** Go's formatting of a sample value, as the API shows it. */
function goValue(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Observed {
  up: 0 | 1;
  error?: string;
  series?: Record<string, string>[];
  metadata?: Record<string, { type: string; help: string }>;
  scrape_samples_scraped?: number;
}

/**
 * What a Prometheus 2.42 scrape stores from `body` (job=`job`, honor_labels false): parse
 * everything (one error fails the scrape), attach target labels with `exported_` renaming,
 * keep the first of duplicate series, drop samples with timestamps far in the past.
 */
function scrapeLike(body: Buffer, job: string) {
  const p = new ExpositionParser(body, { format: 'text' });
  const stored = new Map<string, Record<string, string>>();
  const metadata = new Map<string, { type: string; help: string }>();
  const target: [string, string][] = [
    ['job', job],
    ['instance', '127.0.0.1:18080'],
  ];
  let scraped = 0;
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t === EntryType.Series) {
      scraped++;
      const obj = p.labels().toObject();
      const ts = p.timestamp();
      if (ts !== null && ts < Date.now() - 3600_000) continue; // out of bounds: dropped, scrape stays up
      for (const [name, value] of target) {
        if (name in obj) {
          let to = 'exported_' + name;
          while (to in obj) to = 'exported_' + to;
          obj[to] = obj[name];
        }
        obj[name] = value;
      }
      const key = JSON.stringify(Object.entries(obj).sort());
      if (!stored.has(key)) stored.set(key, { ...obj, value: goValue(p.value()) });
    } else if (t === EntryType.Help || t === EntryType.Type) {
      const m = metadata.get(p.family()) ?? { type: 'unknown', help: '' };
      if (t === EntryType.Help) m.help = p.help();
      else m.type = p.type() === 'untyped' ? 'unknown' : p.type();
      metadata.set(p.family(), m);
    }
  }
  return { series: [...stored.values()], metadata, scraped };
}

test('Prometheus 2.42 observed outcomes (text mode)', async (t) => {
  const dir = join(EXPO, 'prom242-observed');
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<
    string,
    Observed | string
  >;
  const names = Object.keys(expected).filter((k) => !k.startsWith('_'));
  assert.ok(names.length >= 19);
  for (const name of names) {
    const want = expected[name] as Observed;
    await t.test(name, () => {
      const body = readFileSync(join(dir, name));
      let got: ReturnType<typeof scrapeLike> | null = null;
      let err: unknown = null;
      try {
        got = scrapeLike(body, name);
      } catch (e) {
        err = e;
      }
      if (want.up === 0) {
        assert.ok(
          err instanceof ParseError,
          `want a failed scrape (${want.error}), got ${err ? String(err) : 'success'}`,
        );
        return;
      }
      assert.equal(err, null, `want up=1, got ${String(err)}`);
      const g = got as ReturnType<typeof scrapeLike>;
      const wantSeries = (want.series ?? []).map((s) => ({ ...s }));
      // expected.json leaves out job/instance unless shown, and in one case __name__.
      const showsTarget = wantSeries.some((s) => 'job' in s);
      const showsName = wantSeries.every((s) => '__name__' in s);
      const gotSeries = g.series.map((s) => {
        const c = { ...s };
        if (!showsTarget) {
          delete c.job;
          delete c.instance;
        }
        if (!showsName) delete c.__name__;
        return c;
      });
      const norm = (xs: Record<string, string>[]) =>
        xs.map((x) => JSON.stringify(Object.entries(x).sort())).sort();
      assert.deepEqual(norm(gotSeries), norm(wantSeries));
      for (const [fam, m] of Object.entries(want.metadata ?? {}))
        assert.deepEqual(g.metadata.get(fam), m, fam);
      if (want.scrape_samples_scraped !== undefined)
        assert.equal(g.scraped, want.scrape_samples_scraped);
    });
  }
});

/** Parses to the end, touching every accessor; returns the number of entries. Throws on no progress. */
function drain(body: Buffer, opts: ParserOptions): number {
  const p = new ExpositionParser(body, opts);
  let n = 0;
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (++n > body.length + 2) throw new Error('parser made no progress');
    if (t === EntryType.Series) {
      p.seriesKey();
      p.labels();
      p.value();
      p.timestamp();
      p.exemplar();
    } else if (t === EntryType.Help) {
      p.help();
    } else if (t === EntryType.Type) {
      p.type();
    } else if (t === EntryType.Unit) {
      p.unit();
    }
  }
  return n;
}

/** 'ok', or 'error' for a ParseError; anything else propagates and fails the test. */
function verdict(body: Buffer, opts: ParserOptions): 'ok' | 'error' {
  try {
    drain(body, opts);
    return 'ok';
  } catch (err) {
    if (err instanceof ParseError) return 'error';
    throw err;
  }
}

test('expfmt fuzz corpus: samples or a ParseError, with Prometheus-scraper verdicts', () => {
  const dir = join(EXPO, 'common-expfmt-fuzz-corpus');
  const files = readdirSync(dir).sort();
  assert.equal(files.length, 26);
  const got: Record<string, string> = {};
  for (const f of files) {
    const body = readFileSync(join(dir, f));
    got[f] = verdict(body, { format: 'text' });
    verdict(body, { format: 'openmetrics' });
    verdict(body, { format: 'openmetrics', strict: false });
  }
  // expfmt's good inputs parse, except from_test_parse_3, whose `decoy -1 -2` has a negative
  // timestamp: expfmt takes it, Prometheus's scraper fails the scrape (observed: ts_neg).
  for (const f of [
    'from_test_parse_0',
    'from_test_parse_1',
    'from_test_parse_2',
    'from_test_parse_4',
    'minimal',
  ]) {
    assert.equal(got[f], 'ok', f);
  }
  assert.equal(got.from_test_parse_3, 'error');
  // Seven expfmt "errors" are expfmt-only, and the scraper accepts them (edge-case table):
  // no final newline (0), an unknown escape kept literally (1), HELP or TYPE repeated (12,
  // 13), TYPE after the samples (14), a `le` or `quantile` that is not a float (19, 7).
  // The other thirteen fail here too.
  const accepted = files.filter((f) => f.startsWith('from_test_parse_error') && got[f] === 'ok');
  assert.deepEqual(accepted, [
    'from_test_parse_error_0',
    'from_test_parse_error_1',
    'from_test_parse_error_12',
    'from_test_parse_error_13',
    'from_test_parse_error_14',
    'from_test_parse_error_19',
    'from_test_parse_error_7',
  ]);
});

test('random mutations of valid bodies end in samples or a ParseError, never a crash or hang', () => {
  const sources: Buffer[] = [
    ...readdirSync(join(EXPO, 'common-expfmt-fuzz-corpus')).map((f) =>
      readFileSync(join(EXPO, 'common-expfmt-fuzz-corpus', f)),
    ),
    ...readdirSync(OM_DIR)
      .filter((c) => !c.startsWith('bad_'))
      .map((c) => readFileSync(join(OM_DIR, c, 'metrics'))),
    Buffer.from(linkerdProxyBody({ inbound: 1, outbound: 1, routes: 1, statusCodes: 1 })),
  ];
  const interesting = Buffer.from('{}"\\\n #=,\0\r+-.e9aZ_:\t\xff');
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  const formats: ParserOptions[] = [
    { format: 'text' },
    { format: 'openmetrics' },
    { format: 'openmetrics', strict: false },
  ];
  const deadline = Date.now() + 20_000;
  const counts = { ok: 0, error: 0 };
  let mutants = 0;
  for (; mutants < 6000 && Date.now() < deadline; mutants++) {
    const src = sources[rnd(sources.length)];
    let b = Buffer.from(src);
    const edits = 1 + rnd(4);
    for (let e = 0; e < edits && b.length > 0; e++) {
      const at = rnd(b.length);
      switch (rnd(5)) {
        case 0:
          b[at] ^= 1 << rnd(8);
          break;
        case 1:
          b = Buffer.concat([
            b.subarray(0, at),
            interesting.subarray(rnd(interesting.length)).subarray(0, 1),
            b.subarray(at),
          ]);
          break;
        case 2:
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rnd(8))]);
          break;
        case 3:
          b = b.subarray(0, at);
          break;
        default:
          b = Buffer.concat([
            b.subarray(0, at),
            b.subarray(rnd(b.length)).subarray(0, rnd(40)),
            b.subarray(at),
          ]);
      }
    }
    const opts = formats[mutants % formats.length];
    try {
      counts[verdict(b, opts)]++;
    } catch (err) {
      assert.fail(
        `${opts.format}: ${String(err)} on ${JSON.stringify(b.toString('latin1').slice(0, 200))}`,
      );
    }
  }
  console.log(
    `mutations: ${mutants} bodies, ${counts.ok} parsed, ${counts.error} rejected with ParseError`,
  );
  assert.ok(mutants >= 300, `only ${mutants} mutants in the time bound`);
  assert.ok(counts.ok > 0 && counts.error > 0);
});

test("Prometheus's textparse benchmark inputs parse", () => {
  const dir = join(EXPO, 'prometheus-textparse');
  const want: Record<string, [ExpositionFormat, boolean, number]> = {
    'alltypes.237mfs.prom.txt': ['text', true, 1857],
    'alltypes.237mfs.nometa.prom.txt': ['text', true, 1857],
    '1histogram.om.txt': ['openmetrics', true, 42],
    // Negative buckets beside a _sum: Prometheus's scraper accepts it, OpenMetrics 1.0 does not.
    'alltypes.5mfs.om.txt': ['openmetrics', false, -1],
  };
  for (const [f, [format, strict, series]] of Object.entries(want)) {
    const body = readFileSync(join(dir, f));
    const p = new ExpositionParser(body, { format, strict });
    let n = 0;
    for (let t = p.next(); t !== EntryType.EOF; t = p.next()) if (t === EntryType.Series) n++;
    if (series >= 0) assert.equal(n, series, f);
    if (format === 'openmetrics') {
      assert.equal(validateOpenMetrics(body) === null, strict, `${f} strict verdict`);
    }
  }
  assert.equal(
    verdict(readFileSync(join(EXPO, 'common-expfmt-testdata-text.prom')), { format: 'text' }),
    'ok',
  );
});

test('a Linkerd proxy body (0.0.4 + OpenMetrics tail, text/plain) parses in text mode', () => {
  const body = Buffer.from(linkerdProxyBody());
  const p = new ExpositionParser(body, { format: 'text' });
  let series = 0;
  const comments: string[] = [];
  const types = new Map<string, string>();
  const names = new Set<string>();
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t === EntryType.Series) {
      series++;
      names.add(p.metricName());
      const ls = p.labels();
      assert.equal(ls.metricName(), p.metricName());
    } else if (t === EntryType.Type) {
      types.set(p.family(), p.type());
    } else if (t === EntryType.Comment) {
      comments.push(p.comment());
    }
  }
  assert.ok(series >= 1600 && series <= 1800, `${series} series`);
  // `# UNIT` and `# EOF` are comments to promparse; counters TYPEd without `_total` are fine.
  assert.ok(comments.some((c) => c.startsWith(' UNIT ')));
  assert.equal(comments[comments.length - 1], ' EOF');
  assert.equal(types.get('identity_cert_refreshes'), 'counter');
  assert.ok(names.has('identity_cert_refreshes_total'));
  for (const n of [
    'request_total',
    'response_total',
    'response_latency_ms_bucket',
    'tcp_open_connections',
    'process_cpu_seconds_total',
    'proxy_build_info',
  ]) {
    assert.ok(names.has(n), n);
  }
  // Same options, same bytes; a later scrape keeps the series and moves the counters.
  assert.equal(linkerdProxyBody(), body.toString());
  const later = linkerdProxyBody({ scrape: 10 });
  assert.notEqual(later, body.toString());
  const keys = (s: string): string[] => {
    const q = new ExpositionParser(Buffer.from(s), { format: 'text' });
    const out: string[] = [];
    for (let t = q.next(); t !== EntryType.EOF; t = q.next())
      if (t === EntryType.Series) out.push(q.seriesKey());
    return out;
  };
  assert.deepEqual(keys(later), keys(body.toString()));
});
