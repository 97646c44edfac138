import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptionError } from '../model/errors.js';
import {
  decodeTombstones,
  encodeTombstones,
  isDeleted,
  readTombstones,
  Tombstones,
  writeTombstones,
} from './tombstones.js';

test('an empty tombstones file is the 9 bytes Prometheus writes', () => {
  assert.equal(encodeTombstones(new Tombstones()).toString('hex'), '0130ba300100000000');
});

test('intervals merge when they overlap or touch', () => {
  const cases: { name: string; add: [number, number][]; want: number[] }[] = [
    {
      name: 'disjoint stay apart',
      add: [
        [10, 20],
        [30, 40],
      ],
      want: [10, 20, 30, 40],
    },
    {
      name: 'adjacent join',
      add: [
        [10, 20],
        [21, 30],
      ],
      want: [10, 30],
    },
    {
      name: 'overlap joins',
      add: [
        [30, 40],
        [10, 35],
      ],
      want: [10, 40],
    },
    {
      name: 'inserted before',
      add: [
        [30, 40],
        [1, 2],
      ],
      want: [1, 2, 30, 40],
    },
    {
      name: 'bridging joins three',
      add: [
        [1, 5],
        [10, 15],
        [4, 11],
      ],
      want: [1, 15],
    },
    { name: 'empty interval ignored', add: [[5, 4]], want: [] },
  ];
  for (const tc of cases) {
    const ts = new Tombstones();
    for (const [a, b] of tc.add) ts.add(7, a, b);
    assert.deepEqual(ts.get(7) ?? [], tc.want, tc.name);
  }
  const iv = [10, 20, 30, 40];
  assert.deepEqual(
    [9, 10, 20, 21, 29, 35, 41].map((t) => isDeleted(iv, t)),
    [false, true, true, false, false, true, false],
  );
});

test('round-trips through the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-tombstones-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(readTombstones(dir).size, 0); // missing file: none
  const ts = new Tombstones();
  ts.add(5, -100, 200);
  ts.add(5, 1000, 2000);
  ts.add(2 ** 40, 1_700_000_000_000, 1_700_000_007_200_000);
  writeTombstones(dir, ts);
  const back = readTombstones(dir);
  assert.deepEqual(back.get(5), [-100, 200, 1000, 2000]);
  assert.deepEqual(back.get(2 ** 40), [1_700_000_000_000, 1_700_000_007_200_000]);
  assert.equal(back.numIntervals(), 3);

  const b = encodeTombstones(ts);
  const cases: { name: string; bytes: Buffer; want: RegExp }[] = [
    { name: 'short', bytes: b.subarray(0, 5), want: /shorter than 9/ },
    { name: 'magic', bytes: Buffer.concat([Buffer.from([0]), b.subarray(1)]), want: /magic/ },
    {
      name: 'crc',
      bytes: Buffer.concat([b.subarray(0, 7), Buffer.from([b[7] ^ 1]), b.subarray(8)]),
      want: /checksum/,
    },
  ];
  for (const tc of cases) {
    writeFileSync(join(dir, 'tombstones'), tc.bytes);
    assert.throws(
      () => readTombstones(dir),
      (e: unknown) => e instanceof CorruptionError && tc.want.test(e.message),
      tc.name,
    );
  }
  assert.throws(() => decodeTombstones(Buffer.from('0130ba300200000000', 'hex')), /version 2/);
});
