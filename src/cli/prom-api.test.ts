import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { ApiError, PromApiClient, prometheusUrl, sampleValue } from './prom-api.js';

test('PromApiClient against a scripted server', async (t) => {
  const seen: { method: string; url: string; auth: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        auth: req.headers.authorization ?? '',
        body,
      });
      const json = (status: number, v: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      if (req.url === '/api/v1/query') {
        const q = new URLSearchParams(body).get('query');
        if (q === 'bad(')
          return json(400, {
            status: 'error',
            errorType: 'bad_data',
            error: 'unexpected end of input',
          });
        return json(200, {
          status: 'success',
          data: { resultType: 'vector', result: [{ metric: { a: '1' }, value: [1, 'NaN'] }] },
          warnings: ['w1'],
        });
      }
      if (req.url === '/api/v1/status/config')
        return json(200, {
          status: 'success',
          data: { yaml: 'global:\n  scrape_interval: 10s\n  scrape_timeout: 10s\n' },
        });
      if (req.url?.startsWith('/federate')) return res.writeHead(200).end('up 1\n');
      if (req.url === '/slow') return;
      res.writeHead(502).end('<html>bad gateway</html>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const client = new PromApiClient(`http://us%40er:p%3Ass@127.0.0.1:${port}/`);

  await t.test('query: POST form, basic auth from the URL, warnings', async () => {
    const a = await client.query('up', '1700000000');
    assert.equal(client.baseUrl, `http://127.0.0.1:${port}`);
    const last = seen[seen.length - 1];
    assert.equal(last.method, 'POST');
    assert.equal(last.body, 'query=up&time=1700000000');
    assert.equal(last.auth, 'Basic ' + Buffer.from('us@er:p:ss').toString('base64'));
    assert.deepEqual(a.warnings, ['w1']);
    assert.equal(a.data.resultType, 'vector');
    if (a.data.resultType === 'vector')
      assert.ok(Number.isNaN(sampleValue(a.data.result[0].value)));
  });
  await t.test('error envelope becomes ApiError with errorType', async () => {
    await assert.rejects(
      client.query('bad('),
      (e: unknown) =>
        e instanceof ApiError &&
        e.errorType === 'bad_data' &&
        e.status === 400 &&
        e.message === 'bad_data: unexpected end of input',
    );
  });
  await t.test('scrape interval from status/config', async () => {
    assert.equal(await client.scrapeIntervalMs(), 10_000);
  });
  await t.test('federate with repeated match[]', async () => {
    assert.equal(await client.federate(['{a="1"}', 'up']), 'up 1\n');
    assert.equal(
      seen[seen.length - 1].url,
      '/federate?match%5B%5D=%7Ba%3D%221%22%7D&match%5B%5D=up',
    );
  });
  await t.test('non-JSON answer and unreachable server', async () => {
    await assert.rejects(
      client.targets(),
      (e: unknown) =>
        e instanceof ApiError && e.errorType === 'bad_response' && /HTTP 502/.test(e.message),
    );
    await assert.rejects(
      new PromApiClient('http://127.0.0.1:1').query('up'),
      (e: unknown) => e instanceof ApiError && e.errorType === 'unavailable',
    );
    assert.throws(() => new PromApiClient('not a url'), /invalid Prometheus URL/);
  });
  await t.test('timeout', async () => {
    const slow = new PromApiClient(`http://127.0.0.1:${port}`, { timeoutMs: 200 });
    await assert.rejects(
      (slow as unknown as { call(p: string, f: null): Promise<unknown> }).call('/slow', null),
      (e: unknown) => e instanceof ApiError && e.errorType === 'timeout',
    );
  });
});

test('prometheusUrl: flag, then environment, then default', () => {
  const old = process.env.MESHMETRICS_PROMETHEUS_URL;
  try {
    delete process.env.MESHMETRICS_PROMETHEUS_URL;
    assert.equal(prometheusUrl(undefined), 'http://127.0.0.1:9090');
    process.env.MESHMETRICS_PROMETHEUS_URL = 'http://env:9090';
    assert.equal(prometheusUrl(undefined), 'http://env:9090');
    assert.equal(prometheusUrl('http://flag:9090'), 'http://flag:9090');
  } finally {
    if (old === undefined) delete process.env.MESHMETRICS_PROMETHEUS_URL;
    else process.env.MESHMETRICS_PROMETHEUS_URL = old;
  }
});
