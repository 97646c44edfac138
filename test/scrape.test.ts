/**
 * The scrape loop end to end: live HTTP targets on 127.0.0.1, a real TSDB, samples read
 * back through its querier. Intervals are 200 ms so the whole file stays short.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../src/config/index.js';
import type { TargetGroup, TargetSets } from '../src/discovery/index.js';
import { Matcher } from '../src/model/matcher.js';
import { isStaleNaN } from '../src/model/stale.js';
import { ScrapeManager, Target } from '../src/scrape/index.js';
import { Labels } from '../src/model/labels.js';
import { openDB, type DB } from '../src/tsdb/db.js';
import { linkerdProxyBody } from './fixtures/linkerd-body.js';
import { deadAddress, startTargets, type TargetServer } from './fixtures/targets.js';
import { waitUntil } from './support/wait.js';

const INTERVAL = 200;

interface Sample {
  t: number;
  v: number;
}

/** Every series matching `matchers`, by label string, with its samples. */
async function read(db: DB, ...matchers: Matcher[]): Promise<Map<string, Sample[]>> {
  const q = await db.querier(-Infinity, Infinity);
  const out = new Map<string, Sample[]>();
  try {
    const set = q.select(true, null, matchers);
    while (set.next()) {
      const s = set.at();
      const it = s.iterator();
      const samples: Sample[] = [];
      while (it.next() !== 0) samples.push({ t: it.atT(), v: it.atV() });
      out.set(s.labels.toString(), samples);
    }
  } finally {
    q.close();
  }
  return out;
}

/** Samples of the one series named `name` on `instance`. */
async function samplesOf(db: DB, name: string, instance?: string): Promise<Sample[]> {
  const ms = [new Matcher('=', '__name__', name)];
  if (instance) ms.push(new Matcher('=', 'instance', instance));
  const got = await read(db, ...ms);
  assert.ok(got.size <= 1, `one series ${name} expected, got ${[...got.keys()].join(' ')}`);
  return [...got.values()][0] ?? [];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A DB in a temp dir and a scrape manager over it with one job from `jobYaml`. */
async function harness(
  jobYaml: string,
): Promise<{ db: DB; manager: ScrapeManager; done: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'scrape-test-'));
  const db = await openDB(dir, { logger: () => {} });
  const manager = new ScrapeManager(db, { userAgent: 'meshmetrics/test', jitterSeed: 0 });
  const cfg = loadConfig(
    `global:\n  scrape_interval: ${INTERVAL}ms\n  scrape_timeout: 150ms\nscrape_configs:\n${jobYaml}`,
    'scrape-test.yml',
  );
  manager.applyConfig(cfg);
  return {
    db,
    manager,
    done: async () => {
      await manager.stop({ staleness: false });
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function group(
  source: string,
  targets: Record<string, string>[],
  labels: Record<string, string> = {},
): TargetGroup {
  return { source, targets, labels };
}

function sets(
  job: string,
  targets: Record<string, string>[],
  labels: Record<string, string> = {},
): TargetSets {
  return new Map([[job, [group('0', targets, labels)]]]);
}

function groups(job: string, ...addresses: string[]): TargetSets {
  return sets(
    job,
    addresses.map((a) => ({ __address__: a })),
  );
}

let srv: TargetServer;
before(async () => {
  srv = await startTargets();
});
after(() => srv.close());

describe('scrape loop', () => {
  test('sends Prometheus 2.42 headers and stores samples with target labels and report series', async (t) => {
    srv.set('/basic', {
      body: (n) => `# TYPE reqs counter\nreqs{code="200"} ${n}\nreqs{code="500"} 1\ntemp 21.5\n`,
    });
    const h = await harness(`- job_name: basic\n  metrics_path: /basic\n`);
    t.after(h.done);
    h.manager.sync(groups('basic', srv.address));
    await waitUntil('3 scrapes', () => srv.requestsFor('/basic').length >= 3);
    await sleep(50);
    const req = srv.requestsFor('/basic')[0];
    assert.equal(
      req.headers.accept,
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    );
    assert.equal(req.headers['accept-encoding'], 'gzip');
    assert.equal(req.headers['user-agent'], 'meshmetrics/test');
    assert.equal(req.headers['x-prometheus-scrape-timeout-seconds'], '0.15');

    const reqs = await read(h.db, new Matcher('=', '__name__', 'reqs'));
    assert.deepEqual(
      [...reqs.keys()],
      [
        `{__name__="reqs", code="200", instance="${srv.address}", job="basic"}`,
        `{__name__="reqs", code="500", instance="${srv.address}", job="basic"}`,
      ],
    );
    const up = await samplesOf(h.db, 'up');
    assert.ok(up.length >= 3 && up.every((s) => s.v === 1));
    const ok200 = reqs.get(
      `{__name__="reqs", code="200", instance="${srv.address}", job="basic"}`,
    )!;
    // One timestamp per scrape, shared by samples and report series.
    assert.deepEqual(
      ok200.map((s) => s.t),
      up.slice(0, ok200.length).map((s) => s.t),
    );
    assert.deepEqual(
      ok200.slice(0, 3).map((s) => s.v),
      [1, 2, 3],
    );
    const scraped = await samplesOf(h.db, 'scrape_samples_scraped');
    assert.ok(scraped.every((s) => s.v === 3));
    const added = await samplesOf(h.db, 'scrape_series_added');
    assert.deepEqual(
      added.slice(0, 3).map((s) => s.v),
      [3, 0, 0],
    );
    const post = await samplesOf(h.db, 'scrape_samples_post_metric_relabeling');
    assert.ok(post.every((s) => s.v === 3));
    const dur = await samplesOf(h.db, 'scrape_duration_seconds');
    assert.ok(dur.every((s) => s.v >= 0 && s.v < 0.15));

    const [pool] = h.manager.targets();
    assert.equal(pool.scrapePool, 'basic');
    assert.equal(pool.active.length, 1);
    assert.equal(pool.active[0].health, 'up');
    assert.equal(pool.active[0].scrapeUrl, `http://${srv.address}/basic`);
    assert.equal(pool.active[0].labels.toString(), `{instance="${srv.address}", job="basic"}`);
    assert.equal(pool.active[0].discoveredLabels.get('__metrics_path__'), '/basic');
  });

  test('reads a gzipped Linkerd body and an OpenMetrics body; a warm scrape hits the cache only', async (t) => {
    const linkerd = linkerdProxyBody({ seed: 3 });
    srv.set('/linkerd', { body: (n) => linkerdProxyBody({ seed: 3, scrape: n }), gzip: true });
    srv.set('/om', {
      body: '# TYPE build info\nbuild_info{version="1.2"} 1\n# TYPE rpc counter\nrpc_total 17\nrpc_created 1.7e9\n# EOF\n',
      contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
    });
    const h = await harness(`- job_name: mesh\n  static_configs: []\n`);
    t.after(h.done);
    h.manager.sync(
      sets('mesh', [
        { __address__: srv.address, __metrics_path__: '/linkerd', instance: 'linkerd' },
        { __address__: srv.address, __metrics_path__: '/om', instance: 'om' },
      ]),
    );
    await waitUntil(
      '3 scrapes each',
      () => srv.requestsFor('/linkerd').length >= 3 && srv.requestsFor('/om').length >= 2,
    );
    await sleep(50);
    const lines = linkerd.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    const notReport = new Matcher(
      '!~',
      '__name__',
      'up|scrape_(duration_seconds|samples_scraped|samples_post_metric_relabeling|series_added)',
    );
    const fromLinkerd = await read(h.db, new Matcher('=', 'instance', 'linkerd'), notReport);
    assert.equal(fromLinkerd.size, lines);
    const om = await read(h.db, new Matcher('=', 'instance', 'om'), notReport);
    assert.deepEqual(
      [...om.keys()],
      [
        '{__name__="build_info", instance="om", job="mesh", version="1.2"}',
        '{__name__="rpc_created", instance="om", job="mesh"}',
        '{__name__="rpc_total", instance="om", job="mesh"}',
      ],
    );
    // On a loaded machine a first scrape can time out (up 0, nothing added); the series
    // then arrive with the first scrape that succeeds, and every scrape after it is warm.
    const added = await read(h.db, new Matcher('=', '__name__', 'scrape_series_added'));
    for (const samples of added.values()) {
      const first = samples.findIndex((s) => s.v > 0);
      assert.ok(first >= 0, 'a scrape added the series');
      assert.ok(
        samples.slice(first + 1).every((s) => s.v === 0),
        'warm scrapes add no series',
      );
    }
    const loop = h.manager
      .pool('mesh')!
      .activeLoops()
      .find((l) => l.target.scrapeUrl.endsWith('/linkerd'))!;
    assert.equal(loop.cache.seriesCount, lines);
  });

  test('writes a stale marker at the next scrape when a series disappears', async (t) => {
    srv.set('/vanish', { body: (n) => (n <= 2 ? 'a 1\nb 1\n' : 'a 1\n') });
    const h = await harness(`- job_name: vanish\n  metrics_path: /vanish\n`);
    t.after(h.done);
    h.manager.sync(groups('vanish', srv.address));
    await waitUntil('4 scrapes', () => srv.requestsFor('/vanish').length >= 4);
    await sleep(50);
    const up = await samplesOf(h.db, 'up');
    const b = await samplesOf(h.db, 'b');
    assert.equal(b.length, 3);
    assert.deepEqual(
      b.slice(0, 2).map((s) => s.v),
      [1, 1],
    );
    assert.ok(isStaleNaN(b[2].v), 'third sample is the stale marker');
    assert.equal(b[2].t, up[2].t, 'marker at the timestamp of the scrape that missed it');
    const a = await samplesOf(h.db, 'a');
    assert.ok(a.every((s) => s.v === 1));
  });

  test('a body that fails to parse rolls back the scrape, writes up=0 and stale markers', async (t) => {
    srv.set('/bad', { body: (n) => (n === 3 ? 'a 1\nb 2\nc 0x10\nd 4\n' : 'a 1\nb 2\n') });
    const h = await harness(`- job_name: bad\n  metrics_path: /bad\n`);
    t.after(h.done);
    h.manager.sync(groups('bad', srv.address));
    await waitUntil('4 scrapes', () => srv.requestsFor('/bad').length >= 4);
    await sleep(50);
    const up = await samplesOf(h.db, 'up');
    assert.deepEqual(
      up.slice(0, 4).map((s) => s.v),
      [1, 1, 0, 1],
    );
    const failedAt = up[2].t;
    for (const name of ['a', 'b']) {
      const s = await samplesOf(h.db, name);
      const at = s.find((x) => x.t === failedAt);
      assert.ok(at && isStaleNaN(at.v), `${name} has a stale marker at the failed scrape`);
      assert.equal(
        s.find((x) => x.t === up[3].t)?.v,
        name === 'a' ? 1 : 2,
        `${name} is back after`,
      );
    }
    assert.equal((await samplesOf(h.db, 'd')).length, 0, 'nothing of the failed scrape is stored');
    const scraped = await samplesOf(h.db, 'scrape_samples_scraped');
    assert.equal(scraped.find((s) => s.t === failedAt)?.v, 2, 'samples parsed before the error');
  });

  test('a removed target writes stale markers for its series and report series about two intervals later', async (t) => {
    srv.set('/gone', { body: 'g 1\n' });
    const h = await harness(`- job_name: gone\n  metrics_path: /gone\n`);
    t.after(h.done);
    h.manager.sync(groups('gone', srv.address));
    await waitUntil('2 scrapes', () => srv.requestsFor('/gone').length >= 2);
    await sleep(30);
    h.manager.sync(groups('gone'));
    assert.equal(h.manager.targets()[0].active.length, 0);
    const removedAt = Date.now();
    await waitUntil(
      'up marker',
      async () => {
        const up = await samplesOf(h.db, 'up');
        return up.length > 0 && isStaleNaN(up[up.length - 1].v);
      },
      3000,
    );
    assert.ok(Date.now() - removedAt >= INTERVAL, 'markers wait for the target to come back');
    const up = await samplesOf(h.db, 'up');
    const last = up[up.length - 1];
    assert.equal(last.t, up[up.length - 2].t + INTERVAL, 'stamped at the next scrape time');
    for (const name of [
      'g',
      'scrape_duration_seconds',
      'scrape_samples_scraped',
      'scrape_series_added',
    ]) {
      const s = await samplesOf(h.db, name);
      assert.ok(isStaleNaN(s[s.length - 1].v), `${name} is stale`);
      assert.equal(s[s.length - 1].t, last.t);
    }
  });

  test('a hanging target times out with up=0 and never delays the others', async (t) => {
    srv.set('/hang', { hang: true });
    srv.set('/fast', { body: 'f 1\n' });
    srv.set('/reset', { reset: true });
    srv.set('/status', { status: 503, body: 'no\n' });
    srv.set('/truncated', {
      body: linkerdProxyBody({ seed: 5 }),
      gzip: true,
      truncateAfterBytes: 2000,
    });
    const dead = await deadAddress();
    const h = await harness(`- job_name: mixed\n`);
    t.after(h.done);
    h.manager.sync(
      sets('mixed', [
        { __address__: srv.address, __metrics_path__: '/hang', instance: 'hang' },
        { __address__: srv.address, __metrics_path__: '/fast', instance: 'fast' },
        { __address__: srv.address, __metrics_path__: '/reset', instance: 'reset' },
        { __address__: srv.address, __metrics_path__: '/status', instance: 'status' },
        { __address__: srv.address, __metrics_path__: '/truncated', instance: 'truncated' },
        { __address__: dead, instance: 'dead' },
      ]),
    );
    await sleep(INTERVAL * 7);
    const fast = srv.requestsFor('/fast').map((r) => r.atMs);
    assert.ok(fast.length >= 5, `fast target scraped ${fast.length} times`);
    for (let i = 1; i < fast.length; i++) {
      const gap = fast[i] - fast[i - 1];
      assert.ok(
        gap > INTERVAL * 0.5 && gap < INTERVAL * 1.6,
        `gap ${gap}ms between scrapes of the fast target`,
      );
    }
    const byUrl = new Map(h.manager.targets()[0].active.map((a) => [a.scrapeUrl, a]));
    const expectErr: [string, RegExp][] = [
      [`http://${srv.address}/hang`, /timed out after 150ms/],
      [`http://${srv.address}/reset`, /": EOF$|socket hang up|ECONNRESET/], // EOF: Prometheus's wording
      [`http://${srv.address}/status`, /server returned HTTP status 503/],
      [`http://${srv.address}/truncated`, /cannot read body|connection closed while reading body/],
      [`http://${dead}/metrics`, /ECONNREFUSED/],
    ];
    for (const [url, re] of expectErr) {
      const a = byUrl.get(url)!;
      assert.equal(a.health, 'down', url);
      assert.match(a.lastError, re, url);
    }
    assert.equal(byUrl.get(`http://${srv.address}/fast`)!.health, 'up');
    const ups = await read(h.db, new Matcher('=', '__name__', 'up'));
    assert.equal(ups.size, 6);
    for (const [k, s] of ups) {
      const want = k.includes('instance="fast"') ? 1 : 0;
      assert.ok(s.length >= 2 && s.every((x) => x.v === want), `${k}: ${JSON.stringify(s)}`);
    }
  });

  test('honor_labels false renames clashes with exported_ prefixes; true keeps exposed values', async (t) => {
    srv.set('/clash', { body: 'm{job="x",instance="y",exported_job="z"} 1\nn{zone="a"} 2\n' });
    const h = await harness(
      `- job_name: dishonest\n  metrics_path: /clash\n- job_name: honest\n  metrics_path: /clash\n  honor_labels: true\n`,
    );
    t.after(h.done);
    h.manager.sync(
      new Map([
        [
          'dishonest',
          [{ source: '0', targets: [{ __address__: srv.address }], labels: { zone: 'z1' } }],
        ],
        [
          'honest',
          [{ source: '0', targets: [{ __address__: srv.address }], labels: { zone: 'z1' } }],
        ],
      ]),
    );
    await waitUntil('2 scrapes', () => srv.requestsFor('/clash').length >= 4);
    await sleep(50);
    const m = await read(h.db, new Matcher('=~', '__name__', 'm|n'));
    const keys = [...m.keys()].sort();
    assert.deepEqual(keys, [
      `{__name__="m", exported_exported_job="x", exported_instance="y", exported_job="z", instance="${srv.address}", job="dishonest", zone="z1"}`,
      `{__name__="m", exported_job="z", instance="y", job="x", zone="z1"}`,
      `{__name__="n", exported_zone="a", instance="${srv.address}", job="dishonest", zone="z1"}`,
      `{__name__="n", instance="${srv.address}", job="honest", zone="a"}`,
    ]);
  });

  test('honor_timestamps keeps exposed timestamps (no markers for them) or replaces them', async (t) => {
    const ts = Date.now() - 60_000;
    srv.set('/ts', { body: (n) => (n <= 2 ? `old ${n} ${ts + n}\nnow 1\n` : 'now 1\n') });
    srv.set('/ts2', { body: `old 5 ${ts}\n` });
    const h = await harness(
      `- job_name: ts\n  metrics_path: /ts\n- job_name: ts2\n  metrics_path: /ts2\n  honor_timestamps: false\n`,
    );
    t.after(h.done);
    h.manager.sync(new Map([...groups('ts', srv.address), ...groups('ts2', srv.address)]));
    await waitUntil(
      '4 scrapes',
      () => srv.requestsFor('/ts').length >= 4 && srv.requestsFor('/ts2').length >= 2,
    );
    await sleep(50);
    const old = await read(h.db, new Matcher('=', '__name__', 'old'));
    const honoured = old.get(`{__name__="old", instance="${srv.address}", job="ts"}`)!;
    assert.deepEqual(
      honoured,
      [
        { t: ts + 1, v: 1 },
        { t: ts + 2, v: 2 },
      ],
      'exposed timestamps kept, and no stale marker when the series goes',
    );
    const replaced = old.get(`{__name__="old", instance="${srv.address}", job="ts2"}`)!;
    assert.ok(replaced.length >= 2 && replaced.every((s) => s.t > ts + 30_000), 'scrape time used');
  });

  test('repeated series in one scrape keep the first value; out-of-bounds samples are dropped, up stays 1', async (t) => {
    srv.set('/dup', {
      body: (n) => (n === 1 ? 'ok 1\n' : 'd 1\nd 2\nd{} 3\nancient 1 1000\nok 1\n'),
    });
    const h = await harness(`- job_name: dup\n  metrics_path: /dup\n`);
    t.after(h.done);
    h.manager.sync(groups('dup', srv.address));
    await waitUntil('3 scrapes', () => srv.requestsFor('/dup').length >= 3);
    await sleep(50);
    const d = await samplesOf(h.db, 'd');
    assert.ok(d.length >= 2 && d.every((s) => s.v === 1), JSON.stringify(d));
    assert.equal((await samplesOf(h.db, 'ancient')).length, 0);
    assert.ok((await samplesOf(h.db, 'up')).every((s) => s.v === 1));
    assert.ok((await samplesOf(h.db, 'scrape_samples_scraped')).slice(1).every((s) => s.v === 5));
    assert.ok(h.manager.metrics.sampleDuplicateTimestamp >= 4);
    assert.ok(h.manager.metrics.sampleOutOfBounds >= 2);
  });

  test('metric_relabel_configs run on first sight only and feed scrape_samples_post_metric_relabeling', async (t) => {
    srv.set('/mr', { body: 'keep_me{x="1"} 1\ndrop_me 2\nrename{pod="p"} 3\n' });
    const h = await harness(
      `- job_name: mr\n  metrics_path: /mr\n  metric_relabel_configs:\n  - source_labels: [__name__]\n    regex: drop_.*\n    action: drop\n  - source_labels: [pod]\n    target_label: workload\n  - regex: pod\n    action: labeldrop\n`,
    );
    t.after(h.done);
    h.manager.sync(groups('mr', srv.address));
    await waitUntil('3 scrapes', () => srv.requestsFor('/mr').length >= 3);
    await sleep(50);
    const all = await read(
      h.db,
      new Matcher('=', 'job', 'mr'),
      new Matcher('!~', '__name__', 'up|scrape_.*'),
    );
    assert.deepEqual(
      [...all.keys()],
      [
        `{__name__="keep_me", instance="${srv.address}", job="mr", x="1"}`,
        `{__name__="rename", instance="${srv.address}", job="mr", workload="p"}`,
      ],
    );
    assert.ok((await samplesOf(h.db, 'scrape_samples_scraped')).every((s) => s.v === 3));
    assert.ok(
      (await samplesOf(h.db, 'scrape_samples_post_metric_relabeling')).every((s) => s.v === 2),
    );
  });

  test('sends basic_auth and authorization credentials, from the config or a file', async (t) => {
    srv.set('/auth', { body: 'x 1\n' });
    srv.set('/auth2', { body: 'x 1\n' });
    srv.set('/auth3', { body: 'x 1\n' });
    const dir = mkdtempSync(join(tmpdir(), 'scrape-auth-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const credFile = join(dir, 'token');
    writeFileSync(credFile, 'from-file\n');
    const h = await harness(
      `- job_name: basic\n  metrics_path: /auth\n  basic_auth:\n    username: mesh\n    password: s3cret\n` +
        `- job_name: bearer\n  metrics_path: /auth2\n  authorization:\n    credentials: tok\n` +
        `- job_name: file\n  metrics_path: /auth3\n  authorization:\n    type: Token\n    credentials_file: ${credFile}\n`,
    );
    t.after(h.done);
    h.manager.sync(
      new Map([
        ...groups('basic', srv.address),
        ...groups('bearer', srv.address),
        ...groups('file', srv.address),
      ]),
    );
    await waitUntil('scrapes', () =>
      ['/auth', '/auth2', '/auth3'].every((p) => srv.requestsFor(p).length >= 1),
    );
    assert.equal(
      srv.requestsFor('/auth')[0].headers.authorization,
      'Basic ' + Buffer.from('mesh:s3cret').toString('base64'),
    );
    assert.equal(srv.requestsFor('/auth2')[0].headers.authorization, 'Bearer tok');
    assert.equal(srv.requestsFor('/auth3')[0].headers.authorization, 'Token from-file');
  });

  test('relabel_configs drop targets (listed as dropped) and target_limit fails the pool', async (t) => {
    srv.set('/tl', { body: 'x 1\n' });
    const h = await harness(
      `- job_name: tl\n  metrics_path: /tl\n  target_limit: 1\n  relabel_configs:\n  - source_labels: [team]\n    regex: drop\n    action: drop\n`,
    );
    t.after(h.done);
    const dead = await deadAddress();
    h.manager.sync(
      new Map([
        [
          'tl',
          [
            group('a', [{ __address__: srv.address }, { __address__: dead }]),
            group('b', [{ __address__: '127.0.0.1:1' }], { team: 'drop' }),
          ],
        ],
      ]),
    );
    await waitUntil('failed scrapes', () =>
      h.manager.targets()[0].active.every((a) => a.health === 'down'),
    );
    const [pool] = h.manager.targets();
    assert.equal(pool.active.length, 2);
    assert.equal(pool.dropped.length, 1);
    assert.equal(pool.dropped[0].discoveredLabels.get('team'), 'drop');
    for (const a of pool.active)
      assert.equal(a.lastError, 'target_limit exceeded (number of targets: 2, limit: 1)');
    assert.equal(srv.requestsFor('/tl').length, 0, 'no target is scraped');
    const rows = h.manager.metrics.rows();
    assert.equal(rows.find((r) => r.name === 'prometheus_target_scrape_pool_targets')?.value, 2);
  });
});

describe('scrape limits', () => {
  const big = Array.from({ length: 20 }, (_, i) => `s${i} ${i}`).join('\n') + '\n';
  const cases: { name: string; yaml: string; body: string; error: RegExp }[] = [
    {
      name: 'sample_limit',
      yaml: 'sample_limit: 10',
      body: big,
      error: /^sample_limit exceeded: 20 samples after metric relabeling, limit 10$/,
    },
    {
      name: 'body_size_limit',
      yaml: 'body_size_limit: 100B',
      body: big,
      error: /^body size limit exceeded: read \d+ bytes, limit 100$/,
    },
    {
      name: 'label_limit',
      yaml: 'label_limit: 3',
      body: 'm{a="1",b="2"} 1\n',
      error: /^label_limit exceeded \(metric: m, number of labels: 5, limit: 3\)$/,
    },
    {
      name: 'label_name_length_limit',
      yaml: 'label_name_length_limit: 8',
      body: 'm{very_long_name="1"} 1\n',
      error:
        /^label_name_length_limit exceeded \(metric: m, label name: very_long_name, length: 14, limit: 8\)$/,
    },
    {
      name: 'label_value_length_limit',
      yaml: 'label_value_length_limit: 20',
      body: 'm{v="abcdefghijklmnopqrstuvwxyz"} 1\n',
      error:
        /^label_value_length_limit exceeded \(metric: m, label name: v, value: "abcdefghijklmnopqrstuvwxyz", length: 26, limit: 20\)$/,
    },
  ];
  for (const tc of cases) {
    test(`${tc.name} fails the whole scrape with the value and the limit`, async (t) => {
      const path = `/limit-${tc.name}`;
      srv.set(path, { body: (n) => (n === 1 ? 'first 1\n' : tc.body) });
      const h = await harness(`- job_name: lim\n  metrics_path: ${path}\n  ${tc.yaml}\n`);
      t.after(h.done);
      h.manager.sync(groups('lim', srv.address));
      await waitUntil('3 scrapes', () => srv.requestsFor(path).length >= 3);
      await sleep(50);
      const [a] = h.manager.targets()[0].active;
      assert.equal(a.health, 'down');
      assert.match(a.lastError, tc.error);
      const up = await samplesOf(h.db, 'up');
      assert.deepEqual(
        up.slice(0, 3).map((s) => s.v),
        [1, 0, 0],
      );
      const first = await samplesOf(h.db, 'first');
      assert.ok(isStaleNaN(first[1].v), 'stale marker for the last good series');
      const all = await read(h.db, new Matcher('=~', '__name__', 's[0-9]+|m'));
      assert.equal(all.size, 0, 'nothing of the failed scrapes is stored');
    });
  }
});

describe('target', () => {
  test('offsets spread targets over the interval and are stable', () => {
    const offsets = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const l = Labels.from({ job: 'j', instance: `10.0.0.${i}:4191` });
      const tg = new Target(l, l, l, 1000, 500);
      const off = tg.offsetMs(1_700_000_000_123, 42);
      assert.ok(off >= 0 && off < 1000);
      assert.equal(tg.offsetMs(1_700_000_000_123, 42), off);
      // The absolute scrape time modulo the interval does not depend on when we start.
      assert.equal(
        (1_700_000_000_123 + off) % 1000,
        (1_700_000_000_700 + tg.offsetMs(1_700_000_000_700, 42)) % 1000,
      );
      offsets.add(Math.floor(off / 100));
    }
    assert.ok(offsets.size >= 7, `50 targets land in ${offsets.size} of 10 tenths of the interval`);
  });
});
