import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectProtocol, H2_PREFACE, type Detected } from './detect.js';

test('detectProtocol', () => {
  const f = (input: string | Buffer, want: Detected): void => {
    const b = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
    assert.equal(detectProtocol(b), want, JSON.stringify(b.toString('latin1')));
  };
  f('', 'need-more');
  f('GET / HTTP/1.1\r\n', 'http1');
  f('POST', 'need-more');
  f('M-SEARCH * HTTP/1.1\r\n', 'http1');
  f('PROPPATCH /x HTTP/1.1', 'http1');
  f(H2_PREFACE, 'h2');
  f(Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 0, 4])]), 'h2');
  f('PRI * HTTP/2.0\r\n', 'need-more');
  f('PRI /x HTTP/1.1\r\n', 'http1'); // PRI as a method, not the preface
  f('P', 'need-more');
  f('get / HTTP/1.1', 'tcp');
  f(' GET', 'tcp');
  f('\u0016\u0003\u0001\u0002\u0000', 'tcp'); // a TLS ClientHello
  f('SSH-2.0-OpenSSH_9.0\r\n', 'tcp');
  f('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'tcp'); // no space within a method's length
});
