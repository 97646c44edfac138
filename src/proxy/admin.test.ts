import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type * as net from 'node:net';
import { handleAdmin, isLoopback, type AdminHandlers } from './admin.js';

test('isLoopback', () => {
  const cases: [string | undefined, boolean][] = [
    ['127.0.0.1', true],
    ['127.3.2.1', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['fe80::1', false],
    [undefined, false],
  ];
  for (const [addr, want] of cases) assert.equal(isLoopback(addr), want, String(addr));
});

test('/shutdown from a non-loopback peer is 403 whatever the method', async () => {
  let shutdowns = 0;
  const h: AdminHandlers = {
    metrics: () => Buffer.alloc(0),
    ready: () => true,
    env: () => ({}),
    shutdown: () => shutdowns++,
  };
  // A real server that pretends each peer is remote, since tests bind loopback only.
  const server = http.createServer((req, res) => handleAdmin(h, req, res, '10.1.2.3'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  for (const method of ['POST', 'GET']) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/shutdown', method }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 403, method);
  }
  server.close();
  assert.equal(shutdowns, 0);
});
