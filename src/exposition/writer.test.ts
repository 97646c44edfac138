import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { LabelError } from '../model/errors.js';
import { Labels } from '../model/labels.js';
import { ExpositionWriter, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE } from './writer.js';
import { ByteBuffer } from './writer-buffer.js';

test('text body as expfmt writes it', () => {
  const w = new ExpositionWriter('text');
  w.family(
    'http_requests_total',
    'counter',
    'Total HTTP requests.\nSecond line with \\ backslash "quoted".',
  );
  w.sample('http_requests_total', ['method', 'post', 'code', '200'], 1027, 1395066363000);
  w.sample('http_requests_total', ['method', 'post', 'code', '400'], 3, 1395066363000);
  w.family('rpc_duration_seconds', 'summary');
  w.sample('rpc_duration_seconds', ['quantile', '0.99'], 0.000087005);
  w.sample('rpc_duration_seconds_sum', null, 1.7560473e7);
  w.sample('rpc_duration_seconds_count', [], 2693);
  w.family('weird', 'unknown', '');
  w.sample('weird', ['v', 'a\\b"c"\nd ünï €'], -0);
  w.sample('weird', ['v', 'x'], NaN);
  w.sample('weird', ['v', 'y'], Infinity, -5);
  w.eof();
  const want =
    '# HELP http_requests_total Total HTTP requests.\\nSecond line with \\\\ backslash "quoted".\n' +
    '# TYPE http_requests_total counter\n' +
    'http_requests_total{method="post",code="200"} 1027 1395066363000\n' +
    'http_requests_total{method="post",code="400"} 3 1395066363000\n' +
    '# TYPE rpc_duration_seconds summary\n' +
    'rpc_duration_seconds{quantile="0.99"} 8.7005e-05\n' +
    'rpc_duration_seconds_sum 1.7560473e+07\n' +
    'rpc_duration_seconds_count 2693\n' +
    '# HELP weird \n' +
    '# TYPE weird untyped\n' +
    'weird{v="a\\\\b\\"c\\"\\nd ünï €"} 0\n' +
    'weird{v="x"} NaN\n' +
    'weird{v="y"} +Inf -5\n';
  assert.equal(w.take().toString('utf8'), want);
  assert.equal(w.contentType(), TEXT_CONTENT_TYPE);
});

test('OpenMetrics body: counter TYPEd without _total, UNIT, exemplars, seconds, EOF', () => {
  const w = new ExpositionWriter('openmetrics');
  w.family('request_total', 'counter', 'Total "requests".');
  w.sample('request_total', ['direction', 'inbound'], 7, 1520879607789, {
    labels: ['trace_id', 'KOO5S4vxi0o'],
    value: 0.67,
    timestamp: 1520879607789,
  });
  w.sample('request', null, 1); // a sample named like the family gets its _total
  w.family('response_latency_seconds', 'histogram', 'Latency.', 'seconds');
  w.sample('response_latency_seconds_bucket', ['le', '0.1'], 0, null, { labels: [], value: 1e6 });
  w.sample('response_latency_seconds_bucket', ['le', '+Inf'], 100000);
  w.family('build_info', 'untyped');
  w.sample('build_info', Labels.from({ __name__: 'build_info', version: 'v1' }), 1);
  w.eof();
  const want =
    '# HELP request Total \\"requests\\".\n' +
    '# TYPE request counter\n' +
    'request_total{direction="inbound"} 7.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67 1520879607.789\n' +
    'request_total 1.0\n' +
    '# HELP response_latency_seconds Latency.\n' +
    '# TYPE response_latency_seconds histogram\n' +
    '# UNIT response_latency_seconds seconds\n' +
    'response_latency_seconds_bucket{le="0.1"} 0.0 # {} 1e+06\n' +
    'response_latency_seconds_bucket{le="+Inf"} 100000.0\n' +
    '# TYPE build_info unknown\n' +
    'build_info{version="v1"} 1.0\n' +
    '# EOF\n';
  assert.equal(w.take().toString('utf8'), want);
  assert.equal(w.contentType(), OPENMETRICS_CONTENT_TYPE);
});

test('type names map onto what each format has', () => {
  const cases: [Parameters<ExpositionWriter['family']>[1], string, string][] = [
    ['untyped', 'untyped', 'unknown'],
    ['unknown', 'untyped', 'unknown'],
    ['gaugehistogram', 'histogram', 'gaugehistogram'],
    ['info', 'gauge', 'info'],
    ['stateset', 'gauge', 'stateset'],
    ['summary', 'summary', 'summary'],
  ];
  for (const [type, text, om] of cases) {
    assert.equal(
      new ExpositionWriter('text').family('m', type).take().toString(),
      `# TYPE m ${text}\n`,
    );
    assert.equal(
      new ExpositionWriter('openmetrics').family('m', type).take().toString(),
      `# TYPE m ${om}\n`,
    );
  }
});

test('text drops exemplars and units', () => {
  const w = new ExpositionWriter('text');
  w.family('a_seconds', 'gauge', undefined, 'seconds');
  w.sample('a_seconds', null, 1.5, null, { labels: ['x', 'y'], value: 1 });
  assert.equal(w.take().toString(), '# TYPE a_seconds gauge\na_seconds 1.5\n');
});

test('rejects bad family names, units that are not a suffix, and writes after eof', () => {
  assert.throws(() => new ExpositionWriter('text').family('1abc', 'gauge'), LabelError);
  assert.throws(
    () => new ExpositionWriter('openmetrics').family('a_bytes', 'gauge', '', 'seconds'),
    /unit "seconds"/,
  );
  const w = new ExpositionWriter('openmetrics').eof();
  assert.throws(() => w.sample('a', null, 1), /after eof/);
  assert.equal(w.reset().family('a', 'gauge').take().toString(), '# TYPE a gauge\n');
});

test('encodeSeries bytes reproduce sample()', () => {
  const series = ExpositionWriter.encodeSeries('m', ['a', 'x"y', 'b', '2']);
  const a = new ExpositionWriter('text').sampleEncoded(series, 0.25, 1000).take().toString();
  const b = new ExpositionWriter('text')
    .sample('m', ['a', 'x"y', 'b', '2'], 0.25, 1000)
    .take()
    .toString();
  assert.equal(a, b);
  assert.equal(a, 'm{a="x\\"y",b="2"} 0.25 1000\n');
});

test('flushTo streams chunks and waits for drain', async () => {
  const chunks: Buffer[] = [];
  let writes = 0;
  const sink = Object.assign(new EventEmitter(), {
    write(c: Buffer) {
      chunks.push(c);
      writes++;
      if (writes === 1) setImmediate(() => sink.emit('drain'));
      return writes !== 1; // the first write asks the writer to wait
    },
  });
  const w = new ExpositionWriter('text', { initialCapacity: 16 });
  w.family('m', 'gauge');
  for (let i = 0; i < 1000; i++) {
    w.sample('m', ['i', String(i)], i, 1);
    if (w.size > 4096) await w.flushTo(sink);
  }
  await w.flushTo(sink);
  assert.equal(w.size, 0);
  const body = Buffer.concat(chunks).toString();
  assert.equal(body.split('\n').length, 1002);
  assert.ok(chunks.length > 2);
  assert.ok(body.endsWith('m{i="999"} 999 1\n'));
});

test('ByteBuffer grows and writes UTF-8, escapes and integers', () => {
  const b = new ByteBuffer(16);
  const cases: [string, (b: ByteBuffer) => void][] = [
    ['abc', (b) => b.writeAscii('abc')],
    ['ü€😀', (b) => b.writeUtf8('ü€😀')],
    ['x😀\\\\\\n\\"y', (b) => b.writeEscaped('x😀\\\n"y', true)],
    ['"\\n', (b) => b.writeEscaped('"\n', false)],
    ['0', (b) => b.writeInt(0)],
    ['-0', (b) => b.writeInt(-0)],
    ['9', (b) => b.writeInt(9)],
    ['10', (b) => b.writeInt(10)],
    ['-123', (b) => b.writeInt(-123)],
    ['9007199254740991', (b) => b.writeInt(Number.MAX_SAFE_INTEGER)],
    ['1700000000000', (b) => b.writeInt(1700000000000)],
  ];
  for (const [want, write] of cases) {
    b.reset();
    write(b);
    // writeInt(-0) prints 0: the sign of zero is not an integer property.
    assert.equal(b.bytes().toString('utf8'), want === '-0' ? '0' : want);
  }
  b.reset();
  const long = 'x'.repeat(100_000) + 'é';
  b.writeUtf8(long);
  assert.equal(b.copy().toString('utf8'), long);
});
