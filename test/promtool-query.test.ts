/**
 * `promtool query instant|range|series|labels` (Prometheus 2.42) against our API print what
 * our storage holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Labels } from '../src/model/labels.js';
import { Engine } from '../src/promql/index.js';
import { Head } from '../src/tsdb/head.js';
import { WebServer } from '../src/web/index.js';
import { requirePeer } from './support/peers.js';

const run = promisify(execFile);

test('promtool query reads our API', { timeout: 60_000 }, async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  // promtool's series and labels default to a window around now, so the data is recent.
  const T = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const s = T / 1000;
  const head = new Head();
  const app = head.appender();
  for (const dt of [0, 15_000, 30_000]) {
    app.append(
      0,
      Labels.from({ __name__: 'up', job: 'linkerd-proxy', instance: 'web:4191' }),
      T + dt,
      1,
    );
    app.append(
      0,
      Labels.from({
        __name__: 'request_total',
        job: 'linkerd-proxy',
        instance: 'web:4191',
        direction: 'inbound',
      }),
      T + dt,
      10 + dt / 1000,
    );
    app.append(
      0,
      Labels.from({
        __name__: 'request_total',
        job: 'linkerd-proxy',
        instance: 'vote:4191',
        direction: 'outbound',
      }),
      T + dt,
      0.5,
    );
  }
  await app.commit();
  const server = new WebServer({ queryable: head, engine: new Engine(), lookbackDeltaMs: 300_000 });
  const { port } = await server.listen('127.0.0.1:0');
  t.after(() => server.close());
  const url = `http://127.0.0.1:${port}`;

  const cases: { name: string; args: string[]; want: string; fails?: boolean }[] = [
    {
      name: 'instant vector',
      args: ['query', 'instant', `--time=${s + 30}`, url, 'request_total'],
      want: [
        `request_total{direction="inbound", instance="web:4191", job="linkerd-proxy"} => 40 @[${s + 30}]`,
        `request_total{direction="outbound", instance="vote:4191", job="linkerd-proxy"} => 0.5 @[${s + 30}]`,
        '',
      ].join('\n'),
    },
    {
      name: 'instant scalar',
      args: ['query', 'instant', `--time=${s + 30}`, url, 'scalar(up) * 1.5'],
      want: `scalar: 1.5 @[${s + 30}]\n`,
    },
    {
      name: 'range',
      args: [
        'query',
        'range',
        `--start=${s}`,
        `--end=${s + 30}`,
        '--step=15s',
        url,
        'sum(request_total)',
      ],
      want: `{} =>\n10.5 @[${s}]\n25.5 @[${s + 15}]\n40.5 @[${s + 30}]\n`,
    },
    {
      name: 'series',
      args: ['query', 'series', '--match=up', '--match=request_total{direction="outbound"}', url],
      want: [
        '{__name__="request_total", direction="outbound", instance="vote:4191", job="linkerd-proxy"}',
        '{__name__="up", instance="web:4191", job="linkerd-proxy"}',
        '',
      ].join('\n'),
    },
    {
      name: 'label values',
      args: ['query', 'labels', url, 'instance'],
      want: 'vote:4191\nweb:4191\n',
    },
    {
      name: 'label values with match',
      args: ['query', 'labels', '--match=up', url, '__name__'],
      want: 'up\n',
    },
    {
      name: 'bad query',
      args: ['query', 'instant', url, 'sum('],
      want: 'query error: bad_data: invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
      fails: true,
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, async () => {
      if (tc.fails) {
        await assert.rejects(run(promtool, tc.args), (e: { stderr: string; code: number }) => {
          assert.equal(e.code, 1);
          assert.ok(e.stderr.includes(tc.want), e.stderr);
          return true;
        });
        return;
      }
      const { stdout } = await run(promtool, tc.args);
      assert.equal(stdout, tc.want);
    });
  }
});
