import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileRelabelConfigs } from '../relabel/index.js';
import { Labels } from '../model/labels.js';
import { isStaleNaN } from '../model/stale.js';
import { ERR_NOT_FOUND, ERR_OUT_OF_ORDER_SAMPLE } from '../storage/errors.js';
import type { Appendable, Appender, SeriesRef } from '../storage/interface.js';
import { formatLogLine } from './log.js';
import { ScrapeLoop, type Fetcher } from './loop.js';
import { ScrapeMetrics } from './metrics.js';
import { Target, targetURL } from './target.js';

/** An in-memory store recording committed samples per label string; refs by label string. */
class MemStore implements Appendable {
  readonly samples = new Map<string, { t: number; v: number }[]>();
  private readonly refs = new Map<string, number>();
  private readonly byRef: (string | undefined)[] = [''];
  appends = 0;
  /** Appends that came without a ref (the store had to look the labels up). */
  appendsByLabels = 0;
  appender(): Appender {
    const batch: [string, number, number][] = [];
    return {
      append: (ref: SeriesRef, ls: Labels, t: number, v: number): SeriesRef => {
        this.appends++;
        if (ref === 0) this.appendsByLabels++;
        const known = ref > 0 ? this.byRef[ref] : undefined;
        if (ref > 0 && known === undefined && ls.size === 0) throw ERR_NOT_FOUND;
        const k = known ?? ls.toString();
        const last = this.samples.get(k)?.at(-1);
        if (last !== undefined && t < last.t) throw ERR_OUT_OF_ORDER_SAMPLE;
        batch.push([k, t, v]);
        let r = this.refs.get(k);
        if (r === undefined) {
          r = this.byRef.length;
          this.byRef.push(k);
          this.refs.set(k, r);
        }
        return r;
      },
      commit: async () => {
        for (const [k, t, v] of batch) {
          let s = this.samples.get(k);
          if (s === undefined) this.samples.set(k, (s = []));
          s.push({ t, v });
        }
      },
      rollback: () => {
        batch.length = 0;
      },
    };
  }

  /** Forgets every series ref (as a head that dropped its series); samples stay. */
  forget(): void {
    this.byRef.fill(undefined, 1);
    this.refs.clear();
  }
}

/** A body a test target answers with: text 0.0.4, or with its own content type. */
type TestBody = string | Error | { text: string; contentType: string };

/** A fetcher answering from a list of bodies (a string, or an Error to fail). */
function fetcher(bodies: TestBody[]): Fetcher {
  let i = 0;
  return {
    fetch: async () => {
      const b = bodies[Math.min(i++, bodies.length - 1)];
      if (b instanceof Error) throw b;
      if (typeof b !== 'string') return { body: Buffer.from(b.text), contentType: b.contentType };
      return { body: Buffer.from(b), contentType: 'text/plain; version=0.0.4' };
    },
  };
}

function newLoop(
  bodies: TestBody[],
  opts: { honorLabels?: boolean; metricRelabel?: string; fetcher?: Fetcher } = {},
) {
  const store = new MemStore();
  const labels = Labels.from({ job: 'j', instance: 'i:1' });
  const internal = Labels.from({
    job: 'j',
    instance: 'i:1',
    __address__: 'i:1',
    __scheme__: 'http',
    __metrics_path__: '/m',
  });
  let now = 1_000_000;
  const loop = new ScrapeLoop({
    target: new Target(labels, internal, internal, 1000, 500),
    appendable: store,
    fetcher: opts.fetcher ?? fetcher(bodies),
    honorLabels: opts.honorLabels ?? false,
    honorTimestamps: true,
    metricRelabel: opts.metricRelabel ? compileRelabelConfigs(JSON.parse(opts.metricRelabel)) : [],
    limits: { sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 },
    metrics: new ScrapeMetrics(),
    logger: () => {},
    jitterSeed: 0,
    now: () => (now += 1000),
  });
  return { loop, store };
}

const key = (name: string, extra = ''): string =>
  `{__name__="${name}", ${extra}instance="i:1", job="j"}`;

describe('ScrapeLoop', () => {
  test('a warm scrape appends by ref only, and a failure rolls back and marks the last good series stale', async () => {
    const { loop, store } = newLoop(['a 1\nb 2\n', 'a 3\nb 4\n', 'a 5\nb 0x1\n', 'a 7\n']);
    for (let i = 0; i < 4; i++) await loop.scrapeAndReport();
    assert.deepEqual(
      store.samples
        .get(key('a'))!
        .map((s) => s.v)
        .slice(0, 2),
      [1, 3],
    );
    const a = store.samples.get(key('a'))!;
    assert.ok(isStaleNaN(a[2].v), 'a stale at the failed scrape');
    assert.equal(a[3].v, 7);
    const b = store.samples.get(key('b'))!;
    assert.deepEqual(b.length, 3);
    assert.ok(isStaleNaN(b[2].v));
    assert.equal(b[2].t, a[2].t);
    assert.deepEqual(
      store.samples.get(key('up'))!.map((s) => s.v),
      [1, 1, 0, 1],
    );
    assert.deepEqual(
      store.samples.get(key('scrape_samples_scraped'))!.map((s) => s.v),
      [2, 2, 1, 1],
    );
    assert.equal(loop.target.health, 'up');
    assert.equal(loop.cache.seriesCount, 1, 'b evicted from the cache after the scrape without it');
  });

  test('metric metadata: TYPE, HELP and UNIT per family, updated by later scrapes, kept through failures', async () => {
    const scrapes: { body: TestBody; want: string[] }[] = [
      {
        body: '# HELP a Help of a.\n# TYPE a counter\na 1\n# TYPE b untyped\nb 2\n# HELP c C \\\\ \\n.\n',
        want: ['a counter "Help of a." ""', 'b unknown "" ""', 'c unknown "C \\\\ \\n." ""'],
      },
      {
        body: '# HELP a New help.\n# TYPE a gauge\na 1\n',
        want: ['a gauge "New help." ""', 'b unknown "" ""', 'c unknown "C \\\\ \\n." ""'],
      },
      {
        body: new Error('connection refused'),
        want: ['a gauge "New help." ""', 'b unknown "" ""', 'c unknown "C \\\\ \\n." ""'],
      },
      {
        body: {
          text: '# TYPE d gauge\n# UNIT d bytes\n# HELP d D.\nd 1\n# EOF\n',
          contentType: 'application/openmetrics-text; version=1.0.0',
        },
        want: [
          'a gauge "New help." ""',
          'b unknown "" ""',
          'c unknown "C \\\\ \\n." ""',
          'd gauge "D." "bytes"',
        ],
      },
    ];
    const { loop } = newLoop(scrapes.map((s) => s.body));
    for (let i = 0; i < scrapes.length; i++) {
      await loop.scrapeAndReport();
      const got = loop.cache.metadata
        .list()
        .map((m) => `${m.metric} ${m.type} ${JSON.stringify(m.help)} ${JSON.stringify(m.unit)}`);
      assert.deepEqual(got, scrapes[i].want, `scrape ${i + 1}`);
    }
  });

  test('one label set written two ways is one series: the first value stays, duplicates are counted', async () => {
    const cases: { name: string; bodies: string[]; duplicates: number[]; d: number[] }[] = [
      {
        name: 'both texts from the first scrape',
        bodies: ['d 1\nd{} 2\n', 'd 3\nd{} 4\n', 'd{} 5\n'],
        duplicates: [1, 1, 0],
        d: [1, 3, 5],
      },
      {
        name: 'second text appears once the first has a ref',
        bodies: ['d 1\n', 'd 2\nd{} 3\n', 'd 4\nd{} 5\n', 'd{} 6\n'],
        duplicates: [0, 1, 1, 0],
        d: [1, 2, 4, 6],
      },
    ];
    for (const tc of cases) {
      const { loop, store } = newLoop(tc.bodies);
      const dups: number[] = [];
      for (let i = 0; i < tc.bodies.length; i++) {
        await loop.scrapeAndReport();
        dups.push(loop.lastDuplicates);
        assert.equal(loop.cache.seriesCount, 1, `${tc.name}: scrape ${i + 1}`);
      }
      assert.deepEqual(dups, tc.duplicates, tc.name);
      // This store keeps every appended sample; the head keeps the first of a timestamp.
      const d = store.samples.get(key('d'))!;
      const firstPerT = d.filter((s, i) => i === 0 || d[i - 1].t !== s.t).map((s) => s.v);
      assert.deepEqual(firstPerT, tc.d, `${tc.name}: no stale marker while either text is there`);
    }
  });

  test('a series the storage dropped is appended again by labels rebuilt from the line', async () => {
    const { loop, store } = newLoop(['a 1\nb 1\n', 'a 2\nb 2\n', 'b 3\n']);
    await loop.scrapeAndReport();
    const byLabels = store.appendsByLabels;
    store.forget();
    await loop.scrapeAndReport();
    await loop.scrapeAndReport();
    assert.equal(loop.target.health, 'up');
    const a = store.samples.get(key('a'))!;
    assert.deepEqual(
      a.slice(0, 2).map((s) => s.v),
      [1, 2],
    );
    assert.ok(isStaleNaN(a[2].v), 'the re-created series goes stale');
    assert.deepEqual(
      store.samples.get(key('b'))!.map((s) => s.v),
      [1, 2, 3],
    );
    assert.ok(store.appendsByLabels > byLabels);
  });

  test('the fetcher gets its body buffer back after every scrape, failed or not', async () => {
    const inner = fetcher(['a 1\n', 'a 0x1\n', new Error('connection refused'), 'a 2\n']);
    let releases = 0;
    let fetches = 0;
    const { loop } = newLoop([], {
      fetcher: {
        fetch: (signal) => {
          assert.equal(releases, fetches, 'released before the next fetch');
          fetches++;
          return inner.fetch(signal);
        },
        release: () => void releases++,
      },
    });
    for (let i = 0; i < 4; i++) await loop.scrapeAndReport();
    assert.deepEqual([fetches, releases], [4, 4]);
  });

  test('an HTTP error writes up=0 and stale markers once', async () => {
    const { loop, store } = newLoop([
      'a 1\n',
      new Error('connection refused'),
      new Error('connection refused'),
    ]);
    for (let i = 0; i < 3; i++) await loop.scrapeAndReport();
    const a = store.samples.get(key('a'))!;
    assert.equal(a.length, 2, 'one marker, not one per failed scrape');
    assert.ok(isStaleNaN(a[1].v));
    assert.equal(loop.target.lastError, 'connection refused');
  });

  test('stop writes markers for series and report series', async () => {
    const { loop, store } = newLoop(['a 1\n']);
    await loop.scrapeAndReport();
    await loop.stop('now');
    for (const k of [key('a'), key('up'), key('scrape_series_added')]) {
      const s = store.samples.get(k)!;
      assert.ok(isStaleNaN(s[s.length - 1].v), k);
    }
  });

  const conflicts: { name: string; body: string; honor: boolean; want: string }[] = [
    {
      name: 'no clash',
      body: 'm{x="1"} 1\n',
      honor: false,
      want: '{__name__="m", instance="i:1", job="j", x="1"}',
    },
    {
      name: 'job clash',
      body: 'm{job="x"} 1\n',
      honor: false,
      want: '{__name__="m", exported_job="x", instance="i:1", job="j"}',
    },
    {
      name: 'repeated prefix',
      body: 'm{job="x",instance="y",exported_job="z"} 1\n',
      honor: false,
      want: '{__name__="m", exported_exported_job="x", exported_instance="y", exported_job="z", instance="i:1", job="j"}',
    },
    {
      name: 'honor_labels keeps exposed',
      body: 'm{job="x"} 1\n',
      honor: true,
      want: '{__name__="m", instance="i:1", job="x"}',
    },
    {
      name: 'honor_labels adds missing',
      body: 'm 1\n',
      honor: true,
      want: '{__name__="m", instance="i:1", job="j"}',
    },
    {
      // As a live Prometheus 2.42 stores it: the exposed empty value counts as exposed, and
      // empty means absent.
      name: 'honor_labels with an exposed empty value leaves the label off',
      body: 'm{instance="",x="1"} 1\n',
      honor: true,
      want: '{__name__="m", job="j", x="1"}',
    },
    {
      name: 'an exposed empty value does not clash without honor_labels',
      body: 'm{job=""} 1\n',
      honor: false,
      want: '{__name__="m", instance="i:1", job="j"}',
    },
  ];
  for (const tc of conflicts) {
    test(`target labels: ${tc.name}`, async () => {
      const { loop, store } = newLoop([tc.body], { honorLabels: tc.honor });
      await loop.scrapeAndReport();
      assert.ok(store.samples.has(tc.want), [...store.samples.keys()].join('\n'));
    });
  }

  test('metric relabeling runs once per raw series text', async () => {
    const { loop, store } = newLoop(['m{a="1"} 1\n', 'm{a="1"} 2\n'], {
      metricRelabel: '[{"source_labels":["a"],"target_label":"b"}]',
    });
    await loop.scrapeAndReport();
    const byLabelsFirst = store.appendsByLabels;
    await loop.scrapeAndReport();
    assert.equal(store.appendsByLabels, byLabelsFirst, 'the warm scrape appends by ref only');
    assert.deepEqual(
      store.samples.get('{__name__="m", a="1", b="1", instance="i:1", job="j"}')!.map((s) => s.v),
      [1, 2],
    );
  });
});

describe('target and log helpers', () => {
  test('target URL carries scheme, address, path and params', () => {
    const l = Labels.from({
      __address__: 'h:9',
      __scheme__: 'https',
      __metrics_path__: '/federate',
      '__param_match[]': '{job="x"}',
    });
    assert.equal(targetURL(l), 'https://h:9/federate?match%5B%5D=%7Bjob%3D%22x%22%7D');
  });

  test('log lines are logfmt', () => {
    const line = formatLogLine(new Date(0), 'info', 'scrape', 'Scrape failed', {
      target: 'http://a:1/m',
      err: new Error('boom it'),
    });
    assert.equal(
      line,
      'ts=1970-01-01T00:00:00.000Z level=info component=scrape msg="Scrape failed" target=http://a:1/m err="boom it"',
    );
  });
});

test('ScrapeLoop: a tick that fires half the timeout late is skipped, and the next one scrapes', async () => {
  const labels = Labels.from({ job: 'j', instance: 'i:1' });
  const metrics = new ScrapeMetrics();
  let jump = 0;
  let fetches = 0;
  let fetchesAtJump = -1;
  const loop = new ScrapeLoop({
    target: new Target(labels, labels, labels, 40, 40),
    appendable: new MemStore(),
    fetcher: {
      fetch: async () => {
        fetches++;
        return { body: Buffer.from('m 1\n'), contentType: 'text/plain; version=0.0.4' };
      },
    },
    honorLabels: false,
    honorTimestamps: true,
    metricRelabel: [],
    limits: { sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 },
    metrics,
    logger: () => {},
    jitterSeed: 0,
    now: () => Date.now() + jump,
  });
  loop.start();
  for (let i = 0; i < 200 && fetches < 2; i++) await new Promise((r) => setTimeout(r, 5));
  // The clock leaps a second while the loop waits: its next tick looks that late.
  fetchesAtJump = fetches;
  jump = 1000;
  for (let i = 0; i < 200 && fetches < fetchesAtJump + 2; i++)
    await new Promise((r) => setTimeout(r, 5));
  await loop.stop('none');
  assert.equal(metrics.scrapesSkippedLate, 1, 'one late tick skipped');
  assert.ok(fetches >= fetchesAtJump + 2, `scrapes go on after the skip (${fetches})`);
});
