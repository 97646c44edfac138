import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc32c.js';

/** Bit-at-a-time reference, to check the sliced tables against. */
function crc32cSlow(data: Uint8Array): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

const cases: { name: string; data: Uint8Array; want: number }[] = [
  { name: 'empty', data: new Uint8Array(0), want: 0 },
  { name: '"123456789" (RFC 3720 check value)', data: Buffer.from('123456789'), want: 0xe3069283 },
  { name: '32 zero bytes (RFC 3720 B.4)', data: new Uint8Array(32), want: 0x8a9136aa },
  { name: '32 0xff bytes (RFC 3720 B.4)', data: new Uint8Array(32).fill(0xff), want: 0x62a8ab43 },
  {
    name: '32 incrementing bytes (RFC 3720 B.4)',
    data: Uint8Array.from({ length: 32 }, (_, i) => i),
    want: 0x46dd794e,
  },
];

for (const tc of cases) {
  test(`crc32c of ${tc.name}`, () => {
    assert.equal(crc32c(tc.data), tc.want);
  });
}

test('crc32c agrees with a bit-at-a-time reference at every length and alignment', () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= data.length; end += 13) {
      assert.equal(
        crc32c(data, start, end),
        crc32cSlow(data.subarray(start, end)),
        `[${start}, ${end})`,
      );
    }
  }
});

test('crc32c continues over split input', () => {
  const data = Buffer.from('the quick brown fox jumps over the lazy dog');
  for (let cut = 0; cut <= data.length; cut++) {
    assert.equal(crc32c(data, cut, data.length, crc32c(data, 0, cut)), crc32c(data));
  }
});
