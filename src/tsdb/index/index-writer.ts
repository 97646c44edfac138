/**
 * Writes a block's index file in Prometheus's format v2 (docs/format/index.md), as
 * `tsdb/index/index.go`'s Writer: symbols first, then series in label order, then
 * everything derived from them (label indices, postings, offset tables, TOC) on close.
 *
 * Series entries are streamed to the file through a write buffer; postings are kept in
 * memory as one array of series refs per label pair until close.
 * @module
 */

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { compareLabels, type Labels } from '../../model/labels.js';
import { StorageError } from '../../model/errors.js';
import { Encbuf } from '../encoding.js';
import { crc32c } from '../crc32c.js';

/** Magic number at the start of an index file. */
export const MAGIC_INDEX = 0xbaaad700;
/** The index format version we write. */
export const INDEX_FORMAT_V2 = 2;
/** Series entries start at multiples of this; a series ref is its offset divided by it. */
export const SERIES_ALIGN = 16;
/** Size of the table of contents at the end of the file. */
export const TOC_SIZE = 6 * 8 + 4;

/**
 * Orders strings as Go does, by their UTF-8 bytes, which is code point order. JavaScript's
 * `<` compares UTF-16 code units, which differs only when one string has a character above
 * U+FFFF (a surrogate pair) where the other has one in U+E000–U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Lift surrogates above U+E000–U+FFFF, as their code points (≥ U+10000) are.
    if (x >= 0xd800) x = x < 0xe000 ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** Where a chunk of a series is and which samples it covers (ms, inclusive). */
export interface ChunkMeta {
  mint: number;
  maxt: number;
  /** Chunk reference: segment index << 32 | offset. */
  ref: number;
}

const FLUSH_AT = 1 << 20;

/**
 * An index writer. Call {@link addSymbols} once with every label name and value, then
 * {@link addSeries} for each series in increasing label order, then {@link close}.
 */
export class IndexWriter {
  private readonly path: string;
  private readonly fd: number;
  /** Bytes written to the file plus those pending in `out`. */
  private pos: number;
  /** Bytes already written to the file. */
  private flushed: number;
  /** Pending output, flushed when it passes 1 MiB. */
  private readonly out: Encbuf;
  private readonly scratch: Encbuf;
  private symbolIndex: Map<string, number>;
  private symbols: string[];
  /** Postings per label pair, keyed by nameRef * numSymbols + valueRef (which sorts like the strings). */
  private readonly postings: Map<number, number[]>;
  private readonly allRefs: number[];
  private lastLabels: Labels | null;
  private readonly toc: number[];
  private closed: boolean;

  /** Creates (or truncates) the index file at `path` and writes its header. */
  constructor(path: string) {
    this.path = path;
    this.fd = openSync(path, 'w');
    this.pos = 0;
    this.flushed = 0;
    this.out = new Encbuf(FLUSH_AT + 4096);
    this.scratch = new Encbuf(1024);
    this.symbolIndex = new Map();
    this.symbols = [];
    this.postings = new Map();
    this.allRefs = [];
    this.lastLabels = null;
    this.toc = [0, 0, 0, 0, 0, 0];
    this.closed = false;
    this.out.putBE32(MAGIC_INDEX);
    this.out.putByte(INDEX_FORMAT_V2);
    this.pos = 5;
  }

  /**
   * Writes the symbol table. `sorted` holds every label name and value the series will
   * use, unique and sorted by {@link compareUtf8} (Go's order).
   */
  addSymbols(sorted: readonly string[]): void {
    if (this.symbols.length > 0 || this.toc[1] !== 0)
      throw new StorageError('ERR_INDEX', `${this.path}: symbols already written`);
    this.toc[0] = this.pos;
    const e = this.scratch;
    e.reset();
    e.putBE32(0); // len, patched below
    e.putBE32(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      const s = sorted[i];
      if (i > 0 && compareUtf8(sorted[i - 1], s) >= 0) {
        throw new StorageError(
          'ERR_INDEX',
          `${this.path}: symbols not sorted and unique at ${JSON.stringify(s)}`,
        );
      }
      this.symbolIndex.set(s, i);
      e.putUvarintStr(s);
    }
    e.buf.writeUInt32BE(e.len - 4, 0);
    e.putBE32(crc32c(e.buf, 4, e.len));
    this.symbols = sorted.slice();
    this.write(e.get());
    this.toc[1] = this.pos; // series start
  }

  /**
   * Adds a series with its chunk metas (in time order, not overlapping). Series must
   * come in strictly increasing label order. Returns the series ref (offset / 16).
   */
  addSeries(labels: Labels, chunks: readonly ChunkMeta[]): number {
    if (this.toc[1] === 0)
      throw new StorageError('ERR_INDEX', `${this.path}: series added before symbols`);
    const last = this.lastLabels;
    if (last !== null && compareLabels(last, labels) >= 0) {
      throw new StorageError(
        'ERR_INDEX',
        `${this.path}: series ${labels.toString()} out of order after ${last.toString()}`,
      );
    }
    this.lastLabels = labels;
    this.pad(SERIES_ALIGN);
    const ref = this.pos / SERIES_ALIGN;
    if (ref > 0xffffffff)
      throw new StorageError('ERR_INDEX', `${this.path}: series ref ${ref} exceeds 32 bits`);

    const e = this.scratch;
    e.reset();
    const n = labels.size;
    e.putUvarint(n);
    const nsym = this.symbols.length;
    for (let i = 0; i < n; i++) {
      const name = this.symbolIndex.get(labels.name(i));
      const value = this.symbolIndex.get(labels.value(i));
      if (name === undefined || value === undefined) {
        throw new StorageError(
          'ERR_INDEX',
          `${this.path}: label ${labels.name(i)}=${JSON.stringify(labels.value(i))} not in the symbol table`,
        );
      }
      e.putUvarint(name);
      e.putUvarint(value);
      const key = name * nsym + value;
      const list = this.postings.get(key);
      if (list === undefined) this.postings.set(key, [ref]);
      else list.push(ref);
    }
    this.allRefs.push(ref);
    e.putUvarint(chunks.length);
    if (chunks.length > 0) {
      let c = chunks[0];
      e.putVarint(c.mint);
      e.putUvarint(c.maxt - c.mint);
      e.putUvarint(c.ref);
      let t0 = c.maxt;
      let ref0 = c.ref;
      for (let i = 1; i < chunks.length; i++) {
        c = chunks[i];
        if (c.mint <= t0 || c.maxt < c.mint) {
          throw new StorageError(
            'ERR_INDEX',
            `${this.path}: chunk [${c.mint}, ${c.maxt}] of ${labels.toString()} overlaps or precedes the previous one (maxt ${t0})`,
          );
        }
        e.putUvarint(c.mint - t0);
        e.putUvarint(c.maxt - c.mint);
        e.putVarint(c.ref - ref0);
        t0 = c.maxt;
        ref0 = c.ref;
      }
    }
    const o = this.out;
    o.putUvarint(e.len);
    o.putBytes(e.get());
    o.putBE32(crc32c(e.buf, 0, e.len));
    this.syncPos();
    return ref;
  }

  /** Writes the derived sections and the TOC, fsyncs and closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.toc[1] === 0) this.addSymbols([]);
      const nsym = this.symbols.length;
      const keys = [...this.postings.keys()].sort((a, b) => a - b);

      // Legacy label indices: one per name, listing its value refs.
      this.toc[2] = this.pos;
      const labelIndexOffsets: { name: string; off: number }[] = [];
      for (let i = 0; i < keys.length;) {
        const nameRef = Math.floor(keys[i] / nsym);
        let j = i;
        while (j < keys.length && Math.floor(keys[j] / nsym) === nameRef) j++;
        this.pad(4);
        labelIndexOffsets.push({ name: this.symbols[nameRef], off: this.pos });
        const e = this.scratch;
        e.reset();
        e.putBE32(0);
        e.putBE32(1);
        e.putBE32(j - i);
        for (let k = i; k < j; k++) e.putBE32(keys[k] - nameRef * nsym);
        this.finishSection(e);
        i = j;
      }

      // Postings: all series first under ("", ""), then every label pair in order.
      this.toc[4] = this.pos;
      const postingOffsets: number[] = [];
      this.pad(4);
      postingOffsets.push(this.pos);
      this.writePostings(this.allRefs);
      for (const k of keys) {
        this.pad(4);
        postingOffsets.push(this.pos);
        this.writePostings(this.postings.get(k)!);
      }

      // Label offset table.
      this.toc[3] = this.pos;
      let e = this.scratch;
      e.reset();
      e.putBE32(0);
      e.putBE32(labelIndexOffsets.length);
      for (const l of labelIndexOffsets) {
        e.putUvarint(1);
        e.putUvarintStr(l.name);
        e.putUvarint(l.off);
      }
      this.finishSection(e);

      // Postings offset table.
      this.toc[5] = this.pos;
      e = this.scratch;
      e.reset();
      e.putBE32(0);
      e.putBE32(keys.length + 1);
      e.putUvarint(2);
      e.putUvarintStr('');
      e.putUvarintStr('');
      e.putUvarint(postingOffsets[0]);
      for (let i = 0; i < keys.length; i++) {
        const nameRef = Math.floor(keys[i] / nsym);
        e.putUvarint(2);
        e.putUvarintStr(this.symbols[nameRef]);
        e.putUvarintStr(this.symbols[keys[i] - nameRef * nsym]);
        e.putUvarint(postingOffsets[i + 1]);
      }
      this.finishSection(e);

      // TOC.
      e = this.scratch;
      e.reset();
      for (const off of this.toc) e.putBE64(off);
      e.putBE32(crc32c(e.buf, 0, e.len));
      this.write(e.get());
      this.flush();
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }

  /** Size of the file so far, in bytes. */
  size(): number {
    return this.pos;
  }

  private writePostings(refs: readonly number[]): void {
    const e = this.scratch;
    e.reset();
    e.putBE32(0);
    e.putBE32(refs.length);
    for (let i = 0; i < refs.length; i++) e.putBE32(refs[i]);
    this.finishSection(e);
  }

  /** Patches the leading len of a section built in `e`, appends its CRC and writes it. */
  private finishSection(e: Encbuf): void {
    e.buf.writeUInt32BE(e.len - 4, 0);
    e.putBE32(crc32c(e.buf, 4, e.len));
    this.write(e.get());
  }

  private pad(align: number): void {
    const rem = this.pos % align;
    if (rem === 0) return;
    for (let i = rem; i < align; i++) this.out.putByte(0);
    this.syncPos();
  }

  private write(b: Uint8Array): void {
    this.out.putBytes(b);
    this.syncPos();
  }

  /** Recomputes pos from the pending buffer and flushes when it passes 1 MiB. */
  private syncPos(): void {
    this.pos = this.flushed + this.out.len;
    if (this.out.len >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    const o = this.out;
    let off = 0;
    while (off < o.len) off += writeSync(this.fd, o.buf, off, o.len - off);
    this.flushed += o.len;
    o.reset();
    this.pos = this.flushed;
  }
}
