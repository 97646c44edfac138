import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalReader } from './reader.js';
import { replay } from './replay.js';
import { PAGE_SIZE, listSegments, segmentPath } from './segment.js';
import { WAL } from './wal.js';

/** Where each record of a clean log sits: segment and byte range. */
interface Placed {
  seg: number;
  start: number;
  end: number;
  bytes: Buffer;
}

const SEGMENT = 4 * PAGE_SIZE;

/** A deterministic pseudo-random sequence (xorshift32), so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function record(i: number): Uint8Array {
  // Mostly small records, with a few that span pages.
  const n = i % 29 === 0 ? PAGE_SIZE + 1000 + i : 20 + ((i * 131) % 900);
  const b = new Uint8Array(n);
  for (let j = 0; j < n; j++) b[j] = (i * 7 + j * 13) & 0xff;
  return b;
}

/** Writes a clean log into a new folder and returns where its records sit. */
async function cleanLog(root: string, records: number): Promise<{ dir: string; placed: Placed[] }> {
  const dir = join(root, 'clean');
  const w = WAL.open(dir, { segmentSizeBytes: SEGMENT });
  for (let i = 0; i < records; i++) {
    w.log(record(i));
    if (i % 5 === 4) await w.commit();
  }
  await w.close();
  const r = new WalReader(dir);
  const placed: Placed[] = [];
  let seg = -1;
  let prevEnd = 0;
  while (r.next()) {
    if (r.segment() !== seg) {
      seg = r.segment();
      prevEnd = 0;
    }
    placed.push({ seg, start: prevEnd, end: r.offset(), bytes: Buffer.from(r.record()) });
    prevEnd = r.offset();
  }
  assert.equal(r.err(), null);
  r.close();
  assert.equal(placed.length, records);
  return { dir, placed };
}

/** Records that end before damage at (seg, off): the ones a repair must keep. */
function survivors(placed: Placed[], seg: number, off: number): number {
  let n = 0;
  for (const p of placed) {
    if (p.seg < seg || (p.seg === seg && p.end <= off)) n++;
    else break;
  }
  return n;
}

/** Opens a damaged copy, replays it, and checks what survived and what was said. */
async function checkRepair(
  dir: string,
  placed: Placed[],
  wantKept: number,
  wantRepair: boolean,
): Promise<string[]> {
  const lines: string[] = [];
  const w = WAL.open(dir, { segmentSizeBytes: SEGMENT, logger: (l) => lines.push(l) });
  const got: Buffer[] = [];
  const res = replay(w, (r) => got.push(Buffer.from(r)));
  assert.equal(got.length, wantKept, 'records kept');
  for (let i = 0; i < got.length; i++) assert.ok(got[i].equals(placed[i].bytes), `record ${i}`);
  assert.equal(res.repair !== null, wantRepair, `repair: ${lines.join('; ')}`);
  assert.equal(lines.length, wantRepair ? 1 : 0);
  if (wantRepair)
    assert.match(
      lines[0],
      /^wal: repaired corruption in segment \d{8} at offset \d+ \(.+\): dropped \d+ bytes/,
    );

  // The repaired log takes new writes and reads back clean, by itself, with no repair.
  w.log(Buffer.from('after repair'));
  await w.close();
  const again: string[] = [];
  const w2 = WAL.open(dir, { segmentSizeBytes: SEGMENT, logger: (l) => again.push(l) });
  const got2: Buffer[] = [];
  const res2 = replay(w2, (r) => got2.push(Buffer.from(r)));
  assert.equal(res2.repair, null);
  assert.equal(got2.length, wantKept + 1);
  assert.equal(got2[wantKept].toString(), 'after repair');
  await w2.close();
  return lines;
}

test('repair after the tail is cut at any offset inside the last record', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-repair-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { dir, placed } = await cleanLog(root, 120);
  // Make the last record a multi-page one, so cuts land in several fragments.
  const last = placed[placed.length - 1];
  const lastSeg = last.seg;
  const rand = rng(42);
  const offsets = new Set<number>([last.start + 1, last.start + 6, last.start + 7, last.end - 1]);
  while (offsets.size < 36)
    offsets.add(last.start + 1 + Math.floor(rand() * (last.end - last.start - 1)));
  let i = 0;
  for (const off of offsets) {
    const d = join(root, `cut-${i++}`);
    cpSync(dir, d, { recursive: true });
    truncateSync(segmentPath(d, lastSeg), off);
    const lines = await checkRepair(d, placed, placed.length - 1, true);
    assert.match(lines[0], new RegExp(`truncated segment \\d+ to ${last.start} bytes`));
    assert.equal(statSync(segmentPath(d, lastSeg)).size, last.start);
  }
  // A cut inside the final padding loses nothing and is still repaired away.
  const size = statSync(segmentPath(dir, lastSeg)).size;
  if (size > last.end + 1) {
    const d = join(root, 'cut-padding');
    cpSync(dir, d, { recursive: true });
    truncateSync(segmentPath(d, lastSeg), last.end + 1);
    await checkRepair(d, placed, placed.length, true);
  }
  // A cut exactly at a record boundary is a clean end: no repair.
  const d = join(root, 'cut-boundary');
  cpSync(dir, d, { recursive: true });
  truncateSync(segmentPath(d, lastSeg), last.start);
  await checkRepair(d, placed, placed.length - 1, false);
});

test('repair after bytes are flipped in the tail and in the middle', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-repair-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { dir, placed } = await cleanLog(root, 400);
  const segs = listSegments(dir);
  assert.ok(segs.length >= 4, `want several segments, got ${segs.length}`);
  const rand = rng(7);
  const damages: { seg: number; off: number }[] = [];
  const lastSeg = segs[segs.length - 1];
  const lastSize = statSync(segmentPath(dir, lastSeg)).size;
  // In the tail: the last few KiB of the last segment.
  for (let k = 0; k < 12; k++)
    damages.push({ seg: lastSeg, off: lastSize - 1 - Math.floor(rand() * 4096) });
  // In the middle: any segment but the last, anywhere.
  for (let k = 0; k < 16; k++) {
    const seg = segs[Math.floor(rand() * (segs.length - 1))];
    const size = statSync(segmentPath(dir, seg)).size;
    damages.push({ seg, off: Math.floor(rand() * size) });
  }
  damages.push({ seg: segs[1], off: 0 }); // the very first header of a segment
  let i = 0;
  for (const { seg, off } of damages) {
    const d = join(root, `flip-${i++}`);
    cpSync(dir, d, { recursive: true });
    const p = segmentPath(d, seg);
    const b = readFileSync(p);
    b[off] ^= 1 << Math.floor(rand() * 8);
    writeFileSync(p, b);
    const kept = survivors(placed, seg, off);
    const lines = await checkRepair(d, placed, kept, true);
    const later = segs.filter((s) => s > seg).length;
    assert.match(lines[0], new RegExp(`deleted ${later} later segments?\\)$`), lines[0]);
  }
});

test('zeroed pages in the middle (a lost write) are cut off like any damage', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-repair-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { dir, placed } = await cleanLog(root, 100);
  const d = join(root, 'zeroed');
  cpSync(dir, d, { recursive: true });
  const p = segmentPath(d, 0);
  const b = readFileSync(p);
  assert.ok(b.length > 2 * PAGE_SIZE + 300);
  b.fill(0, PAGE_SIZE + 100, 2 * PAGE_SIZE + 300);
  writeFileSync(p, b);
  await checkRepair(d, placed, survivors(placed, 0, PAGE_SIZE + 100), true);
});
