// Interop: chunks that Prometheus 2.42 itself wrote (through `promtool tsdb
// create-blocks-from openmetrics`) decode with our iterator, and re-encoding their samples
// with our appender gives the same bytes, spare trailing byte included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePeer } from '../../../test/support/peers.js';
import { ValueType } from '../../storage/interface.js';
import { XORChunk } from './xor.js';
import { ENCODING_XOR } from './chunk.js';
import { mulberry32 as rng } from '../../../test/support/rng.js';

/** OpenMetrics text with series of several shapes; returns it and the sample count. */
function exposition(): { text: string; samples: number } {
  const r = rng(2026);
  const t0 = 1_700_000_000_000;
  const lines: string[] = [];
  let samples = 0;
  const shapes: [string, (i: number, prev: number) => number, (i: number) => number][] = [
    ['counter_steady', (i, p) => (i === 0 ? 100 : p + 10), (i) => i * 10_000],
    [
      'counter_jitter',
      (i, p) => (i === 0 ? 0 : p + Math.floor(r() * 50)),
      (i) => i * 15_000 + Math.floor(r() * 40),
    ],
    ['gauge_float', () => (r() - 0.5) * 1e6, (i) => i * 10_000],
    [
      'gauge_special',
      (i) => [NaN, Infinity, -Infinity, 0, -1.5, 1e300, 5e-324][i % 7],
      (i) => i * 10_000,
    ],
    ['irregular', (i) => i * 0.1, (i) => Math.floor(i * i * 37.5) + i * 1000],
    ['sparse', (i) => i, (i) => i * 600_000 + (i % 3) * 7],
  ];
  for (const [name, val, ts] of shapes) {
    lines.push(`# TYPE ${name} gauge`);
    let prev = 0;
    const n = 900;
    for (let i = 0; i < n; i++) {
      prev = val(i, prev);
      const v = Number.isNaN(prev)
        ? 'NaN'
        : prev === Infinity
          ? '+Inf'
          : prev === -Infinity
            ? '-Inf'
            : String(prev);
      lines.push(`${name}{shape="${name}"} ${v} ${((t0 + ts(i)) / 1000).toFixed(3)}`);
      samples++;
    }
  }
  lines.push('# EOF');
  return { text: lines.join('\n') + '\n', samples };
}

/** Reads an unsigned varint at `off`; returns [value, next offset]. */
function uvarint(b: Uint8Array, off: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const c = b[off++];
    v += (c & 0x7f) * mul;
    if (c < 0x80) return [v, off];
    mul *= 128;
  }
}

test('chunks written by promtool re-encode byte for byte', (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'xor-promtool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { text, samples } = exposition();
  writeFileSync(join(dir, 'in.om'), text);
  execFileSync(
    promtool,
    ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'in.om'), join(dir, 'out')],
    {
      stdio: 'pipe',
    },
  );

  let chunks = 0;
  let decoded = 0;
  for (const block of readdirSync(join(dir, 'out'))) {
    const cdir = join(dir, 'out', block, 'chunks');
    for (const seg of readdirSync(cdir)) {
      const b = new Uint8Array(readFileSync(join(cdir, seg)));
      let off = 8; // magic, version, padding
      while (off < b.length) {
        const [len, p] = uvarint(b, off);
        assert.equal(b[p], ENCODING_XOR, `encoding byte at ${seg}:${off}`);
        const data = b.subarray(p + 1, p + 1 + len);
        off = p + 1 + len + 4; // skip the CRC32C
        chunks++;
        const theirs = new XORChunk(data);
        const ours = new XORChunk();
        const app = ours.appender();
        const it = theirs.iterator();
        while (it.next() === ValueType.Float) {
          app.append(it.atT(), it.atV());
          decoded++;
        }
        assert.equal(it.err(), null);
        assert.equal(
          Buffer.from(ours.bytes()).toString('hex'),
          Buffer.from(data).toString('hex'),
          `chunk ${chunks} (${theirs.numSamples()} samples) in ${block}/${seg}`,
        );
      }
    }
  }
  assert.equal(decoded, samples);
  assert.ok(chunks >= 30, `only ${chunks} chunks`);
});
