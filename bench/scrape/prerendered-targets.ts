/**
 * Scrape targets as cheap as a Node.js process can make them, for the overload curve of
 * ingest.bench.ts: every response is rendered and gzipped before the first port opens, and
 * served by a raw TCP handler (no node:http parsing or header objects). Each target owns a
 * loopback port (so scrapers give it its own `instance`); target i serves the bodies of
 * model i % MODELS (Linkerd-shaped, ../shared/bench/lib/model.mjs), advancing through
 * VARIANTS renders of it, one per scrape, so values change between scrapes.
 *
 * Run: node --import tsx bench/scrape/prerendered-targets.ts --targets N --series S
 *        --base-port P --control-port C
 * GET :C/stats returns JSON counts (scrapes, samples = series lines served, listening).
 * Binds 127.0.0.1 only.
 * @module
 */

import { createServer, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

interface TargetModel {
  n: number;
  update(dt: number): void;
}
interface ModelLib {
  buildTarget(i: number, series: number, seed: number): TargetModel;
  makeRenderer(t: TargetModel): () => Buffer;
}

const MODELS = 100;
const VARIANTS = 4;

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? def : Number(process.argv[i + 1]);
}

const targets = flag('--targets', 100);
const series = flag('--series', 1000);
const basePort = flag('--base-port', 20000);
const controlPort = flag('--control-port', 19999);

const lib = (await import(
  fileURLToPath(new URL('../../../shared/bench/lib/model.mjs', import.meta.url))
)) as ModelLib;

/** A full HTTP response (head and body) per model and variant, gzip or plain. */
interface Rendered {
  gzip: Buffer[];
  plain: Buffer[];
  lines: number;
}

function response(body: Buffer, gzip: boolean): Buffer {
  const head =
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n' +
    (gzip ? 'Content-Encoding: gzip\r\n' : '') +
    `Content-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const models: Rendered[] = [];
for (let m = 0; m < Math.min(MODELS, targets); m++) {
  const t = lib.buildTarget(m, series, 1);
  const render = lib.makeRenderer(t);
  const r: Rendered = { gzip: [], plain: [], lines: t.n };
  for (let v = 0; v < VARIANTS; v++) {
    if (v > 0) t.update(1);
    const body = Buffer.from(render());
    r.plain.push(response(body, false));
    r.gzip.push(response(gzipSync(body, { level: 6 }), true));
  }
  models.push(r);
}

const stats = { scrapes: 0, samples: 0, bytes: 0 };
const scrapesOf = new Int32Array(targets);
const NOT_FOUND = Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');

/** Answers every request head on the connection; GETs carry no body. */
function serve(sock: Socket, target: number): void {
  let pending = '';
  sock.setNoDelay(true);
  sock.on('data', (d: Buffer) => {
    pending += d.toString('latin1');
    for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
      const head = pending.slice(0, end);
      pending = pending.slice(end + 4);
      if (!head.startsWith('GET /metrics')) {
        sock.write(NOT_FOUND);
        continue;
      }
      const m = models[target % models.length];
      const v = scrapesOf[target]++ % VARIANTS;
      const gzip = /^accept-encoding:.*\bgzip\b/im.test(head);
      const res = gzip ? m.gzip[v] : m.plain[v];
      sock.write(res);
      stats.scrapes++;
      stats.samples += m.lines;
      stats.bytes += res.length;
    }
  });
  sock.on('error', () => sock.destroy());
}

let listening = 0;
for (let i = 0; i < targets; i++) {
  const srv = createServer((sock) => serve(sock, i));
  srv.on('error', (e) => {
    process.stderr.write(`port ${basePort + i}: ${e.message}\n`);
    process.exit(1);
  });
  srv.listen(basePort + i, '127.0.0.1', () => listening++);
}

let seriesTotal = 0;
for (let i = 0; i < targets; i++) seriesTotal += models[i % models.length].lines;
createServer((sock) => {
  sock.once('data', () => {
    const body = JSON.stringify({ targets, seriesTotal, listening, ...stats });
    sock.end(
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  sock.on('error', () => sock.destroy());
}).listen(controlPort, '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
