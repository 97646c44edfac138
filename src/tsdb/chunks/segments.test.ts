import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptionError } from '../../model/errors.js';
import { crc32c } from '../crc32c.js';
import {
  ChunkReader,
  ChunkWriter,
  chunkRefOffset,
  chunkRefSegment,
  packChunkRef,
  segmentFileName,
} from './segments.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'mm-segments-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('chunk refs pack segment and offset', () => {
  for (const [seg, off] of [
    [0, 8],
    [1, 8],
    [7, 0xffff_fff0],
    [1000, 123456],
  ]) {
    const ref = packChunkRef(seg, off);
    assert.equal(chunkRefSegment(ref), seg);
    assert.equal(chunkRefOffset(ref), off);
  }
  assert.equal(packChunkRef(1, 8), 2 ** 32 + 8);
  assert.equal(segmentFileName(0), '000001');
  assert.equal(segmentFileName(41), '000042');
});

test('writes the header and chunk framing promtool writes', (t) => {
  const dir = tempDir(t);
  const w = new ChunkWriter(dir);
  // The first chunk of promtool's backfill of one counter: 2 samples.
  const data = Buffer.from('000280a0abfef9623ff0000000000000904ec26ffe4044e7e8', 'hex');
  assert.equal(w.write(1, data.subarray(0, data.length)), 8);
  w.close();
  const b = readFileSync(join(dir, '000001'));
  assert.equal(b.subarray(0, 8).toString('hex'), '85bd40dd01000000');
  assert.equal(b[8], data.length); // uvarint length of the data
  assert.equal(b[9], 1); // encoding
  assert.equal(b.length, 8 + 1 + 1 + data.length + 4);
});

test('round-trips chunks across segment files', (t) => {
  const dir = tempDir(t);
  const w = new ChunkWriter(dir, 1000);
  const chunks: Uint8Array[] = [];
  const refs: number[] = [];
  for (let i = 0; i < 50; i++) {
    const c = new Uint8Array(1 + ((i * 37) % 300));
    for (let k = 0; k < c.length; k++) c[k] = (i * 31 + k) & 0xff;
    chunks.push(c);
    refs.push(w.write(1, c));
  }
  // One chunk bigger than the segment size gets a segment of its own.
  const big = new Uint8Array(5000).fill(7);
  chunks.push(big);
  refs.push(w.write(1, big));
  w.close();
  const files = readdirSync(dir).sort();
  assert.ok(files.length > 5, `want several segments, got ${files.join(',')}`);
  for (const f of files.slice(0, -2)) assert.ok(readFileSync(join(dir, f)).length <= 1000);
  const r = new ChunkReader(dir);
  t.after(() => r.close());
  for (let i = chunks.length - 1; i >= 0; i--) {
    assert.deepEqual(r.read(refs[i]), chunks[i], `chunk ${i}`);
    assert.equal(r.encoding, 1);
  }
});

test('rejects damaged segments and bad refs', async (t) => {
  const cases: { name: string; damage: (b: Buffer) => void; ref?: number; want: RegExp }[] = [
    { name: 'flipped data byte', damage: (b) => (b[12] ^= 1), want: /checksum mismatch/ },
    { name: 'bad magic', damage: (b) => (b[0] = 0), want: /bad magic/ },
    { name: 'bad version', damage: (b) => (b[4] = 2), want: /unsupported segment version 2/ },
    {
      name: 'ref past the end',
      damage: () => {},
      ref: packChunkRef(0, 5000),
      want: /outside segment/,
    },
    {
      name: 'ref to a missing segment',
      damage: () => {},
      ref: packChunkRef(3, 8),
      want: /names segment 4 of 1/,
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, (t) => {
      const dir = tempDir(t);
      const w = new ChunkWriter(dir);
      const ref = w.write(1, new Uint8Array(40).fill(3));
      w.close();
      const p = join(dir, '000001');
      const b = readFileSync(p);
      tc.damage(b);
      writeFileSync(p, b);
      assert.throws(
        () => {
          const r = new ChunkReader(dir);
          try {
            r.read(tc.ref ?? ref);
          } finally {
            r.close();
          }
        },
        (e: unknown) => e instanceof CorruptionError && tc.want.test(e.message),
      );
    });
  }
});

test('reads the chunks of a series in one run, checking each', (t) => {
  const dir = tempDir(t);
  const w = new ChunkWriter(dir);
  const chunks = [10, 300, 5, 1000].map((n, i) => new Uint8Array(n).fill(i + 1));
  const refs = chunks.map((c) => w.write(1, c));
  w.close();
  const r = new ChunkReader(dir);
  const out: Uint8Array[] = [];
  const enc: number[] = [];
  r.readRun(refs, 1, refs.length, out, enc); // the last one is longer than the read-ahead
  for (let i = 1; i < refs.length; i++) assert.deepEqual(out[i], chunks[i], `chunk ${i}`);
  assert.deepEqual(enc.slice(1), [1, 1, 1]);
  r.close();

  const p = join(dir, '000001');
  const b = readFileSync(p);
  b[refs[2] + 3] ^= 0xff; // inside the third chunk's data
  writeFileSync(p, b);
  const r2 = new ChunkReader(dir);
  assert.throws(() => r2.readRun(refs, 0, refs.length, [], []), /checksum mismatch/);
  r2.close();
});

/** `payload` followed by the little-endian CRC-32C of `[encoding, ...payload]`. */
function withOwnCrc(encoding: number, payload: number[]): Uint8Array {
  const m = Uint8Array.from([encoding, ...payload]);
  const c = crc32c(m);
  return Uint8Array.from([...payload, c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24]);
}

test('shares a chunk between identical writes, and only identical ones', async (t) => {
  const a = new Uint8Array(200).fill(9);
  const b = Uint8Array.from(a, (x, i) => (i === 100 ? 8 : x));
  // Two different chunks with the same length and checksum: a CRC-32C over a message
  // followed by its own little-endian CRC is a constant.
  const c1 = withOwnCrc(1, [1, 2, 3, 4, 5, 6]);
  const c2 = withOwnCrc(1, [6, 5, 4, 3, 2, 1]);
  const crcOf = (c: Uint8Array): number => crc32c(Uint8Array.from([1, ...c]));
  assert.equal(crcOf(c1), crcOf(c2), 'the two chunks collide');
  const filler = (n: number): Uint8Array => new Uint8Array(n).fill(0x55);
  const cases: {
    name: string;
    writes: [number, Uint8Array][];
    /** Index of the write whose ref each write must get. */
    sameAs: number[];
    maxSegmentSize?: number;
  }[] = [
    {
      name: 'identical bytes',
      writes: [
        [1, a],
        [1, a],
        [1, b],
        [1, a],
      ],
      sameAs: [0, 0, 2, 0],
    },
    {
      name: 'same bytes, other encoding',
      writes: [
        [1, a],
        [2, a],
      ],
      sameAs: [0, 1],
    },
    {
      name: 'same length and checksum, other bytes',
      writes: [
        [1, c1],
        [1, c2],
        [1, c2],
      ],
      // The map keeps the first chunk of a key, so a repeat of the second is written again.
      sameAs: [0, 1, 2],
    },
    {
      // The first copy has left the write buffer: it is compared from the file.
      name: 'identical after the write buffer was flushed',
      writes: [
        [1, a],
        ...Array.from({ length: 20 }, (): [number, Uint8Array] => [1, filler(60_000)]),
        [1, a],
      ],
      sameAs: [0, ...Array.from({ length: 20 }, () => 1), 0],
    },
    {
      name: 'a new segment writes its own copy',
      writes: [
        [1, a],
        [1, filler(300)],
        [1, a],
        [1, a],
      ],
      sameAs: [0, 1, 2, 2],
      maxSegmentSize: 600,
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, (t) => {
      const dir = tempDir(t);
      const w = new ChunkWriter(dir, tc.maxSegmentSize, true);
      const refs = tc.writes.map(([enc, data]) => w.write(enc, data));
      w.close();
      assert.deepEqual(
        refs.map((r) => refs.indexOf(r)),
        tc.sameAs,
      );
      const distinct = new Set(tc.sameAs).size;
      assert.equal(w.chunksShared, tc.writes.length - distinct);
      const r = new ChunkReader(dir);
      t.after(() => r.close());
      tc.writes.forEach(([enc, data], i) => {
        assert.deepEqual(r.read(refs[i]), data, `write ${i}`);
        assert.equal(r.encoding, enc);
      });
      // Nothing was written for a shared chunk.
      const onDisk = readdirSync(dir).reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
      assert.equal(onDisk, w.bytesWritten);
    });
  }
  await t.test('off by default', (t) => {
    const dir = tempDir(t);
    const w = new ChunkWriter(dir);
    assert.notEqual(w.write(1, a), w.write(1, a));
  });
});

test('reads a run whose first chunk is shared from far back in the file', (t) => {
  const dir = tempDir(t);
  const w = new ChunkWriter(dir, undefined, true);
  const shared = new Uint8Array(100).fill(1);
  const first = w.write(1, shared);
  for (let i = 0; i < 40; i++) w.write(1, new Uint8Array(5000).fill(i + 2));
  // A later series: its first chunk is the shared one, its second new.
  const own = new Uint8Array(300).fill(99);
  const refs = [w.write(1, shared), w.write(1, own)];
  w.close();
  assert.equal(refs[0], first);
  const r = new ChunkReader(dir);
  t.after(() => r.close());
  const out: Uint8Array[] = [];
  r.readRun(refs, 0, 2, out, []);
  assert.deepEqual(out, [shared, own]);
});
