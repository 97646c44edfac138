// The real `promtool check metrics` (Prometheus 2.42) against our writer and our linter:
// promtool accepts what the writer writes, and on every body, clean or not, our
// `check metrics` gives promtool's exit code and, for lint findings and for the errors
// the lint layer adds on top of the parser, promtool's exact lines.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { checkMetrics } from '../src/cmd/check-metrics.js';
import { Labels } from '../src/model/labels.js';
import { EntryType, ExpositionParser } from '../src/exposition/parser.js';
import { ExpositionWriter, type FamilyType } from '../src/exposition/writer.js';
import { linkerdProxyBody } from './fixtures/linkerd-body.js';
import { requirePeer } from './support/peers.js';

const PEER_DIR = resolve('../shared/peer-tests/exposition');

function promtoolCheck(
  promtool: string,
  body: Buffer,
  flags: string[] = [],
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(promtool, ['check', 'metrics', ...flags], {
    input: body,
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.error, undefined, `promtool: ${r.error?.message}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Compares our verdict with promtool's: same exit code; same lines unless the parser words the error. */
function assertAgrees(promtool: string, body: Buffer, what: string): void {
  const want = promtoolCheck(promtool, body);
  const got = checkMetrics(body, false);
  assert.equal(
    got.code,
    want.code,
    `${what}: exit code ${got.code}, promtool ${want.code}\nours: ${got.stderr}\npromtool: ${want.stderr}`,
  );
  if (want.code !== 1) {
    assert.equal(got.stderr, want.stderr, what);
    return;
  }
  // Same failing line. The lint layer's own errors (no column) also have promtool's words;
  // the parser's (with a column) have its own.
  const line = (s: string) => /in line (\d+)/.exec(s)?.[1];
  assert.equal(
    line(got.stderr),
    line(want.stderr),
    `${what}: failing line\nours: ${got.stderr}\npromtool: ${want.stderr}`,
  );
  if (!/in line \d+, column/.test(got.stderr)) assert.equal(got.stderr, want.stderr, what);
}

/** A clean body from the writer: HELP everywhere, names promlint likes, escapes and odd floats. */
function cleanBody(): Buffer {
  const w = new ExpositionWriter('text');
  w.family('http_requests_total', 'counter', 'Requests "served" \\ total.\nSecond line.');
  w.sample(
    'http_requests_total',
    ['method', 'post', 'code', '200', 'path', 'a"b\\c\nd ü😀'],
    1027,
    1395066363000,
  );
  w.sample('http_requests_total', ['method', 'get', 'code', '500'], 1.5515488e7);
  w.family('queue_length', 'gauge', 'Items waiting.');
  w.sample('queue_length', Labels.from({ __name__: 'queue_length', shard: '1' }), NaN);
  w.sample('queue_length', ['shard', '2'], -Infinity, 0);
  w.sample('queue_length', ['shard', '3'], 8.7005e-5);
  w.family('request_duration_seconds', 'histogram', 'Request latency.');
  let cum = 0;
  for (const le of [0.005, 0.01, 0.1, 1, 10]) {
    cum += 3;
    w.sample('request_duration_seconds_bucket', ['handler', '/', 'le', String(le)], cum);
  }
  w.sample('request_duration_seconds_bucket', ['handler', '/', 'le', '+Inf'], cum);
  w.sample('request_duration_seconds_sum', ['handler', '/'], 12.25);
  w.sample('request_duration_seconds_count', ['handler', '/'], cum);
  w.family('rpc_latency_seconds', 'summary', 'RPC latency.');
  w.sample('rpc_latency_seconds', ['quantile', '0.5'], 0.26);
  w.sample('rpc_latency_seconds', ['quantile', '0.99'], 1e6);
  w.sample('rpc_latency_seconds_sum', null, 123456.7);
  w.sample('rpc_latency_seconds_count', null, 2693);
  return w.take();
}

/** Rewrites a text body through our parser and writer. */
function rewriteText(body: Buffer): Buffer {
  const p = new ExpositionParser(body, { format: 'text' });
  const w = new ExpositionWriter('text');
  let help: string | undefined;
  let helpFor = '';
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t === EntryType.Help) {
      help = p.help();
      helpFor = p.family();
    } else if (t === EntryType.Type) {
      w.family(p.family(), p.type() as FamilyType, helpFor === p.family() ? help : undefined);
      help = undefined;
    } else if (t === EntryType.Series) {
      const ls = p.labels();
      w.sample(ls.metricName(), ls, p.value(), p.timestamp());
    }
  }
  return w.take();
}

test('promtool accepts the writer output of a clean family set', (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const body = cleanBody();
  assert.deepEqual(promtoolCheck(promtool, body), { code: 0, stdout: '', stderr: '' });
  assert.deepEqual(checkMetrics(body, false), { code: 0, stdout: '', stderr: '' });
  // --extended: the same cardinality table (no ties here; promtool orders ties at random).
  const ext = promtoolCheck(promtool, body, ['--extended']);
  assert.equal(ext.code, 0);
  assert.equal(checkMetrics(body, false, true).stdout, ext.stdout);
});

test('the Linkerd proxy body: same findings, as served and as rewritten by the writer', (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const body = Buffer.from(linkerdProxyBody());
  assertAgrees(promtool, body, 'linkerd body');
  const rewritten = rewriteText(body);
  assertAgrees(promtool, rewritten, 'linkerd body rewritten');
  assert.equal(promtoolCheck(promtool, rewritten).stderr, promtoolCheck(promtool, body).stderr);
});

const PROBLEM_BODIES: [string, string][] = [
  [
    'no help, camelCase, units, suffixes',
    'fooBar 1\nbar_milliseconds{aB="x"} 2\n# TYPE baz counter\nbaz 3\n# TYPE g_total gauge\ng_total 1\n# TYPE h_count gauge\nh_count 1\nx:y 2\n',
  ],
  ['counter TYPE in any case', '# HELP a x\n# TYPE a Counter\na 1\n'],
  ['camelCase label per metric', '# HELP a x\na{aB="1",cD="2"} 1\na{aB="2"} 1\n'],
  ['empty HELP is no help', '# HELP a\na 1\n'],
  ['HELP of a summary part', '# TYPE a summary\n# HELP a_count x\na 1\n'],
  ['HELP before the summary exists', '# HELP a_count x\n# TYPE a summary\na 1\n'],
  ['empty label value still counts', 'a{fooBar=""} 1\n'],
  [
    'le and quantile on the wrong types',
    '# HELP c_x h\n# TYPE c_x summary\nc_x{quantile="0.5",le="1"} 1\nc_x_count{le="1"} 1\n# HELP e_bucket h\n# TYPE e_bucket gauge\ne_bucket{le="1"} 1\ne_bucket{le="2"} 1\n',
  ],
  [
    'type names inside names',
    '# HELP a_gauge x\na_gauge 1\n# HELP c_gauge_histogram x\n# TYPE c_gauge_histogram gauge\nc_gauge_histogram 1\n',
  ],
  [
    'abbreviated and prefixed units',
    '# HELP a_ms x\na_ms 1\n# HELP x_sec_y x\nx_sec_y 1\n# HELP k_kilobits x\nk_kilobits 1\n',
  ],
  ['second HELP', '# HELP a x\n# HELP a y\na 1\n'],
  ['second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n'],
  ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
  ['bad escape in a label value', '# HELP a x\na{b="\\t"} 1\n'],
  ['bad escape in HELP', '# HELP a x\\t\na 1\n'],
  ['no final newline', '# HELP a x\na 1'],
  ['quantile not a float', '# HELP a x\n# TYPE a summary\na{quantile="x"} 1\n'],
  ['duplicate label', '# HELP a x\na{x="1",x="2"} 1\n'],
  ['reserved __name__', 'a{__name__="b"} 1\n'],
  ['CRLF', '# HELP a x\na 1\r\n'],
  ['empty input', ''],
  ['family without samples', '# TYPE a gauge\n'],
];

test('lint findings and errors agree with promtool on bodies with problems', async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (!promtool) return;
  for (const [name, body] of PROBLEM_BODIES) {
    await t.test(name, () => assertAgrees(promtool, Buffer.from(body), name));
  }
});

/**
 * Peer inputs where the parser and expfmt disagree on purpose: Prometheus 2.42's scraper
 * rejects negative timestamps, expfmt takes them. Our check follows the scraper there.
 */
const KNOWN_DIFFERENCES = new Map([
  ['prom242-observed/ts_neg', 'negative timestamp'],
  ['common-expfmt-fuzz-corpus/from_test_parse_3', 'negative timestamp'],
]);

test('peer exposition inputs: same verdicts as promtool', async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const files: string[] = [];
  for (const dir of ['common-expfmt-fuzz-corpus', 'prom242-observed', 'prometheus-textparse']) {
    for (const f of readdirSync(join(PEER_DIR, dir)).sort())
      if (!f.endsWith('.json')) files.push(`${dir}/${f}`);
  }
  files.push('common-expfmt-testdata-text.prom');
  assert.ok(files.length >= 50, `only ${files.length} peer inputs found`);
  for (const f of files) {
    await t.test(f, () => {
      const body = readFileSync(join(PEER_DIR, f));
      const why = KNOWN_DIFFERENCES.get(f);
      if (why) {
        assert.notEqual(promtoolCheck(promtool, body).code, 1, `${f}: promtool now rejects it`);
        assert.equal(checkMetrics(body, false).code, 1, `${f}: we now accept it (${why})`);
        return;
      }
      assertAgrees(promtool, body, f);
    });
  }
});
