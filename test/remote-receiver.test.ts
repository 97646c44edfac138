// The receiver over HTTP: 204, 400 for malformed bodies, invalid labels and rejected
// samples (message names series and sample), size limit, 503 on overload, 405; and the
// sender's handling of 429 with and without retry_on_http_429.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import snappy from 'snappy';
import { Labels } from '../src/model/labels.js';
import {
  QueueManager,
  RemoteWriteReceiver,
  WriteRequestEncoder,
  encodeLabels,
} from '../src/remote/index.js';
import {
  appendKnown,
  readStore,
  rwConfig,
  startReceiver,
  waitFor,
} from '../src/remote/testdata/harness.js';
import type { Appendable, Appender } from '../src/storage/interface.js';
import { openDB } from '../src/tsdb/db.js';

const quiet = (): void => {};

/** A request body for one series with samples (t, v). */
function body(labels: Record<string, string> | string[], samples: [number, number][]): Buffer {
  const lb = Array.isArray(labels) ? rawLabels(labels) : encodeLabels(Labels.from(labels));
  const raw = new WriteRequestEncoder().encode(
    samples.map(() => 1),
    samples.map((s) => s[0]),
    samples.map((s) => s[1]),
    samples.length,
    () => lb,
  );
  return snappy.compressSync(raw) as Buffer;
}

/** Label bytes exactly as given (unsorted, duplicate or invalid on purpose). */
function rawLabels(pairs: string[]): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const n = Buffer.from(pairs[i]);
    const v = Buffer.from(pairs[i + 1]);
    const inner = Buffer.concat([
      Buffer.from([0x0a, n.length]),
      n,
      Buffer.from([0x12, v.length]),
      v,
    ]);
    parts.push(Buffer.from([0x0a, inner.length]), inner);
  }
  return Buffer.concat(parts);
}

async function post(url: string, b: Buffer, method = 'POST'): Promise<[number, string]> {
  const res = await fetch(url, {
    method,
    body: method === 'POST' ? b : undefined,
    headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' },
  });
  return [res.status, await res.text()];
}

test('receiver: statuses and messages', { timeout: 30_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'mm-rw-rx-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const db = await openDB(root, { logger: quiet });
  t.after(() => db.close());
  const rx = await startReceiver(db);
  t.after(() => rx.close());
  const T = 1_700_000_000_000;
  const cases: [string, Buffer, number, RegExp | null][] = [
    [
      'ok',
      body({ __name__: 'm', a: 'x' }, [
        [T, 1],
        [T + 1000, 2],
      ]),
      204,
      null,
    ],
    ['exact duplicate accepted', body({ __name__: 'm', a: 'x' }, [[T + 1000, 2]]), 204, null],
    [
      'out of order',
      body({ __name__: 'm', a: 'x' }, [[T + 500, 3]]),
      400,
      /out of order sample: series m\{a="x"\}, sample t=1700000000500 v=3/,
    ],
    [
      'duplicate with another value',
      body({ __name__: 'm', a: 'x' }, [[T + 1000, 9]]),
      400,
      /duplicate sample/,
    ],
    ['unsorted labels', body(['__name__', 'm', 'z', '1', 'a', '2'], [[T, 1]]), 400, /not sorted/],
    [
      'duplicate label',
      body(['__name__', 'm', 'a', '1', 'a', '2'], [[T, 1]]),
      400,
      /duplicate label name/,
    ],
    ['invalid metric name', body(['__name__', '1m'], [[T, 1]]), 400, /invalid metric name/],
    ['empty label value', body(['__name__', 'm', 'a', ''], [[T, 1]]), 400, /empty value/],
    ['not snappy', Buffer.from('hello world'), 400, /snappy|remote write request/],
    [
      'snappy of garbage protobuf',
      snappy.compressSync(Buffer.from([0x0a, 0x7f, 0x01])) as Buffer,
      400,
      /remote write request/,
    ],
    ['announces 1 GiB', Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04]), 400, /over the limit/],
  ];
  for (const [name, b, status, msg] of cases) {
    const [got, text] = await post(rx.url, b);
    assert.equal(got, status, `${name}: ${text}`);
    if (msg !== null) assert.match(text, msg, name);
  }
  assert.equal((await post(rx.url, Buffer.alloc(0), 'GET'))[0], 405);
  // A rejected request is rolled back whole: nothing of it was stored.
  const got = await readStore(db, 'm');
  assert.deepEqual(
    [...got.values()],
    [
      [
        [T, 1],
        [T + 1000, 2],
      ],
    ],
  );
});

test('receiver: 503 when too many requests are in progress', { timeout: 10_000 }, async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  // A store whose commit waits for the gate, so requests pile up.
  const slow: Appendable = {
    appender(): Appender {
      return { append: () => 1, commit: () => gate, rollback: () => {} };
    },
  };
  const receiver = new RemoteWriteReceiver(slow, { maxConcurrent: 2 });
  const server = http.createServer((req, res) => receiver.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const b = body({ __name__: 'm' }, [[1, 1]]);
  const first = [post(url, b), post(url, b)];
  await waitFor(() => false, 300);
  const [status, text] = await post(url, b);
  assert.equal(status, 503);
  assert.match(text, /too many concurrent/);
  release();
  assert.deepEqual(
    (await Promise.all(first)).map((r) => r[0]),
    [204, 204],
  );
});

test(
  'sender: 429 is retried (honouring Retry-After) only with retry_on_http_429',
  { timeout: 30_000 },
  async (t) => {
    for (const retry of [true, false]) {
      const root = mkdtempSync(join(tmpdir(), 'mm-rw-429-'));
      t.after(() => rmSync(root, { recursive: true, force: true }));
      const src = await openDB(join(root, 'src'), { logger: quiet });
      const dst = await openDB(join(root, 'dst'), { logger: quiet });
      const rx = await startReceiver(dst);
      rx.fault = (n) => (n === 1 ? 'too-many' : 'pass');
      await appendKnown(src, 2, 0, 10, 1_700_000_000_000, 1000);
      const q = new QueueManager(
        rwConfig(
          rx.url,
          `queue_config:\n  batch_send_deadline: 20ms\n  retry_on_http_429: ${retry}`,
        ),
        {
          walDir: join(root, 'src', 'wal'),
          stateDir: join(root, 'src', 'remote'),
          externalLabels: {},
          logger: quiet,
        },
      );
      const started = Date.now();
      q.start();
      try {
        assert.ok(await waitFor(() => q.samplesTotal + q.samplesFailed >= 20, 10_000));
        if (retry) {
          assert.equal(q.samplesTotal, 20);
          assert.equal(q.samplesRetried, 20);
          assert.ok(Date.now() - started >= 950, 'waited for Retry-After: 1');
        } else {
          assert.equal(q.samplesFailed, 20);
          assert.equal(q.samplesRetried, 0);
        }
      } finally {
        await q.stop();
        await rx.close();
        await src.close();
        await dst.close();
      }
    }
  },
);
