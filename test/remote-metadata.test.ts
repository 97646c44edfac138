// Metadata sending (metadata_config), checked against what Prometheus 2.42 sends: both
// scrape the same Linkerd-style target and remote-write into receivers that decode and
// keep every request; the metadata entries must be the same set. Neither Prometheus 2.42
// nor VictoriaMetrics 1.79 keeps metadata it receives, so they are checked only to accept
// our metadata requests (no failures counted).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCollector } from '../src/cmd/collector.js';
import {
  cleanupStack,
  freePort,
  startCaptureReceiver,
  startPeer,
  startVictoriaMetrics,
  waitFor,
  type CaptureReceiver,
} from '../src/remote/testdata/harness.js';
import { linkerdProxyBody } from './fixtures/linkerd-body.js';
import { requirePeer } from './support/peers.js';

/** Each distinct metadata entry a receiver got, as sorted JSON strings. */
function metadataSet(rx: CaptureReceiver): string[] {
  const set = new Set<string>();
  for (const r of rx.requests) for (const m of r.metadata) set.add(JSON.stringify(m));
  return [...set].sort();
}

/** The value of `family{…remote_name="name"…}` in an exposition, or NaN. */
function rowOf(text: string, family: string, name: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(family + '{') && line.includes(`remote_name="${name}"`)) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return NaN;
}

test(
  'metadata: the same entries Prometheus 2.42 sends, in requests of max_samples_per_send, accepted by 2.42 and VictoriaMetrics',
  { timeout: 90_000 },
  async (t) => {
    const promBin = requirePeer(t, 'prometheus', 'prometheus');
    const vmBin = requirePeer(t, 'victoria-metrics', 'victoria-metrics');
    if (promBin === null || vmBin === null) return;
    const root = mkdtempSync(join(tmpdir(), 'mm-rw-meta-'));
    const defer = cleanupStack(t);
    defer(() => rmSync(root, { recursive: true, force: true }));

    // A target with counters, histograms, gauges, HELP text and an untyped family.
    const body =
      linkerdProxyBody({ inbound: 1, outbound: 1, statusCodes: 1, routes: 1 }) +
      '# HELP rw_meta_untyped An untyped family with help.\nrw_meta_untyped 1\n' +
      '# TYPE rw_meta_summary summary\nrw_meta_summary_sum 1\nrw_meta_summary_count 1\n';
    const target = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(body);
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    defer(
      () =>
        new Promise<void>((r) => {
          target.closeAllConnections();
          target.close(() => r());
        }),
    );
    const targetAddr = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    const scrape = [
      'scrape_configs:',
      '  - job_name: mesh',
      '    scrape_interval: 1s',
      `    static_configs: [{targets: ['${targetAddr}']}]`,
    ];

    const fromProm = await startCaptureReceiver();
    defer(() => fromProm.close());
    const fromUs = await startCaptureReceiver();
    defer(() => fromUs.close());

    // Prometheus: scrapes the target, sends to its capture receiver; it also receives ours.
    const promPort = await freePort();
    writeFileSync(
      join(root, 'prometheus.yml'),
      [
        ...scrape,
        'remote_write:',
        `  - url: ${fromProm.url}`,
        '    metadata_config: {send_interval: 1s}',
        '',
      ].join('\n'),
    );
    const prom = await startPeer(
      promBin,
      [
        `--config.file=${join(root, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(root, 'prom')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--web.enable-remote-write-receiver',
      ],
      promPort,
      '/-/ready',
    );
    defer(() => prom.stop());
    const vmPort = await freePort();
    const vm = await startVictoriaMetrics(vmBin, join(root, 'vm'), vmPort);
    defer(() => vm.stop());

    // Our collector: the same scrape, three endpoints.
    const port = await freePort();
    writeFileSync(
      join(root, 'collector.yml'),
      [
        ...scrape,
        'remote_write:',
        `  - {url: '${fromUs.url}', name: capture, metadata_config: {send_interval: 1s, max_samples_per_send: 10}}`,
        `  - {url: '${prom.base}/api/v1/write', name: prom, metadata_config: {send_interval: 1s}}`,
        `  - {url: 'http://127.0.0.1:${vmPort}/api/v1/write', name: vm, metadata_config: {send_interval: 1s}}`,
        '',
      ].join('\n'),
    );
    const coll = await startCollector({
      configFile: join(root, 'collector.yml'),
      dataDir: join(root, 'collector'),
      listenAddress: `127.0.0.1:${port}`,
      logWrite: () => {},
      discoveryUpdateIntervalMs: 100,
    });
    defer(() => coll.stop());

    // Both have sent the target's metadata at least twice, i.e. full sets.
    const full = (rx: CaptureReceiver): boolean => {
      const n = metadataSet(rx).length;
      return n > 20 && rx.requests.reduce((k, r) => k + r.metadata.length, 0) >= 2 * n;
    };
    assert.ok(await waitFor(() => full(fromProm), 40_000), 'Prometheus sent its metadata');
    assert.ok(await waitFor(() => full(fromUs), 20_000), 'we sent ours');

    const theirs = metadataSet(fromProm);
    const ours = metadataSet(fromUs);
    assert.deepEqual(ours, theirs, 'the same metadata entries as Prometheus 2.42');
    assert.ok(
      theirs.some((m) => m.includes('"unit":"') && !m.includes('"unit":""')) ||
        theirs.some((m) => m.includes('"type":"histogram"')),
      'the set covers more than counters',
    );

    // Requests of metadata only, at most max_samples_per_send entries each.
    const metaRequests = fromUs.requests.filter((r) => r.metadata.length > 0);
    assert.ok(metaRequests.length >= 2 * Math.ceil(ours.length / 10));
    for (const r of metaRequests) {
      assert.ok(r.metadata.length <= 10, `${r.metadata.length} entries in one request`);
      assert.equal(r.series, 0, 'metadata travels apart from samples');
    }

    // Accepted by Prometheus 2.42 and VictoriaMetrics; counted under 2.42's names.
    let text = '';
    assert.ok(
      await waitFor(async () => {
        text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return ['capture', 'prom', 'vm'].every(
          (n) => rowOf(text, 'prometheus_remote_storage_metadata_total', n) >= ours.length,
        );
      }, 20_000),
      'metadata sent to every endpoint',
    );
    for (const n of ['capture', 'prom', 'vm']) {
      assert.equal(rowOf(text, 'prometheus_remote_storage_metadata_failed_total', n), 0, n);
      assert.ok(rowOf(text, 'prometheus_remote_storage_metadata_bytes_total', n) > 0, n);
    }
    t.diagnostic(`${ours.length} metadata entries, ${metaRequests.length} requests`);
  },
);

test('metadata: nothing sent with metadata_config.send false', { timeout: 30_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'mm-rw-meta-off-'));
  const defer = cleanupStack(t);
  defer(() => rmSync(root, { recursive: true, force: true }));
  const rx = await startCaptureReceiver();
  defer(() => rx.close());
  const port = await freePort();
  writeFileSync(
    join(root, 'collector.yml'),
    [
      'scrape_configs:',
      '  - job_name: self',
      '    scrape_interval: 1s',
      `    static_configs: [{targets: ['127.0.0.1:${port}']}]`,
      'remote_write:',
      `  - {url: '${rx.url}', metadata_config: {send: false, send_interval: 200ms}, queue_config: {batch_send_deadline: 200ms}}`,
      '',
    ].join('\n'),
  );
  const coll = await startCollector({
    configFile: join(root, 'collector.yml'),
    dataDir: join(root, 'collector'),
    listenAddress: `127.0.0.1:${port}`,
    logWrite: () => {},
    discoveryUpdateIntervalMs: 100,
  });
  defer(() => coll.stop());
  assert.ok(await waitFor(() => rx.requests.length >= 3, 20_000), 'samples flow');
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(rx.requests.filter((r) => r.metadata.length > 0).length, 0);
});
