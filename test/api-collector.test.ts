/**
 * The collector mounts the HTTP server: a collector started in-process scrapes a target and
 * answers /api/v1/query, /targets, /status/*, /metrics and /-/quit on its listen address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../src/cmd/collector.js';
import { Labels } from '../src/model/labels.js';
import { waitForValue } from './support/wait.js';

test(
  'the collector serves its API, targets, self-metrics and /-/quit',
  { timeout: 60_000 },
  async (t) => {
    const target = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end('# TYPE request_total counter\nrequest_total{direction="inbound"} 42\n');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    t.after(() => target.close());
    const targetAddr = `127.0.0.1:${(target.address() as AddressInfo).port}`;

    const dir = mkdtempSync(join(tmpdir(), 'api-collector-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cfg = join(dir, 'meshmetrics.yml');
    writeFileSync(
      cfg,
      `global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\n  external_labels:\n    cluster: lab\nscrape_configs:\n  - job_name: linkerd-proxy\n    static_configs:\n      - targets: ['${targetAddr}']\n`,
    );
    let quitCalled = false;
    const c = await startCollector({
      configFile: cfg,
      dataDir: join(dir, 'data'),
      listenAddress: '127.0.0.1:0',
      enableLifecycle: true,
      discoveryUpdateIntervalMs: 20,
      logWrite: () => {},
      onQuit: () => (quitCalled = true),
    });
    let stopped = false;
    t.after(async () => {
      if (!stopped) await c.stop();
    });
    const base = `http://127.0.0.1:${c.webAddress.port}`;

    const result = await waitForValue('a scraped sample', async () => {
      const j = (await (await fetch(`${base}/api/v1/query?query=request_total`)).json()) as {
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      return j.data.result.length > 0 ? j.data.result : null;
    });
    assert.deepEqual(result[0].metric, {
      __name__: 'request_total',
      direction: 'inbound',
      instance: targetAddr,
      job: 'linkerd-proxy',
    });
    assert.equal(result[0].value[1], '42');

    const targets = (await (await fetch(`${base}/api/v1/targets?state=active`)).json()) as {
      data: {
        activeTargets: {
          scrapePool: string;
          health: string;
          scrapeUrl: string;
          labels: Record<string, string>;
        }[];
        droppedTargets: unknown[];
      };
    };
    assert.equal(targets.data.activeTargets.length, 1);
    assert.equal(targets.data.activeTargets[0].scrapePool, 'linkerd-proxy');
    assert.equal(targets.data.activeTargets[0].scrapeUrl, `http://${targetAddr}/metrics`);
    assert.deepEqual(targets.data.droppedTargets, []);
    const pools = (await (await fetch(`${base}/api/v1/scrape_pools`)).json()) as { data: unknown };
    assert.deepEqual(pools.data, { scrapePools: ['linkerd-proxy'] });

    const conf = (await (await fetch(`${base}/api/v1/status/config`)).json()) as {
      data: { yaml: string };
    };
    assert.match(conf.data.yaml, /external_labels:\n\s+cluster: lab/);
    const flags = (await (await fetch(`${base}/api/v1/status/flags`)).json()) as {
      data: Record<string, string>;
    };
    assert.equal(flags.data['web.enable-lifecycle'], 'true');

    const fed = await (await fetch(`${base}/federate?match[]=request_total`)).text();
    assert.match(
      fed,
      new RegExp(
        `^request_total\\{direction="inbound",instance="${targetAddr}",job="linkerd-proxy",cluster="lab"\\} 42 \\d+$`,
        'm',
      ),
    );

    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      'process_cpu_seconds_total',
      'prometheus_tsdb_head_series',
      'prometheus_target_scrape_pool_targets',
    ]) {
      assert.match(metrics, new RegExp(`^${name}(\\{| )`, 'm'), name);
    }

    const quit = await fetch(`${base}/-/quit`, { method: 'POST' });
    assert.equal(quit.status, 200);
    await waitForValue('quit', async () => (quitCalled ? true : null));
    stopped = true;
    await assert.rejects(fetch(`${base}/-/healthy`));
  },
);

test(
  'the admin API deletes series, cleans tombstones and writes snapshots',
  { timeout: 60_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'api-admin-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cfg = join(dir, 'meshmetrics.yml');
    writeFileSync(cfg, 'scrape_configs: []\n');
    const c = await startCollector({
      configFile: cfg,
      dataDir: join(dir, 'data'),
      listenAddress: '127.0.0.1:0',
      enableAdminApi: true,
      logWrite: () => {},
    });
    t.after(() => c.stop());
    const base = `http://127.0.0.1:${c.webAddress.port}`;
    const now = Date.now();
    const app = c.db.appender();
    for (const pod of ['a', 'b']) {
      const ls = Labels.from({ __name__: 'request_total', pod });
      for (let i = 0; i < 10; i++) app.append(0, ls, now - 10_000 * (10 - i), i);
    }
    await app.commit();
    const count = async (): Promise<number> => {
      const r = await fetch(`${base}/api/v1/query?query=count(request_total)&time=${now / 1000}`);
      const j = (await r.json()) as { data: { result: { value: [number, string] }[] } };
      return j.data.result.length === 0 ? 0 : Number(j.data.result[0].value[1]);
    };
    assert.equal(await count(), 2);

    const del = await fetch(
      `${base}/api/v1/admin/tsdb/delete_series?match[]=request_total{pod="a"}`,
      {
        method: 'POST',
      },
    );
    assert.equal(del.status, 204);
    assert.equal(await count(), 1, 'pod a is gone from queries');
    assert.equal(
      (await fetch(`${base}/api/v1/admin/tsdb/clean_tombstones`, { method: 'POST' })).status,
      204,
    );

    const snap = await fetch(`${base}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
    assert.equal(snap.status, 200);
    const { data } = (await snap.json()) as { data: { name: string } };
    assert.match(data.name, /^\d{8}T\d{6}Z-[0-9a-f]{16}$/);
    const snapDir = join(dir, 'data', 'snapshots', data.name);
    const blocks = readdirSync(snapDir);
    assert.equal(blocks.length, 1, 'the head was written as one block');
    assert.ok(existsSync(join(snapDir, blocks[0], 'meta.json')));
  },
);
