import assert from 'node:assert/strict';
import { test } from 'node:test';
import { negotiate, parseAccept, parserFormatFor, PROMETHEUS_SCRAPE_ACCEPT } from './negotiate.js';

test('negotiate picks the format as expfmt.NegotiateIncludingOpenMetrics does', async (t) => {
  const cases: {
    name: string;
    accept: string | undefined;
    want: string;
    wantWithoutOM?: string;
  }[] = [
    { name: 'missing header', accept: undefined, want: 'text 0.0.4' },
    { name: 'empty header', accept: '', want: 'text 0.0.4' },
    {
      name: 'Prometheus 2.42 scrape Accept',
      accept: PROMETHEUS_SCRAPE_ACCEPT,
      want: 'openmetrics 1.0.0',
      wantWithoutOM: 'text 0.0.4',
    },
    { name: 'anything', accept: '*/*', want: 'text 0.0.4' },
    { name: 'bare star', accept: '*', want: 'text 0.0.4' },
    { name: 'curl default', accept: '*/*', want: 'text 0.0.4' },
    { name: 'text without version', accept: 'text/plain', want: 'text 0.0.4' },
    { name: 'text with another version', accept: 'text/plain;version=0.0.5', want: 'text 0.0.4' },
    {
      name: 'OpenMetrics without version means 1.0.0',
      accept: 'application/openmetrics-text',
      want: 'openmetrics 1.0.0',
    },
    {
      name: 'OpenMetrics 0.0.1',
      accept: 'application/openmetrics-text; version=0.0.1',
      want: 'openmetrics 0.0.1',
    },
    {
      name: 'OpenMetrics unknown version',
      accept: 'application/openmetrics-text;version=2.0.0',
      want: 'text 0.0.4',
    },
    {
      name: 'q-values order the ranges',
      accept: 'text/plain;version=0.0.4;q=0.3,application/openmetrics-text;version=1.0.0;q=0.9',
      want: 'openmetrics 1.0.0',
    },
    {
      name: 'text preferred by q',
      accept: 'application/openmetrics-text;q=0.2,text/plain;q=0.8',
      want: 'text 0.0.4',
    },
    {
      name: 'equal q keeps header order',
      accept: 'application/openmetrics-text;version=0.0.1,text/plain',
      want: 'openmetrics 0.0.1',
    },
    {
      name: 'protobuf is passed over',
      accept:
        'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;q=0.5',
      want: 'openmetrics 1.0.0',
    },
    {
      name: 'media types are case-sensitive in goautoneg',
      accept: 'Application/OpenMetrics-Text',
      want: 'text 0.0.4',
    },
    {
      name: 'unparseable q counts as 0',
      accept: 'text/plain;q=x,application/openmetrics-text;q=0.1',
      want: 'openmetrics 1.0.0',
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const got = negotiate(tc.accept);
      assert.equal(`${got.format} ${got.version}`, tc.want);
      assert.match(
        got.contentType,
        got.format === 'text'
          ? /^text\/plain; version=0\.0\.4; charset=utf-8$/
          : /^application\/openmetrics-text; version=\d\.\d\.\d; charset=utf-8$/,
      );
      const plain = negotiate(tc.accept, { openMetrics: false });
      assert.equal(
        `${plain.format} ${plain.version}`,
        tc.wantWithoutOM ?? (tc.want.startsWith('text') ? tc.want : 'text 0.0.4'),
      );
    });
  }
});

test('parseAccept sorts concrete types before wildcards at equal q', () => {
  const got = parseAccept('*/*,text/*,text/plain;version=0.0.4').map(
    (a) => `${a.type}/${a.subType}`,
  );
  assert.deepEqual(got, ['text/plain', 'text/*', '*/*']);
  assert.deepEqual(
    parseAccept('a/b;q=0.5, c/d ; x = y ;q=1, e').map((a) => [
      a.type,
      a.subType,
      a.q,
      Object.fromEntries(a.params),
    ]),
    [
      ['c', 'd', 1, { x: 'y' }],
      ['a', 'b', 0.5, {}],
    ],
  );
});

test('parserFormatFor chooses the scrape parser as Prometheus 2.42', () => {
  const cases: [string | undefined, string][] = [
    [undefined, 'text'],
    ['', 'text'],
    ['text/plain; version=0.0.4; charset=utf-8', 'text'],
    ['application/openmetrics-text; version=1.0.0; charset=utf-8', 'openmetrics'],
    ['application/openmetrics-text', 'openmetrics'],
    ['Application/OpenMetrics-Text;version=0.0.1', 'openmetrics'],
    ['application/openmetrics-text; version', 'text'],
    ['application/json', 'text'],
    ['garbage', 'text'],
  ];
  for (const [ct, want] of cases) assert.equal(parserFormatFor(ct), want, `Content-Type ${ct}`);
});
