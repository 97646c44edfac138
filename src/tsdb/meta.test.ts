import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptionError } from '../model/errors.js';
import {
  encodeMeta,
  isULID,
  newULID,
  readMeta,
  ulidTime,
  writeMeta,
  type BlockMeta,
} from './meta.js';

test('ULIDs carry their time and sort in creation order', () => {
  const ms = 1_700_000_000_000;
  const ids = Array.from({ length: 1000 }, () => newULID(ms));
  for (const id of ids) {
    assert.ok(isULID(id), id);
    assert.equal(ulidTime(id), ms);
  }
  assert.deepEqual([...ids].sort(), ids); // monotonic within one millisecond
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(newULID(ms + 1) > ids[ids.length - 1]);
  assert.equal(newULID(0).slice(0, 10), '0000000000');
  assert.equal(ulidTime('01M8EGDY8HPGC1WY2R4F1XWSF1'), 1_795_783_325_969); // a ULID promtool made
  assert.equal(ulidTime('7ZZZZZZZZZZZZZZZZZZZZZZZZZ'), 2 ** 48 - 1);
  for (const bad of [
    '',
    '01M8EGDY8HPGC1WY2R4F1XWSF',
    '81M8EGDY8HPGC1WY2R4F1XWSF1',
    '01M8EGDY8HPGC1WY2R4F1XWSFU',
    'data',
    'wal',
  ]) {
    assert.equal(isULID(bad), false, bad);
  }
});

test('meta.json is laid out as Prometheus writes it', () => {
  const m: BlockMeta = {
    ulid: '01M8EGDY8HPGC1WY2R4F1XWSF1',
    minTime: 1700000000000,
    maxTime: 1700000010001,
    stats: { numSamples: 3, numSeries: 2, numChunks: 2 },
    compaction: { level: 1, sources: ['01M8EGDY8HPGC1WY2R4F1XWSF1'] },
    version: 1,
  };
  // Byte for byte what promtool 2.42 wrote for this block.
  const want =
    '{\n\t"ulid": "01M8EGDY8HPGC1WY2R4F1XWSF1",\n\t"minTime": 1700000000000,\n\t"maxTime": 1700000010001,\n' +
    '\t"stats": {\n\t\t"numSamples": 3,\n\t\t"numSeries": 2,\n\t\t"numChunks": 2\n\t},\n' +
    '\t"compaction": {\n\t\t"level": 1,\n\t\t"sources": [\n\t\t\t"01M8EGDY8HPGC1WY2R4F1XWSF1"\n\t\t]\n\t},\n\t"version": 1\n}';
  assert.equal(encodeMeta(m), want);
  // Zero stats are omitted, as Go's omitempty.
  assert.match(encodeMeta({ ...m, stats: {} }), /"stats": \{\}/);
});

test('reads back what it writes and rejects bad files', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-meta-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const m: BlockMeta = {
    ulid: newULID(),
    minTime: 0,
    maxTime: 7_200_000,
    stats: { numSamples: 10, numSeries: 1, numChunks: 1, numTombstones: 2 },
    compaction: {
      level: 2,
      sources: ['01M8EGDY8HPGC1WY2R4F1XWSF1'],
      parents: [{ ulid: '01M8EGDY8HPGC1WY2R4F1XWSF1', minTime: 0, maxTime: 7_200_000 }],
    },
    version: 1,
  };
  writeMeta(dir, m);
  assert.deepEqual(readMeta(dir), m);
  const cases: [string, string, RegExp][] = [
    ['not json', '{', /not JSON/],
    ['version', JSON.stringify({ ...m, version: 2 }), /version 2/],
    ['ulid', JSON.stringify({ ...m, ulid: 'x' }), /bad ulid/],
  ];
  for (const [name, text, want] of cases) {
    writeFileSync(join(dir, 'meta.json'), text);
    assert.throws(
      () => readMeta(dir),
      (e: unknown) => e instanceof CorruptionError && want.test(e.message),
      name,
    );
  }
});
