/**
 * The demo mesh's applications, small on purpose and misbehaving on purpose so the
 * metrics have something to show:
 *
 * ```
 *  traffic ──HTTP/1.1──▶ web ──HTTP/1.1──▶ books    (fails ~10% with 500)
 *                          └───gRPC/h2───▶ authors  (List is slow: 50–250 ms)
 * ```
 *
 * Each app listens on loopback; its calls to other apps go through its own proxy's
 * outbound listener, naming the service by authority (`books.demo.svc.cluster.local:8080`),
 * as a meshed pod's calls would. Randomness comes from a seeded PRNG so tests can count.
 * @module
 */
import {
  createServer as createHttpServer,
  request as httpRequest,
  Agent,
  type IncomingMessage,
  type Server,
} from 'node:http';
import {
  connect as h2connect,
  createServer as createH2Server,
  constants as h2c,
  type ClientHttp2Session,
  type Http2Server,
} from 'node:http2';

/** A seeded PRNG (mulberry32) giving numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A started app. */
export interface App {
  /** `127.0.0.1:port` it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

async function listen(server: Server | Http2Server, address: string): Promise<string> {
  const [host, port] = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as { port: number };
  return `${host}:${a.port}`;
}

/** `host:port` → [host, port]. */
export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}

function closeServer(server: Server | Http2Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as Server).closeAllConnections?.();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options of {@link startBooks}. */
export interface BooksOptions {
  listen: string;
  /** Share of requests answered with 500. Default 0.1. */
  failureRate?: number;
  seed?: number;
}

/** `books`: an HTTP/1.1 JSON service that fails a share of its requests with 500. */
export async function startBooks(o: BooksOptions): Promise<App> {
  const rnd = prng(o.seed ?? 1);
  const failureRate = o.failureRate ?? 0.1;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (rnd() < failureRate) {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"error":"books: database unavailable"}\n');
        return;
      }
      const id = (req.url ?? '/').split('/').pop() || '1';
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id, title: `Book ${id}` }) + '\n');
    });
  });
  server.keepAliveTimeout = 30_000;
  const address = await listen(server, o.listen);
  return { address, close: () => closeServer(server) };
}

/** Options of {@link startAuthors}. */
export interface AuthorsOptions {
  listen: string;
  /** Extra delay of the slow `List` method, ms range. Default [50, 250]. */
  slowMs?: [number, number];
  seed?: number;
}

/** gRPC method paths `authors` serves. */
export const AUTHORS_GET = '/authors.Authors/Get';
export const AUTHORS_LIST = '/authors.Authors/List';

/**
 * `authors`: a gRPC-shaped service over cleartext HTTP/2 (content-type application/grpc,
 * a length-prefixed message, `grpc-status` in the trailers). `Get` is fast; `List` is slow;
 * unknown methods get grpc-status 12 (UNIMPLEMENTED), as a real gRPC server answers.
 */
export async function startAuthors(o: AuthorsOptions): Promise<App> {
  const rnd = prng(o.seed ?? 2);
  const [lo, hi] = o.slowMs ?? [50, 250];
  const server = createH2Server();
  server.on('stream', (stream, headers) => {
    const path = String(headers[h2c.HTTP2_HEADER_PATH] ?? '');
    stream.on('error', () => {});
    stream.resume();
    stream.on('end', async () => {
      let status = 0;
      let payload = '';
      if (path === AUTHORS_GET) payload = '{"name":"Ursula K. Le Guin"}';
      else if (path === AUTHORS_LIST) {
        await sleep(lo + rnd() * (hi - lo));
        payload = '[{"name":"Ursula K. Le Guin"},{"name":"Italo Calvino"}]';
      } else status = 12;
      if (stream.destroyed) return;
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(status) }));
      stream.end(grpcFrame(payload));
    });
  });
  const address = await listen(server, o.listen);
  return { address, close: () => closeServer(server) };
}

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, bytes. */
export function grpcFrame(payload: string): Buffer {
  const body = Buffer.from(payload);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Options of {@link startWeb}. */
export interface WebOptions {
  listen: string;
  /** web's proxy outbound listener, `host:port`, through which it calls the others. */
  outbound: string;
  /** Authority of books, e.g. `books.demo.svc.cluster.local:8080`. */
  booksAuthority: string;
  /** Authority of authors. */
  authorsAuthority: string;
}

/** What one upstream call gave: the HTTP status, or the gRPC status for authors. */
interface CallResult {
  ok: boolean;
  body: string;
}

/**
 * `web`: the front end. `GET /books/<id>` calls books over HTTP/1.1 and authors' `Get`
 * over HTTP/2; `GET /authors` calls the slow `List`. A failed upstream makes it answer 502.
 */
export async function startWeb(o: WebOptions): Promise<App> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const [oHost, oPort] = splitAddress(o.outbound);
  let h2: ClientHttp2Session | null = null;
  const session = (): ClientHttp2Session => {
    if (h2 === null || h2.closed || h2.destroyed) {
      h2 = h2connect(`http://${o.outbound}`);
      h2.on('error', () => {});
      h2.on('close', () => (h2 = null));
    }
    return h2;
  };
  const callBooks = (path: string): Promise<CallResult> =>
    new Promise((resolve) => {
      const req = httpRequest(
        { host: oHost, port: oPort, path, agent, headers: { host: o.booksAuthority } },
        (res: IncomingMessage) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ ok: res.statusCode === 200, body }));
          res.on('error', () => resolve({ ok: false, body: '' }));
        },
      );
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve({ ok: false, body: '' }));
      req.end();
    });
  const callAuthors = (method: string): Promise<CallResult> =>
    new Promise((resolve) => {
      let s;
      try {
        s = session().request({
          ':method': 'POST',
          ':path': method,
          ':authority': o.authorsAuthority,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
      } catch {
        resolve({ ok: false, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      let grpcStatus = '';
      s.setTimeout(5000, () => s.close(h2c.NGHTTP2_CANCEL));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('trailers', (t) => (grpcStatus = String(t['grpc-status'] ?? '')));
      s.on('close', () => {
        const buf = Buffer.concat(chunks);
        resolve({
          ok: grpcStatus === '0',
          body: buf.length > 5 ? buf.subarray(5).toString('utf8') : '',
        });
      });
      s.on('error', () => {});
      s.end(grpcFrame('{}'));
    });
  const server = createHttpServer((req, res) => {
    req.resume();
    const url = req.url ?? '/';
    const answer = (parts: CallResult[]): void => {
      const ok = parts.every((p) => p.ok);
      res.writeHead(ok ? 200 : 502, { 'content-type': 'application/json' });
      res.end(`{"ok":${ok},"parts":[${parts.map((p) => p.body.trim() || 'null').join(',')}]}\n`);
    };
    if (url.startsWith('/books/'))
      void Promise.all([callBooks(url), callAuthors(AUTHORS_GET)]).then(answer);
    else if (url === '/authors') void callAuthors(AUTHORS_LIST).then((r) => answer([r]));
    else if (url === '/')
      res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end('meshmetrics demo: try /books/1 or /authors\n');
    else res.writeHead(404).end();
  });
  server.keepAliveTimeout = 30_000;
  const address = await listen(server, o.listen);
  return {
    address,
    close: async () => {
      (h2 as ClientHttp2Session | null)?.destroy();
      agent.destroy();
      await closeServer(server);
    },
  };
}
