import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/index.js';
import type { ScrapeConfig } from '../config/index.js';
import { DiscoveryManager } from './manager.js';
import type { TargetSets } from './manager.js';
import { silentLogger } from './target-group.js';
import type { Discoverer, TargetGroup } from './target-group.js';
import { waitUntil } from '../../test/support/wait.js';

function scrapeConfigs(yaml: string): ScrapeConfig[] {
  return loadConfig(yaml, 'c.yml').scrapeConfigs;
}

function flat(sets: TargetSets): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [job, groups] of sets)
    out[job] = groups.flatMap((g) => g.targets.map((t) => t.__address__));
  return out;
}

test('static configs: one group per entry, sources 0, 1, …', async (t) => {
  const m = new DiscoveryManager({ updateIntervalMs: 10, logger: silentLogger });
  t.after(() => m.stop());
  const updates: TargetSets[] = [];
  m.subscribe((s) => updates.push(s));
  m.applyConfig(
    scrapeConfigs(
      'scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [x:1, y:2]\n        labels: {env: prod}\n      - targets: [z:3]\n',
    ),
  );
  await waitUntil(
    'an update',
    () => updates.length > 0 && (updates.at(-1)!.get('a')?.length ?? 0) === 2,
  );
  assert.deepEqual(updates.at(-1)!.get('a'), [
    {
      source: '0',
      targets: [{ __address__: 'x:1' }, { __address__: 'y:2' }],
      labels: { env: 'prod' },
    },
    { source: '1', targets: [{ __address__: 'z:3' }], labels: {} },
  ]);
});

/** A discoverer driven by the test. */
class Pushed implements Discoverer {
  up: ((g: TargetGroup[]) => void) | null = null;
  started = 0;
  stopped = 0;
  async run(signal: AbortSignal, up: (g: TargetGroup[]) => void): Promise<void> {
    this.started++;
    this.up = up;
    await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    this.stopped++;
  }
  send(source: string, ...addrs: string[]): void {
    this.up!([{ source, targets: addrs.map((a) => ({ __address__: a })), labels: {} }]);
  }
}

test('updates are throttled to one per interval and carry the full set per job', async (t) => {
  const d = new Pushed();
  const m = new DiscoveryManager({
    updateIntervalMs: 200,
    logger: silentLogger,
    discoverersFor: () => [d],
  });
  t.after(() => m.stop());
  const updates: TargetSets[] = [];
  m.subscribe((s) => updates.push(s));
  m.applyConfig(scrapeConfigs('scrape_configs:\n  - job_name: a\n'));
  await waitUntil('the first update', () => updates.length === 1 && d.up !== null);
  const t0 = Date.now();
  for (let i = 0; i < 20; i++) d.send(`s${i}`, `h${i}:1`);
  d.send('s0'); // an empty group removes the source
  await waitUntil('the second update', () => updates.length === 2);
  assert.ok(Date.now() - t0 >= 150, 'the burst waited for the interval');
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(updates.length, 2, 'one update for the whole burst');
  assert.equal(flat(updates[1]).a.length, 19);
  assert.equal(m.metrics.receivedUpdatesTotal, 21);
  assert.equal(m.metrics.discoveredTargets.a, 19);
});

test('a reload keeps discoverers whose config is unchanged and restarts the others', async (t) => {
  const made = new Map<string, Pushed[]>();
  const m = new DiscoveryManager({
    updateIntervalMs: 10,
    logger: silentLogger,
    discoverersFor: (sc) => {
      const d = new Pushed();
      made.set(sc.jobName, [...(made.get(sc.jobName) ?? []), d]);
      return [d];
    },
  });
  t.after(() => m.stop());
  let last: TargetSets = new Map();
  m.subscribe((s) => (last = s));
  const v1 =
    'scrape_configs:\n' +
    '  - job_name: keep\n    static_configs: [{targets: [a:1]}]\n' +
    '  - job_name: change\n    static_configs: [{targets: [b:1]}]\n' +
    '  - job_name: gone\n';
  m.applyConfig(scrapeConfigs(v1));
  await waitUntil(
    'discoverers',
    () => made.size === 3 && [...made.values()].every((ds) => ds[0].up !== null),
  );
  made.get('keep')![0].send('x', 'keep:1');
  made.get('change')![0].send('x', 'change:1');
  made.get('gone')![0].send('x', 'gone:1');
  await waitUntil(
    'targets',
    () => Object.keys(flat(last)).length === 3 && flat(last).gone?.length === 1,
  );

  // Same discovery for "keep" (other settings changed), new targets for "change", "gone" removed.
  const v2 =
    'scrape_configs:\n' +
    '  - job_name: keep\n    scrape_interval: 5s\n    static_configs: [{targets: [a:1]}]\n' +
    '  - job_name: change\n    static_configs: [{targets: [b:2]}]\n';
  m.applyConfig(scrapeConfigs(v2));
  await waitUntil('the reload', () => !last.has('gone') && made.get('change')!.length === 2);
  assert.equal(made.get('keep')!.length, 1, 'keep was not restarted');
  assert.equal(made.get('keep')![0].stopped, 0);
  assert.equal(made.get('change')![0].stopped, 1);
  assert.equal(made.get('gone')![0].stopped, 1);
  assert.deepEqual(flat(last), { keep: ['keep:1'], change: [] });
  // The old "change" discoverer can no longer publish.
  made.get('change')![0].up!([{ source: 'y', targets: [{ __address__: 'stale:1' }], labels: {} }]);
  made.get('change')![1].send('x', 'change:2');
  await waitUntil('the new discoverer', () => flat(last).change?.[0] === 'change:2');
  assert.deepEqual(flat(last).change, ['change:2']);
});

test('a failing discoverer is counted and logged, and the others carry on', async (t) => {
  const logged: string[] = [];
  const ok = new Pushed();
  const failing: Discoverer = {
    run: async () => {
      throw new Error('boom');
    },
  };
  const m = new DiscoveryManager({
    updateIntervalMs: 10,
    logger: (_level, msg, fields) => logged.push(`${msg} ${JSON.stringify(fields)}`),
    discoverersFor: () => [failing, ok],
  });
  t.after(() => m.stop());
  let last: TargetSets = new Map();
  m.subscribe((s) => (last = s));
  m.applyConfig(scrapeConfigs('scrape_configs:\n  - job_name: a\n'));
  await waitUntil('the failure', () => m.metrics.discovererFailuresTotal === 1 && ok.up !== null);
  ok.send('s', 'h:1');
  await waitUntil('the other targets', () => flat(last).a?.length === 1);
  assert.match(logged[0], /Discoverer failed .*"job":"a".*boom/);
});

test('stop ends every discoverer and no update follows', async () => {
  const d = new Pushed();
  const m = new DiscoveryManager({
    updateIntervalMs: 10,
    logger: silentLogger,
    discoverersFor: () => [d],
  });
  let n = 0;
  m.subscribe(() => n++);
  m.applyConfig(scrapeConfigs('scrape_configs:\n  - job_name: a\n'));
  await waitUntil('start', () => d.up !== null);
  await m.stop();
  assert.equal(d.stopped, 1);
  const before = n;
  d.up!([{ source: 's', targets: [{ __address__: 'x:1' }], labels: {} }]);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(n, before);
  assert.throws(() => m.applyConfig([]), /stopped/);
});
