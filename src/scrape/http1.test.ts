import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { ResponseReader, type ReadState } from './http1.js';
import { PoolAgents, TargetFetcher } from './http.js';

const take = (n: number): Buffer => Buffer.alloc(Math.max(n, 16));

interface Case {
  name: string;
  response: string | Buffer;
  limit?: number;
  /** The stream ends after the response (the server closed). */
  end?: boolean;
  want:
    | { state: 'done'; status: number; body: string; keepAlive: boolean; type?: string }
    | { state: 'failed'; error: RegExp; overLimit?: boolean };
}

const CASES: Case[] = [
  {
    name: 'Content-Length, keep-alive',
    response:
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 12\r\n\r\nup 1\nx 2\nyz\n',
    want: {
      state: 'done',
      status: 200,
      body: 'up 1\nx 2\nyz\n',
      keepAlive: true,
      type: 'text/plain; version=0.0.4',
    },
  },
  {
    name: 'chunked, with an extension and a trailer',
    response:
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=v\r\nup 1\n\r\nA\r\nx 22\nyy 3\n\r\n0\r\nX-Trailer: 1\r\n\r\n',
    want: { state: 'done', status: 200, body: 'up 1\nx 22\nyy 3\n', keepAlive: true },
  },
  {
    name: 'no length: read until the server closes',
    response: 'HTTP/1.0 200 OK\r\n\r\nup 1\n',
    end: true,
    want: { state: 'done', status: 200, body: 'up 1\n', keepAlive: false },
  },
  {
    name: 'an interim 100 Continue before the response',
    response: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    want: { state: 'done', status: 200, body: 'ok', keepAlive: true },
  },
  {
    name: 'Connection: close',
    response: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok',
    want: { state: 'done', status: 200, body: 'ok', keepAlive: false },
  },
  {
    name: 'HTTP/1.0 keep-alive',
    response: 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok',
    want: { state: 'done', status: 200, body: 'ok', keepAlive: true },
  },
  {
    name: 'a 503 with its body',
    response: 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 3\r\n\r\nno\n',
    want: { state: 'done', status: 503, body: 'no\n', keepAlive: true },
  },
  {
    name: 'Content-Length over the limit fails at the headers',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 120\r\n\r\n' + 'x'.repeat(120),
    limit: 100,
    want: {
      state: 'failed',
      error: /^body size limit exceeded: read 120 bytes, limit 100$/,
      overLimit: true,
    },
  },
  {
    name: 'chunks over the limit',
    response:
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n' +
      'x'.repeat(64) +
      '\r\n40\r\n' +
      'y'.repeat(64) +
      '\r\n0\r\n\r\n',
    limit: 100,
    want: {
      state: 'failed',
      error: /^body size limit exceeded: read 128 bytes, limit 100$/,
      overLimit: true,
    },
  },
  {
    name: 'a gzip body may be a little larger than the limit before inflating',
    response:
      'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 101\r\n\r\n' + 'z'.repeat(101),
    limit: 100,
    want: { state: 'done', status: 200, body: 'z'.repeat(101), keepAlive: true },
  },
  {
    name: 'a malformed chunk size',
    response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nup 1\n\r\n0\r\n\r\n',
    want: { state: 'failed', error: /malformed chunked encoding/ },
  },
  {
    name: 'a chunk not followed by CRLF',
    response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n',
    want: { state: 'failed', error: /malformed chunked encoding/ },
  },
  {
    name: 'a body cut short by the server',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nup 1\n',
    end: true,
    want: { state: 'failed', error: /^connection closed while reading body$/ },
  },
  {
    name: 'headers cut short',
    response: 'HTTP/1.1 200 OK\r\nContent-Le',
    end: true,
    want: { state: 'failed', error: /before the response headers were complete/ },
  },
  {
    name: 'not HTTP',
    response: 'SSH-2.0-OpenSSH_9.2\r\n\r\n',
    want: { state: 'failed', error: /malformed HTTP status line "SSH-2.0-OpenSSH_9.2"/ },
  },
  {
    name: 'two different Content-Lengths',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok',
    want: { state: 'failed', error: /conflicting Content-Length/ },
  },
];

/** Feeds `bytes` in pieces cut at `cuts`; returns the last state. */
function feed(r: ResponseReader, bytes: Buffer, cuts: number[], end: boolean): ReadState {
  let state: ReadState = 'more';
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    if (to <= from) continue;
    const piece = Buffer.from(bytes.subarray(from, to));
    state = r.push(piece, piece.length);
    from = to;
    if (state !== 'more') break;
  }
  if (state === 'more' && end) state = r.end();
  return state;
}

for (const c of CASES) {
  test(`response reader: ${c.name}, in every split`, () => {
    const bytes = Buffer.isBuffer(c.response) ? c.response : Buffer.from(c.response, 'latin1');
    const splits: number[][] = [[]];
    for (let i = 1; i < bytes.length; i++) splits.push([i]);
    splits.push(Array.from({ length: bytes.length }, (_, i) => i)); // a byte at a time
    const r = new ResponseReader(take);
    for (const cuts of splits) {
      r.reset(c.limit ?? 0);
      r.buf = null;
      const state = feed(r, bytes, cuts, c.end ?? false);
      const at = `cut at ${cuts.length > 1 ? 'every byte' : String(cuts[0] ?? 'none')}`;
      assert.equal(state, c.want.state, `${at}: ${r.error}`);
      if (c.want.state === 'done') {
        assert.equal(r.status, c.want.status, at);
        assert.equal(r.buf!.toString('latin1', r.bodyStart, r.bodyEnd), c.want.body, at);
        assert.equal(r.keepAlive, c.want.keepAlive, at);
        if (c.want.type !== undefined) assert.equal(r.contentType, c.want.type, at);
      } else {
        assert.match(r.error, c.want.error, at);
        assert.equal(r.overLimit, c.want.overLimit ?? false, at);
      }
    }
  });
}

/**
 * A server that answers each connection's requests in turn: `plan(n)` says, for the n-th
 * request of a connection (from 0), whether to answer or to close without a word.
 */
async function startServer(plan: (nth: number) => 'answer' | 'close') {
  const body = gzipSync('up 1\n');
  let connections = 0;
  const sockets = new Set<Socket>();
  const srv = createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let nth = 0;
    let pending = '';
    sock.on('data', (d) => {
      pending += d.toString('latin1');
      while (pending.includes('\r\n\r\n')) {
        pending = pending.slice(pending.indexOf('\r\n\r\n') + 4);
        if (plan(nth++) === 'close') {
          sock.destroy();
          return;
        }
        sock.write(
          `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        sock.write(body);
      }
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      srv.close();
      await once(srv, 'close');
    },
  };
}

/** Runs `fn` with a plain-HTTP fetcher of a {@link startServer} server, then closes both. */
async function withFetcher(
  plan: (nth: number) => 'answer' | 'close',
  fn: (f: TargetFetcher, connections: () => number) => Promise<void>,
): Promise<void> {
  const srv = await startServer(plan);
  const agents = new PoolAgents(null);
  const f = new TargetFetcher(`http://127.0.0.1:${srv.port}/metrics`, 2000, agents, {
    userAgent: 'test',
    httpClient: null,
    bodySizeLimitBytes: 0,
  });
  try {
    await fn(f, srv.connections);
  } finally {
    f.close();
    agents.destroy();
    await srv.close();
  }
}

test('plain fetcher: keeps one connection, and retries once when a reused one is closed as the request goes out', () =>
  // Every connection answers its first request and closes at its second.
  withFetcher(
    (nth) => (nth === 0 ? 'answer' : 'close'),
    async (f, connections) => {
      for (let i = 0; i < 4; i++) {
        const res = await f.fetch(new AbortController().signal);
        assert.equal(res.body.toString(), 'up 1\n');
        f.release();
      }
      assert.equal(connections(), 4, 'one new connection per retried request');
    },
  ));

test('plain fetcher: a keep-alive connection carries every scrape', () =>
  withFetcher(
    () => 'answer',
    async (f, connections) => {
      for (let i = 0; i < 5; i++) {
        assert.equal((await f.fetch(new AbortController().signal)).body.toString(), 'up 1\n');
        f.release();
      }
      assert.equal(connections(), 1);
    },
  ));

test('plain fetcher: a connection closed at the first request is an EOF error, not retried', () =>
  withFetcher(
    () => 'close',
    async (f, connections) => {
      await assert.rejects(f.fetch(new AbortController().signal), /": EOF$/);
      assert.equal(connections(), 1);
    },
  ));
