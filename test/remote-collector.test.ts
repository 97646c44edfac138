// The collector wired end to end: collector A scrapes itself and remote-writes to
// collector B's POST /api/v1/write (--web.enable-remote-write-receiver); B's query API
// answers with A's samples; A's /metrics shows the remote-storage self-metrics; without
// the flag, /api/v1/write is 404.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCollector } from '../src/cmd/collector.js';
import { freePort, waitFor } from '../src/remote/testdata/harness.js';

test('collector → collector over remote write', { timeout: 60_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'mm-rw-coll-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const quiet = (): void => {};
  const bPort = await freePort();
  writeFileSync(join(root, 'b.yml'), 'global:\n  scrape_interval: 1h\n');
  const b = await startCollector({
    configFile: join(root, 'b.yml'),
    dataDir: join(root, 'b'),
    listenAddress: `127.0.0.1:${bPort}`,
    enableRemoteWriteReceiver: true,
    logWrite: quiet,
  });
  t.after(() => b.stop());
  const aPort = await freePort();
  writeFileSync(
    join(root, 'a.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  external_labels: {cluster: east}',
      'scrape_configs:',
      '  - job_name: self',
      `    static_configs: [{targets: ['127.0.0.1:${aPort}']}]`,
      'remote_write:',
      `  - url: http://127.0.0.1:${bPort}/api/v1/write`,
      '    name: to-b',
      '    queue_config: {batch_send_deadline: 200ms}',
      '',
    ].join('\n'),
  );
  const a = await startCollector({
    configFile: join(root, 'a.yml'),
    dataDir: join(root, 'a'),
    listenAddress: `127.0.0.1:${aPort}`,
    logWrite: quiet,
    discoveryUpdateIntervalMs: 100,
  });
  t.after(() => a.stop());

  const query = async (base: string, q: string): Promise<{ metric: Record<string, string> }[]> => {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
    return ((await res.json()) as { data: { result: { metric: Record<string, string> }[] } }).data
      .result;
  };
  const bBase = `http://127.0.0.1:${bPort}`;
  assert.ok(
    await waitFor(async () => (await query(bBase, 'up{job="self"}')).length > 0, 30_000),
    "A's scraped samples arrive in B",
  );
  const [up] = await query(bBase, 'up{job="self"}');
  assert.equal(up.metric.cluster, 'east', 'external label added by the sender');

  const metrics = await (await fetch(`http://127.0.0.1:${aPort}/metrics`)).text();
  assert.match(
    metrics,
    /prometheus_remote_storage_samples_total\{remote_name="to-b",url="[^"]+"\} [1-9]/,
  );
  assert.match(metrics, /# TYPE prometheus_remote_storage_shards gauge/);

  const res = await fetch(`http://127.0.0.1:${aPort}/api/v1/write`, { method: 'POST', body: 'x' });
  assert.equal(res.status, 404, 'A has no receiver');
  assert.match(await res.text(), /--web.enable-remote-write-receiver/);
});
