// The demo apps and traffic generator, wired through a real in-process proxy the way the
// demo wires them: books fails its share, authors answers gRPC statuses, web fans out, and
// the proxy's metrics classify it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:http2';
import {
  startAuthors,
  startBooks,
  startWeb,
  grpcFrame,
  AUTHORS_GET,
  AUTHORS_LIST,
  prng,
} from '../src/demo/services.js';
import { startTraffic } from '../src/demo/traffic.js';
import { DEFAULT_PROXY_OPTIONS, Destinations, Proxy } from '../src/proxy/index.js';

function get(
  address: string,
  path: string,
  host?: string,
): Promise<{ status: number; body: string }> {
  const [h, p] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const req = request({ host: h, port: p, path, headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function grpc(
  address: string,
  path: string,
): Promise<{ grpcStatus: string; message: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const s = connect(`http://${address}`);
    s.on('error', reject);
    const r = s.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let grpcStatus = '';
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('trailers', (t) => (grpcStatus = String(t['grpc-status'])));
    r.on('close', () => {
      s.close();
      const b = Buffer.concat(chunks);
      resolve({ grpcStatus, message: b.subarray(5).toString('utf8'), ms: Date.now() - t0 });
    });
    r.end(grpcFrame('{}'));
  });
}

test('prng is deterministic and uniform enough', () => {
  const a = prng(7);
  const b = prng(7);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, String(mean));
});

test('books fails about the configured share with 500', async (t) => {
  const cases = [
    { failureRate: 0, min: 0, max: 0 },
    { failureRate: 0.1, min: 5, max: 35 },
    { failureRate: 1, min: 200, max: 200 },
  ];
  for (const tc of cases) {
    await t.test(`failureRate ${tc.failureRate}`, async () => {
      const books = await startBooks({
        listen: '127.0.0.1:0',
        failureRate: tc.failureRate,
        seed: 5,
      });
      try {
        let failed = 0;
        for (let i = 0; i < 200; i++) {
          const r = await get(books.address, `/books/${i}`);
          if (r.status === 500) failed++;
          else assert.deepEqual(JSON.parse(r.body), { id: String(i), title: `Book ${i}` });
        }
        assert.ok(failed >= tc.min && failed <= tc.max, `${failed} failures`);
      } finally {
        await books.close();
      }
    });
  }
});

test('authors answers gRPC statuses; List is slow', async () => {
  const authors = await startAuthors({ listen: '127.0.0.1:0', slowMs: [100, 120] });
  try {
    const fast = await grpc(authors.address, AUTHORS_GET);
    assert.equal(fast.grpcStatus, '0');
    assert.deepEqual(JSON.parse(fast.message), { name: 'Ursula K. Le Guin' });
    const slow = await grpc(authors.address, AUTHORS_LIST);
    assert.equal(slow.grpcStatus, '0');
    assert.ok(slow.ms >= 95, `${slow.ms} ms`);
    const none = await grpc(authors.address, '/authors.Authors/Nope');
    assert.equal(none.grpcStatus, '12');
  } finally {
    await authors.close();
  }
});

test('web fans out through a proxy; traffic flows and the proxy classifies it', async () => {
  const books = await startBooks({ listen: '127.0.0.1:0', failureRate: 0.5, seed: 9 });
  const authors = await startAuthors({ listen: '127.0.0.1:0', slowMs: [1, 2] });
  const destinations = Destinations.parse(
    JSON.stringify({
      'books.demo.svc.cluster.local:8080': {
        address: books.address,
        labels: { namespace: 'demo', deployment: 'books', service: 'books' },
      },
      'authors.demo.svc.cluster.local:8080': {
        address: authors.address,
        labels: { namespace: 'demo', deployment: 'authors', service: 'authors' },
      },
    }),
  );
  // web's proxy: only its outbound side matters here.
  const proxy = new Proxy({
    ...DEFAULT_PROXY_OPTIONS,
    inboundListen: '127.0.0.1:0',
    outboundListen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    destinations,
    buildInfo: { date: '', git_sha: '', profile: 'test', vendor: 'meshmetrics', version: '0' },
  });
  const addrs = await proxy.start();
  const web = await startWeb({
    listen: '127.0.0.1:0',
    outbound: addrs.outbound,
    booksAuthority: 'books.demo.svc.cluster.local:8080',
    authorsAuthority: 'authors.demo.svc.cluster.local:8080',
  });
  try {
    assert.equal((await get(web.address, '/')).status, 200);
    assert.equal((await get(web.address, '/nope')).status, 404);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const r = await get(web.address, `/books/${i}`);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    assert.ok(
      (statuses.get(200) ?? 0) > 5 && (statuses.get(502) ?? 0) > 5,
      JSON.stringify([...statuses]),
    );
    assert.equal([...statuses.keys()].filter((s) => s !== 200 && s !== 502).length, 0);
    const a = await get(web.address, '/authors');
    assert.equal(a.status, 200);

    const traffic = startTraffic({
      target: web.address,
      authority: 'web.demo.svc.cluster.local:8080',
      rps: 50,
      seed: 1,
    });
    await new Promise((r) => setTimeout(r, 600));
    await traffic.stop();
    const sent = [...traffic.counts.values()].reduce((s, n) => s + n, 0);
    assert.ok(sent >= 15, `${sent} responses`);
    assert.equal(traffic.counts.get(0) ?? 0, 0);

    const metrics = (await get(addrs.admin, '/metrics')).body;
    // Label order is the proxy's business; require the labels in any order.
    assert.match(
      metrics,
      /^response_total\{(?=[^}]*direction="outbound")(?=[^}]*dst_deployment="books")(?=[^}]*status_code="500")(?=[^}]*classification="failure")[^}]*\} [1-9]/m,
    );
    assert.match(
      metrics,
      /^response_total\{[^}]*authority="authors\.demo\.svc\.cluster\.local:8080"[^}]*grpc_status="0"/m,
    );
    assert.match(metrics, /^request_total\{[^}]*dst_deployment="books"/m);
  } finally {
    await web.close();
    await proxy.stop();
    await books.close();
    await authors.close();
  }
});
