import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decbuf, Encbuf } from './encoding.js';
import { STALE_NAN, isStaleNaN } from '../model/stale.js';

/** Go's binary.PutUvarint / PutVarint output for reference values. */
const uvarints: [number, number[]][] = [
  [0, [0x00]],
  [1, [0x01]],
  [127, [0x7f]],
  [128, [0x80, 0x01]],
  [300, [0xac, 0x02]],
  [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]],
  [2 ** 35 + 5, [0x85, 0x80, 0x80, 0x80, 0x80, 0x01]],
  [Number.MAX_SAFE_INTEGER, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
];
for (const [v, bytes] of uvarints) {
  test(`uvarint ${v} round-trips as Go encodes it`, () => {
    const e = new Encbuf(16);
    e.putUvarint(v);
    assert.deepEqual([...e.get()], bytes);
    const d = new Decbuf(e.get());
    assert.equal(d.uvarint(), v);
    assert.equal(d.err(), null);
    assert.equal(d.len(), 0);
  });
}

const varints: [number, number[]][] = [
  [0, [0x00]],
  [-1, [0x01]],
  [1, [0x02]],
  [-64, [0x7f]],
  [64, [0x80, 0x01]],
  [-(2 ** 31), [0xff, 0xff, 0xff, 0xff, 0x0f]],
  [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x10]],
  [1_700_000_000_000, [0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62]],
  [-1_700_000_000_000, [0xff, 0x9f, 0xab, 0xfe, 0xf9, 0x62]],
];
for (const [v, bytes] of varints) {
  test(`varint ${v} round-trips as Go encodes it`, () => {
    const e = new Encbuf(16);
    e.putVarint(v);
    assert.deepEqual([...e.get()], bytes);
    assert.equal(new Decbuf(e.get()).varint(), v);
  });
}

test('big-endian integers, floats and strings round-trip', () => {
  const e = new Encbuf(16);
  e.putByte(7);
  e.putBE16(0xbeef);
  e.putBE32(0xdeadbeef);
  e.putBE64(2 ** 40 + 3);
  e.putBE64(-5);
  e.putBEFloat64(Math.PI);
  e.putBEFloat64(STALE_NAN);
  e.putUvarintStr('job');
  e.putUvarintStr('héllo wörld');
  e.putUvarintStr('x'.repeat(300));
  const d = new Decbuf(e.get());
  assert.equal(d.byte(), 7);
  assert.equal(d.be16(), 0xbeef);
  assert.equal(d.be32(), 0xdeadbeef);
  assert.equal(d.be64(), 2 ** 40 + 3);
  assert.equal(d.be64int(), -5);
  assert.equal(d.beFloat64(), Math.PI);
  assert.ok(isStaleNaN(d.beFloat64()));
  assert.equal(d.uvarintStr(), 'job');
  assert.equal(d.uvarintStr(), 'héllo wörld');
  assert.equal(d.uvarintStr(), 'x'.repeat(300));
  assert.equal(d.err(), null);
  assert.equal(d.len(), 0);
});

test('putBE64 writes negatives in two complement as Go does', () => {
  const e = new Encbuf(16);
  e.putBE64(-1);
  assert.deepEqual([...e.get()], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
});

const failures: { name: string; bytes: number[]; read: (d: Decbuf) => unknown; want: RegExp }[] = [
  {
    name: 'short be32',
    bytes: [1, 2],
    read: (d) => d.be32(),
    want: /unexpected end of data at offset 0/,
  },
  {
    name: 'unterminated uvarint',
    bytes: [0x80, 0x80],
    read: (d) => d.uvarint(),
    want: /unexpected end/,
  },
  {
    name: 'uvarint beyond 2^53',
    bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    read: (d) => d.uvarint(),
    want: /overflows/,
  },
  {
    name: 'be64 beyond 2^53',
    bytes: [0xff, 0, 0, 0, 0, 0, 0, 0],
    read: (d) => d.be64(),
    want: /overflows/,
  },
  {
    name: 'string longer than data',
    bytes: [5, 0x61],
    read: (d) => d.uvarintStr(),
    want: /unexpected end/,
  },
];
for (const tc of failures) {
  test(`decbuf keeps a sticky error: ${tc.name}`, () => {
    const d = new Decbuf(Uint8Array.from(tc.bytes));
    tc.read(d);
    assert.match(String(d.err()), tc.want);
    // Later reads return zero and keep the first error.
    assert.equal(d.byte(), 0);
    assert.match(String(d.err()), tc.want);
  });
}
