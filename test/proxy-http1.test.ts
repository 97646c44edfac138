// The HTTP/1.1 fast path on raw sockets (src/proxy/http1-fast.ts): pipelining, bodies by
// Content-Length and chunked framing, trailers, HEAD, close-delimited responses, pooled
// connections the target closed, and what it passes on to node:http.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { DEFAULT_PROXY_OPTIONS, Proxy, type ProxyAddresses } from '../src/proxy/index.js';
import { fastPathLimits } from '../src/proxy/http1-fast.js';

const BUILD = { date: '', git_sha: '', profile: 'test', vendor: 'meshmetrics', version: '0' };

function port(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(':') + 1));
}

async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

async function startProxy(app: string): Promise<{ p: Proxy; a: ProxyAddresses }> {
  const p = new Proxy({
    ...DEFAULT_PROXY_OPTIONS,
    inboundListen: '127.0.0.1:0',
    outboundListen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    inboundApp: app,
    buildInfo: BUILD,
    detectTimeoutMs: 300,
  });
  return { p, a: await p.start() };
}

/**
 * Writes `request` on a new connection and reads until `done(text)` says the answer is
 * complete, or the connection closes; returns the text and whether it closed.
 */
function raw(
  addr: string,
  request: string,
  done: (got: string) => boolean,
): Promise<{ got: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port(addr), '127.0.0.1', () => c.write(request));
    let got = '';
    c.on('data', (d) => {
      got += d.toString('latin1');
      if (done(got)) {
        c.destroy();
        resolve({ got, closed: false });
      }
    });
    c.on('close', () => resolve({ got, closed: true }));
    c.on('error', reject);
  });
}

const count = (re: RegExp) => (s: string) => s.match(re)?.length ?? 0;

async function metrics(admin: string): Promise<string> {
  const r = await fetch(`http://${admin}/metrics`);
  return r.text();
}

/** A body far larger than the socket buffers, to make the proxy wait for a slow reader. */
const BIG = Buffer.alloc(8 << 20, 'x');

/**
 * A 4 MiB body (past the socket buffers) whose every byte depends on `k` and its offset,
 * so a byte mixed up between responses shows.
 */
function pattern(k: number): Buffer {
  const b = Buffer.allocUnsafe(4 << 20);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + k * 7 + (i >> 9)) & 0xff;
  return b;
}

const servers: net.Server[] = [];
const proxies: Proxy[] = [];
let app: ProxyAddresses;

before(async () => {
  // /echo answers "<method> <url> <body>"; /trailers answers chunked with a grpc-status
  // trailer; everything else 200 "ok".
  const web = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/trailers') {
        res.writeHead(200, { 'content-type': 'application/grpc', trailer: 'grpc-status' });
        res.write('abc');
        res.addTrailers({ 'grpc-status': '2' });
        res.end();
        return;
      }
      if (req.url?.startsWith('/pattern/')) {
        const body = pattern(Number(req.url.slice('/pattern/'.length)));
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
        return;
      }
      if (req.url === '/big') {
        res.writeHead(200, { 'content-length': BIG.length });
        res.end(BIG);
        return;
      }
      const body =
        req.url === '/echo' || req.url === '/echo2'
          ? `${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`
          : 'ok';
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    });
  });
  servers.push(web);
  const { p, a } = await startProxy(await listen(web));
  proxies.push(p);
  app = a;
});

after(async () => {
  for (const p of proxies) await p.stop();
  for (const s of servers) s.close();
});

test('pipelined requests with sized and chunked bodies are answered in order', async () => {
  const req =
    'POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello' +
    'POST /echo2 HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n' +
    'GET /echo HTTP/1.1\r\nHost: a.test\r\n\r\n';
  const { got } = await raw(
    app.inbound,
    req,
    (s) => count(/HTTP\/1\.1 200/g)(s) === 3 && s.endsWith('GET /echo '),
  );
  const bodies = got.split(/HTTP\/1\.1 200 OK\r\n[^]*?\r\n\r\n/).filter((s) => s !== '');
  assert.deepEqual(bodies, ['POST /echo hello', 'POST /echo2 abcde', 'GET /echo ']);
});

test('the same requests split into one-byte writes are answered the same', async () => {
  const req =
    'POST /echo HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello' +
    'POST /echo2 HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '3\r\nabc\r\n0\r\n\r\n';
  const got = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port(app.inbound), '127.0.0.1', async () => {
      for (const ch of req) {
        c.write(ch);
        await new Promise((r) => setImmediate(r));
      }
    });
    let text = '';
    c.on('data', (d) => {
      text += d.toString('latin1');
      if (text.endsWith('POST /echo2 abc')) {
        c.destroy();
        resolve(text);
      }
    });
    c.on('error', reject);
  });
  assert.match(got, /POST \/echo hello/);
  assert.match(got, /POST \/echo2 abc$/);
});

test('a large response to a slow reader arrives whole; the connection serves the next one', async () => {
  const got = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port(app.inbound), '127.0.0.1', () => {
      c.write('GET /big HTTP/1.1\r\nHost: b.test\r\n\r\n');
      c.pause();
      setTimeout(() => c.resume(), 300);
    });
    let bytes = 0;
    let tail = '';
    let second = false;
    c.on('data', (d: Buffer) => {
      bytes += d.length;
      if (!second && bytes >= BIG.length) {
        const head = 'HTTP/1.1 200 OK\r\n'.length;
        if (bytes > head + BIG.length) {
          second = true;
          c.write('GET /echo HTTP/1.1\r\nHost: b.test\r\n\r\n');
        }
      }
      if (second) tail += d.toString('latin1');
      if (tail.endsWith('GET /echo ')) {
        c.destroy();
        resolve(tail);
      }
    });
    c.on('error', reject);
  });
  assert.match(got, /HTTP\/1\.1 200 OK\r\n[^]*GET \/echo $/);
});

test('concurrent large responses, some to slow readers, arrive byte for byte', async () => {
  // The target connections share one read buffer: every byte a client gets must have been
  // copied out before the next read reused it.
  const fetchTwice = (k: number, slow: boolean): Promise<Buffer[]> =>
    new Promise((resolve, reject) => {
      const c = net.connect(port(app.inbound), '127.0.0.1', () => {
        c.write(`GET /pattern/${k} HTTP/1.1\r\nHost: p.test\r\n\r\n`);
        if (slow) {
          c.pause();
          setTimeout(() => c.resume(), 300);
        }
      });
      const bodies: Buffer[] = [];
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buf.toString('latin1', 0, end))![1]);
        if (buf.length < end + 4 + length) return;
        bodies.push(buf.subarray(end + 4, end + 4 + length));
        buf = buf.subarray(end + 4 + length);
        if (bodies.length === 2) {
          c.destroy();
          resolve(bodies);
        } else c.write(`GET /pattern/${k + 100} HTTP/1.1\r\nHost: p.test\r\n\r\n`);
      });
      c.on('error', reject);
    });
  const ks = [1, 2, 3, 4, 5, 6];
  const got = await Promise.all(ks.map((k) => fetchTwice(k, k % 2 === 0)));
  for (const [i, k] of ks.entries()) {
    assert.ok(got[i][0].equals(pattern(k)), `first body of client ${k}`);
    assert.ok(got[i][1].equals(pattern(k + 100)), `second body of client ${k}`);
  }
});

test('a chunked response passes with its trailers; grpc-status in them classifies it', async () => {
  const { got } = await raw(
    app.inbound,
    'GET /trailers HTTP/1.1\r\nHost: t.test\r\nTE: trailers\r\n\r\n',
    (s) => s.endsWith('\r\n\r\n') && s.includes('grpc-status: 2'),
  );
  assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(got, /\r\nTransfer-Encoding: chunked\r\n/i);
  assert.match(got, /\r\n3\r\nabc\r\n0\r\ngrpc-status: 2\r\n\r\n$/);
  const text = await metrics(app.admin);
  assert.match(
    text,
    /response_total\{direction="inbound",authority="t\.test",[^}]*status_code="200",classification="failure",grpc_status="2",error=""\} 1\n/,
  );
});

test('HEAD gets a head only; the connection serves the next request', async () => {
  const { got } = await raw(
    app.inbound,
    'HEAD / HTTP/1.1\r\nHost: h.test\r\n\r\nGET /echo HTTP/1.1\r\nHost: h.test\r\n\r\n',
    (s) => s.endsWith('GET /echo '),
  );
  const heads = got.match(/HTTP\/1\.1 200 OK/g) ?? [];
  assert.equal(heads.length, 2);
  assert.match(got, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/); // nothing between the two answers
});

test('a response delimited by close reaches the client whole, then the connection closes', async () => {
  const target = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end'));
    s.on('error', () => {});
  });
  servers.push(target);
  const { p, a } = await startProxy(await listen(target));
  proxies.push(p);
  const { got, closed } = await raw(
    a.inbound,
    'GET / HTTP/1.1\r\nHost: c.test\r\n\r\n',
    () => false,
  );
  assert.ok(closed);
  assert.match(got, /^HTTP\/1\.1 200 OK\r\n[^]*connection: close\r\n\r\nuntil the end$/);
});

test('a pooled connection the target closed is replaced: the request is sent again, not failed', async () => {
  // Answers the first request of each connection; closes at the second, as a target whose
  // keep-alive timeout races the proxy's reuse does.
  let connections = 0;
  const target = net.createServer((s) => {
    connections++;
    let n = 0;
    s.on('data', () => {
      if (++n === 1) s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      else s.destroy();
    });
    s.on('error', () => {});
  });
  servers.push(target);
  const { p, a } = await startProxy(await listen(target));
  proxies.push(p);
  for (let i = 0; i < 3; i++) {
    const { got } = await raw(a.inbound, 'GET / HTTP/1.1\r\nHost: r.test\r\n\r\n', (s) =>
      s.endsWith('ok'),
    );
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/, `request ${i + 1}`);
  }
  assert.equal(connections, 3);
  const text = await metrics(a.admin);
  assert.doesNotMatch(text, /status_code="502"/);
  assert.match(text, /request_total\{[^}]*authority="r\.test"[^}]*\} 3\n/);
});

test('requests the fast path leaves to node:http are still served', async () => {
  const cases: { name: string; request: string; want: RegExp }[] = [
    {
      name: 'Expect: 100-continue',
      request:
        'POST /echo HTTP/1.1\r\nHost: e.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi',
      want: /HTTP\/1\.1 200 OK[^]*POST \/echo hi$/,
    },
    {
      name: 'HTTP/1.0',
      request: 'GET /echo HTTP/1.0\r\nHost: e.test\r\n\r\n',
      want: /^HTTP\/1\.1 200 OK[^]*GET \/echo $/,
    },
    {
      name: 'Content-Length and Transfer-Encoding both',
      request:
        'POST /echo HTTP/1.1\r\nHost: e.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      want: /^HTTP\/1\.1 400 /,
    },
    {
      name: 'a header name with a space',
      request: 'GET /echo HTTP/1.1\r\nHost: e.test\r\nBad Name: 1\r\n\r\n',
      want: /^HTTP\/1\.1 400 /,
    },
    {
      name: 'a fast request, then an HTTP/1.0 one on the same connection',
      request:
        'GET /echo HTTP/1.1\r\nHost: e.test\r\n\r\nGET /echo2 HTTP/1.0\r\nHost: e.test\r\n\r\n',
      want: /^HTTP\/1\.1 200 OK[^]*GET \/echo HTTP\/1\.1 200 OK[^]*GET \/echo2 $/,
    },
  ];
  for (const c of cases) {
    const { got } = await raw(app.inbound, c.request, (s) => c.want.test(s));
    assert.match(got, c.want, c.name);
  }
});

test('a request head trickled past the head timeout is answered 408 and closed', async (t) => {
  const saved = fastPathLimits.headTimeoutMs;
  fastPathLimits.headTimeoutMs = 150;
  t.after(() => (fastPathLimits.headTimeoutMs = saved));
  const c = net.connect(port(app.inbound), '127.0.0.1');
  let got = '';
  c.on('data', (d) => (got += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
  c.write('GET /echo HTTP/1.1\r\nHost: a.test\r\n');
  for (const line of ['X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n']) {
    await new Promise((r) => setTimeout(r, 100));
    if (!c.destroyed) c.write(line);
  }
  await closed;
  assert.match(got, /^HTTP\/1\.1 408 Request Timeout\r\n/);
});
