// Issue 7, "Sharding": two collector processes with the same 100 static targets each keep
// a disjoint half (`hashmod` on __address__ + `keep`, as Prometheus documents for
// sharding) and remote-write into one VictoriaMetrics, which then holds every target
// exactly once. The split is the one `relabel` computes from the same configuration
// (whose hashmod is tested against Prometheus in relabel-prometheus.test.ts).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/index.js';
import { Labels } from '../src/model/labels.js';
import { relabel } from '../src/relabel/index.js';
import {
  cleanupStack,
  freePort,
  startCollectorProcess,
  startVictoriaMetrics,
  waitFor,
} from '../src/remote/testdata/harness.js';
import { linkerdProxyBody } from './fixtures/linkerd-body.js';
import { requirePeer } from './support/peers.js';

const N_TARGETS = 100;
const SHARDS = 2;
/** Series per target: the body's, plus up and the four scrape_* series. */
const BODY_OPTS = { inbound: 1, outbound: 1, statusCodes: 1, routes: 1 };

function collectorYaml(shard: number, targets: string[], vmPort: number): string {
  return [
    'global:',
    '  scrape_interval: 2s',
    `  external_labels: {collector: c${shard}}`,
    'scrape_configs:',
    '  - job_name: mesh',
    '    static_configs:',
    `      - targets: [${targets.map((a) => `'${a}'`).join(', ')}]`,
    '    relabel_configs:',
    '      - source_labels: [__address__]',
    `        modulus: ${SHARDS}`,
    '        target_label: __tmp_hash',
    '        action: hashmod',
    '      - source_labels: [__tmp_hash]',
    `        regex: ${shard}`,
    '        action: keep',
    'remote_write:',
    `  - url: http://127.0.0.1:${vmPort}/api/v1/write`,
    '    queue_config: {batch_send_deadline: 500ms}',
    '',
  ].join('\n');
}

test(
  `hashmod sharding: ${SHARDS} collectors split ${N_TARGETS} targets, one VictoriaMetrics holds each exactly once`,
  { timeout: 120_000 },
  async (t) => {
    const bin = requirePeer(t, 'victoria-metrics', 'victoria-metrics');
    if (bin === null) return;
    const root = mkdtempSync(join(tmpdir(), 'mm-rw-shard-'));
    const defer = cleanupStack(t);
    defer(() => rmSync(root, { recursive: true, force: true }));

    // One handler behind N_TARGETS loopback listeners: each port is a proxy's admin port.
    const bodies = new Map<number, string>();
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const port = (req.socket.address() as AddressInfo).port;
      res
        .writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' })
        .end(bodies.get(port) ?? '');
    };
    const servers: http.Server[] = [];
    const targets: string[] = [];
    for (let i = 0; i < N_TARGETS; i++) {
      const s = http.createServer(handler);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      const port = (s.address() as AddressInfo).port;
      bodies.set(port, linkerdProxyBody({ ...BODY_OPTS, seed: i + 1 }));
      servers.push(s);
      targets.push(`127.0.0.1:${port}`);
    }
    defer(() =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.closeAllConnections();
              s.close(() => r());
            }),
        ),
      ),
    );
    const bodySeries = linkerdProxyBody(BODY_OPTS)
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#')).length;
    const perTarget = bodySeries + 5;

    // The partition relabel gives for each shard's configuration.
    const vmPort = await freePort();
    const expected = new Map<string, string>(); // target → collector
    for (let k = 0; k < SHARDS; k++) {
      const yaml = collectorYaml(k, targets, vmPort);
      writeFileSync(join(root, `c${k}.yml`), yaml);
      const rules = loadConfig(yaml, `c${k}.yml`).scrapeConfigs[0].relabelConfigs.compiled;
      for (const a of targets) {
        if (relabel(Labels.from({ __address__: a, job: 'mesh' }), rules) === null) continue;
        assert.ok(!expected.has(a), `${a} kept by two shards`);
        expected.set(a, `c${k}`);
      }
    }
    assert.equal(expected.size, N_TARGETS, 'every target kept by one shard');
    const sizes = [0, 1].map((k) => [...expected.values()].filter((c) => c === `c${k}`).length);
    assert.ok(
      sizes.every((n) => n > N_TARGETS / 4),
      `both shards have work: ${sizes.join(' + ')}`,
    );

    const vm = await startVictoriaMetrics(bin, join(root, 'vm'), vmPort);
    defer(() => vm.stop());
    const ports = await Promise.all(Array.from({ length: SHARDS }, () => freePort()));
    const collectors = await Promise.all(
      ports.map((p, k) => startCollectorProcess(join(root, `c${k}.yml`), join(root, `d${k}`), p)),
    );
    defer(() => Promise.all(collectors.map((c) => c.stop())));

    // Each collector scrapes exactly its half.
    for (let k = 0; k < SHARDS; k++) {
      const active = async (): Promise<string[]> => {
        const res = await fetch(`${collectors[k].base}/api/v1/targets?state=active`);
        const body = (await res.json()) as {
          data: { activeTargets: { labels: Record<string, string> }[] };
        };
        return body.data.activeTargets.map((a) => a.labels.instance).sort();
      };
      const want = targets.filter((a) => expected.get(a) === `c${k}`).sort();
      assert.ok(
        await waitFor(async () => (await active()).length === want.length, 30_000),
        `c${k} targets`,
      );
      assert.deepEqual(await active(), want, `c${k} scrapes its half`);
    }

    // The union in VictoriaMetrics: every series of every target once, from its shard.
    type Row = Record<string, string>;
    let rows: Row[] = [];
    const load = async (): Promise<boolean> => {
      await fetch(`${vm.base}/internal/force_flush`);
      const res = await fetch(
        `${vm.base}/api/v1/series?${new URLSearchParams({ 'match[]': '{job="mesh"}', start: String(Math.floor(Date.now() / 1000) - 600) })}`,
      );
      rows = ((await res.json()) as { data: Row[] }).data;
      return rows.length >= N_TARGETS * perTarget;
    };
    const ok = await waitFor(load, 60_000);
    assert.ok(ok, `series in VictoriaMetrics: ${rows.length}, want ${N_TARGETS * perTarget}`);
    const byTarget = new Map<string, Row[]>();
    for (const r of rows) {
      const list = byTarget.get(r.instance) ?? [];
      list.push(r);
      byTarget.set(r.instance, list);
    }
    assert.deepEqual([...byTarget.keys()].sort(), [...targets].sort(), 'every target, no other');
    for (const a of targets) {
      const list = byTarget.get(a) ?? [];
      assert.equal(list.length, perTarget, `${a}: each of its series once`);
      const from = new Set(list.map((r) => r.collector));
      assert.deepEqual([...from], [expected.get(a)], `${a}: written by its shard only`);
    }
    // Samples too: `up` of every target is 1, and no target has two `up` series.
    const res = await fetch(
      `${vm.base}/api/v1/export?${new URLSearchParams({ 'match[]': 'up{job="mesh"}' })}`,
    );
    const ups = (await res.text())
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { metric: Row; values: number[] });
    assert.equal(ups.length, N_TARGETS);
    for (const u of ups) {
      assert.ok(
        u.values.length > 0 && u.values.every((v) => v === 1),
        `up of ${u.metric.instance}: ${JSON.stringify(u.values)} (0: a scrape failed)`,
      );
    }
    t.diagnostic(`split ${sizes.join(' + ')} targets; ${rows.length} series in VictoriaMetrics`);
  },
);
