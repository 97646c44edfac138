/**
 * The collector command: flags, the in-process wiring (config → discovery → scrape → DB),
 * reload with a changed and with a broken file, clean shutdown with stale markers, and
 * the real process with SIGHUP and SIGTERM.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DEFAULT_COLLECTOR_OPTIONS,
  parseCollectorFlags,
  startCollector,
} from '../src/cmd/collector.js';
import { Matcher } from '../src/model/matcher.js';
import { isStaleNaN } from '../src/model/stale.js';
import { openDB, type DB } from '../src/tsdb/db.js';
import { startTargets, type TargetServer } from './fixtures/targets.js';
import { waitUntil } from './support/wait.js';

interface Sample {
  t: number;
  v: number;
}

async function read(db: DB, ...matchers: Matcher[]): Promise<Map<string, Sample[]>> {
  const q = await db.querier(-Infinity, Infinity);
  const out = new Map<string, Sample[]>();
  try {
    const set = q.select(true, null, matchers);
    while (set.next()) {
      const it = set.at().iterator();
      const samples: Sample[] = [];
      while (it.next() !== 0) samples.push({ t: it.atT(), v: it.atV() });
      out.set(set.at().labels.toString(), samples);
    }
  } finally {
    q.close();
  }
  return out;
}

function configYaml(
  jobs: { name: string; path: string; interval?: string }[],
  address: string,
): string {
  let y = 'global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\nscrape_configs:\n';
  for (const j of jobs) {
    y += `  - job_name: ${j.name}\n    metrics_path: ${j.path}\n`;
    if (j.interval) y += `    scrape_interval: ${j.interval}\n`;
    y += `    static_configs:\n      - targets: ['${address}']\n`;
  }
  return y;
}

let srv: TargetServer;
before(async () => {
  srv = await startTargets();
  srv.set('/one', { body: (n) => `one_total ${n}\n` });
  srv.set('/two', { body: 'two 2\n' });
});
after(() => srv.close());

describe('collector flags', () => {
  const cases: {
    args: string[];
    want?: Partial<typeof DEFAULT_COLLECTOR_OPTIONS>;
    error?: RegExp;
  }[] = [
    {
      args: [],
      want: { configFile: 'meshmetrics.yml', dataDir: 'data/', listenAddress: '127.0.0.1:9090' },
    },
    {
      args: ['--config.file=a.yml', '--storage.tsdb.path', '/tmp/d'],
      want: { configFile: 'a.yml', dataDir: '/tmp/d' },
    },
    { args: ['--storage.tsdb.retention.time=15d'], want: { retentionTimeMs: 15 * 86_400_000 } },
    { args: ['--storage.tsdb.retention.size=512MB'], want: { retentionSizeBytes: 512 * 2 ** 20 } },
    {
      args: ['--web.listen-address=0.0.0.0:9091', '--web.enable-lifecycle'],
      want: { listenAddress: '0.0.0.0:9091', enableLifecycle: true },
    },
    {
      args: ['--web.enable-admin-api=false', '--web.enable-remote-write-receiver'],
      want: { enableAdminApi: false, enableRemoteWriteReceiver: true },
    },
    {
      args: ['--query.lookback-delta=1m', '--query.max-samples=10'],
      want: { queryLookbackDeltaMs: 60_000, queryMaxSamples: 10 },
    },
    {
      args: ['--storage.tsdb.retention.time=soon'],
      error: /--storage.tsdb.retention.time: invalid duration "soon"/,
    },
    {
      args: ['--storage.tsdb.retention.size=12'],
      error: /--storage.tsdb.retention.size: invalid size "12"/,
    },
    { args: ['--web.enable-lifecycle=maybe'], error: /--web.enable-lifecycle: want true or false/ },
    { args: ['--no-such-flag=1'], error: /unknown flag --no-such-flag/ },
    { args: ['--config.file'], error: /--config.file: missing value/ },
    { args: ['stray'], error: /unexpected argument "stray"/ },
  ];
  for (const tc of cases) {
    test(`parses ${JSON.stringify(tc.args)}`, () => {
      if (tc.error) {
        assert.throws(() => parseCollectorFlags(tc.args), tc.error);
        return;
      }
      const got = parseCollectorFlags(tc.args);
      for (const [k, v] of Object.entries(tc.want ?? {}))
        assert.deepEqual(got[k as keyof typeof got], v, k);
    });
  }
});

describe('startCollector', () => {
  test('scrapes, reloads a changed file, refuses a broken one, and writes stale markers on stop', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'collector-test-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cfgFile = join(dir, 'meshmetrics.yml');
    writeFileSync(cfgFile, configYaml([{ name: 'one', path: '/one' }], srv.address));
    const logs: string[] = [];
    const c = await startCollector({
      configFile: cfgFile,
      dataDir: join(dir, 'data'),
      discoveryUpdateIntervalMs: 20,
      logWrite: (l) => logs.push(l),
    });
    let stopped = false;
    t.after(async () => {
      if (!stopped) await c.stop();
    });
    await waitUntil(
      'one scraped',
      async () => (await read(c.db, new Matcher('=', '__name__', 'one_total'))).size === 1,
      8000,
    );

    // A changed file: job one scrapes less often, job two appears.
    writeFileSync(
      cfgFile,
      configYaml(
        [
          { name: 'one', path: '/one', interval: '400ms' },
          { name: 'two', path: '/two' },
        ],
        srv.address,
      ),
    );
    assert.equal(await c.reload(), true);
    await waitUntil(
      'two scraped',
      async () => (await read(c.db, new Matcher('=', '__name__', 'two'))).size === 1,
      8000,
    );
    const pools = c.scrapeManager.targets();
    assert.deepEqual(
      pools.map((p) => p.scrapePool),
      ['one', 'two'],
    );
    assert.equal(pools[0].active[0].scrapeIntervalMs, 400);

    // A broken file is refused with file:line, and the running configuration stays.
    writeFileSync(cfgFile, 'scrape_configs:\n  - job_name: x\n    scrape_interval: often\n');
    assert.equal(await c.reload(), false);
    const errLine = logs.find((l) => l.includes('Error reloading config'));
    assert.ok(errLine, logs.join(''));
    assert.match(
      errLine,
      /^ts=\S+ level=error component=collector msg="Error reloading config" filename=\S+ err=".*meshmetrics\.yml:3:\d+: /,
    );
    assert.deepEqual(
      c.scrapeManager.targets().map((p) => p.scrapePool),
      ['one', 'two'],
    );
    assert.equal(c.config().scrapeConfigs.length, 2);

    await c.stop();
    stopped = true;
    // Reopen the data directory: the shutdown's stale markers reached the WAL.
    const db = await openDB(join(dir, 'data'), { logger: () => {} });
    try {
      const ups = await read(db, new Matcher('=', '__name__', 'up'));
      assert.equal(ups.size, 2);
      for (const [k, s] of ups) {
        assert.ok(s.length >= 2, k);
        assert.ok(isStaleNaN(s[s.length - 1].v), `${k} ends with a stale marker`);
        assert.ok(
          s.slice(0, -1).every((x) => x.v === 1),
          k,
        );
      }
      const one = [...(await read(db, new Matcher('=', '__name__', 'one_total'))).values()][0];
      assert.ok(isStaleNaN(one[one.length - 1].v));
    } finally {
      await db.close();
    }
  });

  test('a broken file at start is an error naming file and line', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'collector-test-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cfgFile = join(dir, 'bad.yml');
    writeFileSync(cfgFile, 'global:\n  scrape_interval: 1x\n');
    await assert.rejects(
      startCollector({ configFile: cfgFile, dataDir: join(dir, 'data') }),
      /bad\.yml:2:\d+/,
    );
  });
});

describe('meshmetrics collector process', () => {
  test('reloads on SIGHUP and shuts down cleanly on SIGTERM', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'collector-proc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cfgFile = join(dir, 'meshmetrics.yml');
    writeFileSync(cfgFile, configYaml([{ name: 'one', path: '/one' }], srv.address));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./src/cmd/main.ts').then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })",
        'collector',
        `--config.file=${cfgFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        '--web.listen-address=127.0.0.1:0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const before = srv.requestsFor('/two').length;
    await waitUntil(
      'first load',
      () => stderr.includes('Completed loading of configuration file'),
      20_000,
    );
    await waitUntil('scrapes', () => srv.requestsFor('/one').length >= 2, 15_000);
    writeFileSync(
      cfgFile,
      configYaml(
        [
          { name: 'one', path: '/one' },
          { name: 'two', path: '/two' },
        ],
        srv.address,
      ),
    );
    child.kill('SIGHUP');
    // Discovery publishes at most every 5 s, as Prometheus's.
    await waitUntil(
      'job two scraped after SIGHUP',
      () => srv.requestsFor('/two').length > before,
      15_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; collector stderr:\n${stderr.slice(-3000)}`);
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /level=info component=collector msg="See you next time!"/);
    const db = await openDB(join(dir, 'data'), { logger: () => {} });
    try {
      const up = await read(db, new Matcher('=', '__name__', 'up'), new Matcher('=', 'job', 'two'));
      const s = [...up.values()][0];
      assert.ok(s.length >= 2 && isStaleNaN(s[s.length - 1].v));
    } finally {
      await db.close();
    }
  });
});
