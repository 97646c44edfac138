import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitReader, BitWriter } from './bstream.js';

test('bit streams', async (t) => {
  await t.test('random widths round trip, most significant bit first', () => {
    let seed = 5;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
    for (let round = 0; round < 50; round++) {
      const w = new BitWriter(new Uint8Array(4), 2);
      const fields: [number, number][] = [];
      for (let i = 0; i < 300; i++) {
        const n = 1 + Math.floor(rnd() * 32);
        const v = n === 32 ? Math.floor(rnd() * 2 ** 32) : Math.floor(rnd() * 2 ** n);
        w.ensure(n);
        if (n === 1) w.writeBit(v);
        else w.writeBits(v, n);
        fields.push([v, n]);
      }
      const bytes = w.buf.subarray(0, w.byteLength());
      const r = new BitReader(bytes, 2, bytes.length);
      for (const [v, n] of fields)
        assert.equal(n === 1 ? r.readBit() : r.readBits(n), v, `${n} bits`);
      assert.equal(r.overrun(), false);
      r.readBits(16);
      assert.equal(r.overrun(), true);
    }
  });
  await t.test('layout and the spare byte after whole-byte writes', () => {
    const cases: { name: string; ops: [number, number][]; want: string; spare: boolean }[] = [
      { name: 'three bits', ops: [[0b101, 3]], want: 'a0', spare: false },
      { name: 'a whole byte keeps a spare byte', ops: [[0xab, 8]], want: 'ab00', spare: true },
      {
        name: 'unaligned byte write leaves none',
        ops: [
          [1, 1],
          [0xff, 8],
        ],
        want: 'ff80',
        spare: false,
      },
      {
        name: 'ending aligned through bits leaves none',
        ops: [
          [0xf, 4],
          [0xa, 4],
        ],
        want: 'fa',
        spare: false,
      },
      { name: '32 bits', ops: [[0xdeadbeef, 32]], want: 'deadbeef00', spare: true },
    ];
    for (const tc of cases) {
      const w = new BitWriter(new Uint8Array(16), 0);
      for (const [v, n] of tc.ops) w.writeBits(v, n);
      assert.equal(
        Buffer.from(w.buf.subarray(0, w.byteLength())).toString('hex'),
        tc.want,
        tc.name,
      );
      assert.equal(w.spareByte, tc.spare, tc.name);
    }
  });
  await t.test('varints', () => {
    const w = new BitWriter(new Uint8Array(8), 0);
    const vals = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40 + 5, 2 ** 53];
    for (const v of vals) {
      w.ensure(80);
      w.writeUvarint(v);
    }
    w.ensure(80);
    w.writeUvarint64(0xffffffff, 0xfffffc18); // -1000 as a 64-bit two's complement
    const r = new BitReader(w.buf, 0, w.byteLength());
    for (const v of vals) assert.equal(r.readUvarint(), v);
    assert.equal(r.readVarint64AsSigned(), -1000);
  });
});
