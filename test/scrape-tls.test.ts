/**
 * Scraping over HTTPS with the job's tls_config: a CA file, an unknown CA, and
 * insecure_skip_verify, against a local server with a certificate made by openssl.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/index.js';
import { ScrapeManager } from '../src/scrape/index.js';
import type { Appendable, Appender } from '../src/storage/interface.js';
import { requirePeer } from './support/peers.js';

/** Counts committed appends per metric name. */
class NameCounter implements Appendable {
  readonly byName = new Map<string, number[]>();
  appender(): Appender {
    const batch: [string, number][] = [];
    return {
      append: (_ref, ls, _t, v) => {
        batch.push([ls.get('__name__') + '@' + ls.get('job'), v]);
        return 0;
      },
      commit: async () => {
        for (const [k, v] of batch) this.byName.set(k, [...(this.byName.get(k) ?? []), v]);
      },
      rollback: () => {
        batch.length = 0;
      },
    };
  }
}

test('tls_config: a trusted CA scrapes, an unknown CA fails, insecure_skip_verify scrapes', async (t) => {
  const openssl = requirePeer(t, 'openssl', 'openssl');
  if (openssl === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'scrape-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=meshmetrics-test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );

  const server = https.createServer(
    { key: readFileSync(key), cert: readFileSync(cert) },
    (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end('secure 1\n');
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  const store = new NameCounter();
  const manager = new ScrapeManager(store, { jitterSeed: 0 });
  t.after(() => manager.stop({ staleness: false }));
  const job = (name: string, tls: string): string =>
    `  - job_name: ${name}\n    scheme: https\n    tls_config:\n${tls}    static_configs:\n      - targets: ['${addr}']\n`;
  const cfg = loadConfig(
    'global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\nscrape_configs:\n' +
      job('trusted', `      ca_file: ${cert}\n`) +
      job('unknown', `      server_name: 127.0.0.1\n`) +
      job('insecure', `      insecure_skip_verify: true\n`),
    join(dir, 'tls.yml'),
  );
  manager.applyConfig(cfg);
  manager.sync(
    new Map(
      ['trusted', 'unknown', 'insecure'].map((j) => [
        j,
        [{ source: '0', targets: [{ __address__: addr }], labels: {} }],
      ]),
    ),
  );
  const end = Date.now() + 5000;
  while (Date.now() < end && manager.targets().some((p) => p.active[0].health === 'unknown')) {
    await new Promise((r) => setTimeout(r, 25));
  }
  const health = new Map(manager.targets().map((p) => [p.scrapePool, p.active[0]]));
  assert.equal(health.get('trusted')!.health, 'up', health.get('trusted')!.lastError);
  assert.equal(health.get('insecure')!.health, 'up', health.get('insecure')!.lastError);
  assert.equal(health.get('unknown')!.health, 'down');
  assert.match(health.get('unknown')!.lastError, /self.signed certificate|unable to verify/i);
  assert.ok(store.byName.get('secure@trusted')?.includes(1));
  assert.equal(store.byName.get('secure@unknown'), undefined);
});
