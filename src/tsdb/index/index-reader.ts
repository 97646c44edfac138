/**
 * Reads a block's index file, format v2 (docs/format/index.md), as Prometheus's
 * `tsdb/index/index.go` Reader. The file is read into one Buffer (Prometheus mmaps it);
 * the symbol table and the postings offset table are decoded on open, series entries
 * and postings lists on demand.
 * @module
 */

import { readFileSync } from 'node:fs';
import { CorruptionError } from '../../model/errors.js';
import { Labels } from '../../model/labels.js';
import { Decbuf } from '../encoding.js';
import { crc32c } from '../crc32c.js';
import {
  compareUtf8,
  INDEX_FORMAT_V2,
  MAGIC_INDEX,
  SERIES_ALIGN,
  TOC_SIZE,
} from './index-writer.js';

/** The chunk metas of one series, as parallel arrays; reused across {@link IndexReader.series} calls. */
export class SeriesChunks {
  /** Number of chunks. */
  n = 0;
  mint: number[] = [];
  maxt: number[] = [];
  ref: number[] = [];

  reset(): void {
    this.n = 0;
  }

  push(mint: number, maxt: number, ref: number): void {
    const i = this.n++;
    this.mint[i] = mint;
    this.maxt[i] = maxt;
    this.ref[i] = ref;
  }
}

/** The values of one label name, sorted, with the offset of each value's postings list. */
interface LabelPostings {
  values: string[];
  offsets: number[];
}

const EMPTY_POSTINGS = new Uint32Array(0);

/** An open index file. */
export class IndexReader {
  /** Path of the file, for error messages. */
  readonly path: string;
  private readonly b: Buffer;
  private readonly symbolTable: string[];
  /** Per label name (and '' for all series): its values and their postings offsets. */
  private readonly postingsTable: Map<string, LabelPostings>;
  private readonly d: Decbuf;
  /** Section offsets from the TOC. */
  readonly toc: {
    symbols: number;
    series: number;
    labelIndices: number;
    labelIndicesTable: number;
    postings: number;
    postingsTable: number;
  };

  /** Reads and checks the index file at `path`. */
  static open(path: string): IndexReader {
    return new IndexReader(readFileSync(path), path);
  }

  /** Checks and decodes the header, TOC, symbols and postings offset table of `b`. */
  constructor(b: Buffer, path = 'index') {
    this.path = path;
    this.b = b;
    this.d = new Decbuf();
    if (b.length < 5 + TOC_SIZE) throw this.corrupt(0, `index of ${b.length} bytes is too short`);
    if (b.readUInt32BE(0) !== MAGIC_INDEX)
      throw this.corrupt(0, `bad magic 0x${b.readUInt32BE(0).toString(16)}, want 0xbaaad700`);
    if (b[4] !== INDEX_FORMAT_V2)
      throw this.corrupt(4, `unsupported index version ${b[4]}, want 2`);
    const tocAt = b.length - TOC_SIZE;
    if (crc32c(b, tocAt, tocAt + 48) !== b.readUInt32BE(tocAt + 48))
      throw this.corrupt(tocAt, 'TOC checksum mismatch');
    const d = new Decbuf(b, tocAt, tocAt + 48);
    this.toc = {
      symbols: d.be64(),
      series: d.be64(),
      labelIndices: d.be64(),
      labelIndicesTable: d.be64(),
      postings: d.be64(),
      postingsTable: d.be64(),
    };
    for (const [k, v] of Object.entries(this.toc)) {
      if (v > tocAt) throw this.corrupt(tocAt, `TOC ${k} offset ${v} is past the TOC`);
    }

    // Symbols.
    const sd = this.section(this.toc.symbols);
    const count = sd.be32();
    this.symbolTable = new Array<string>(count);
    for (let i = 0; i < count; i++) this.symbolTable[i] = sd.uvarintStr();
    if (sd.errKindOrNull() !== null)
      throw this.corrupt(sd.errOffset(), `symbol table: ${sd.err()!.message}`);

    // Postings offset table: every entry, grouped by name (entries come sorted).
    this.postingsTable = new Map();
    const pd = this.section(this.toc.postingsTable);
    let n = pd.be32();
    let cur: LabelPostings | null = null;
    let curName = '';
    while (n-- > 0 && pd.errKindOrNull() === null) {
      const at = pd.off;
      if (pd.uvarint() !== 2)
        throw this.corrupt(at, 'postings offset table entry does not have 2 keys');
      const name = pd.uvarintStr();
      const value = pd.uvarintStr();
      const off = pd.uvarint();
      if (cur === null || name !== curName) {
        cur = this.postingsTable.get(name) ?? null;
        if (cur === null) {
          cur = { values: [], offsets: [] };
          this.postingsTable.set(name, cur);
        }
        curName = name;
      }
      cur.values.push(value);
      cur.offsets.push(off);
    }
    if (pd.errKindOrNull() !== null)
      throw this.corrupt(pd.errOffset(), `postings offset table: ${pd.err()!.message}`);
  }

  /** Size of the index file in bytes. */
  size(): number {
    return this.b.length;
  }

  /** The symbol table, sorted. */
  symbols(): readonly string[] {
    return this.symbolTable;
  }

  /** Sorted label names of all series. */
  labelNames(): string[] {
    const names: string[] = [];
    for (const k of this.postingsTable.keys()) if (k !== '') names.push(k);
    return names.sort(compareUtf8);
  }

  /** Sorted values of label `name` over all series (a view: do not change it). */
  labelValues(name: string): readonly string[] {
    if (name === '') return [];
    return this.postingsTable.get(name)?.values ?? [];
  }

  /** Refs of every series, increasing. */
  allPostings(): Uint32Array {
    const lp = this.postingsTable.get('');
    return lp === undefined || lp.offsets.length === 0
      ? EMPTY_POSTINGS
      : this.readPostings(lp.offsets[0]);
  }

  /** Refs of the series with `name=value`, increasing; empty when there are none. */
  postings(name: string, value: string): Uint32Array {
    const lp = this.postingsTable.get(name);
    if (lp === undefined || name === '') return EMPTY_POSTINGS;
    const i = bsearch(lp.values, value);
    return i < 0 ? EMPTY_POSTINGS : this.readPostings(lp.offsets[i]);
  }

  /** Postings of the i-th value of label `name` (see {@link labelValues}). */
  postingsAt(name: string, i: number): Uint32Array {
    const lp = this.postingsTable.get(name);
    return lp === undefined ? EMPTY_POSTINGS : this.readPostings(lp.offsets[i]);
  }

  private readPostings(off: number): Uint32Array {
    const d = this.section(off);
    const n = d.be32();
    if (d.len() !== n * 4)
      throw this.corrupt(off, `postings list of ${n} entries has ${d.len()} bytes`);
    const out = new Uint32Array(n);
    const b = this.b;
    let p = d.off;
    for (let i = 0; i < n; i++, p += 4) out[i] = b.readUInt32BE(p);
    return out;
  }

  /**
   * Decodes series `ref`: returns its labels and fills `chunks` with its chunk metas.
   * Label strings are the symbol table's own, so equal strings share memory.
   */
  series(ref: number, chunks: SeriesChunks): Labels {
    const off = ref * SERIES_ALIGN;
    const d = this.d.reset(this.b, off, this.b.length);
    const len = d.uvarint();
    const start = d.off;
    if (d.errKindOrNull() !== null || start + len + 4 > this.b.length)
      throw this.corrupt(off, `series ${ref}: bad length`);
    if (crc32c(this.b, start, start + len) !== this.b.readUInt32BE(start + len))
      throw this.corrupt(off, `series ${ref}: checksum mismatch`);
    d.end = start + len;
    const nl = d.uvarint();
    const pairs = new Array<string>(nl * 2);
    const syms = this.symbolTable;
    for (let i = 0; i < nl * 2; i++) {
      const s = d.uvarint();
      if (s >= syms.length)
        throw this.corrupt(off, `series ${ref}: symbol ref ${s} out of range (${syms.length})`);
      pairs[i] = syms[s];
    }
    chunks.reset();
    const nc = d.uvarint();
    if (nc > 0) {
      let mint = d.varint();
      let maxt = mint + d.uvarint();
      let cref = d.uvarint();
      chunks.push(mint, maxt, cref);
      for (let i = 1; i < nc; i++) {
        mint = maxt + d.uvarint();
        maxt = mint + d.uvarint();
        cref += d.varint();
        chunks.push(mint, maxt, cref);
      }
    }
    if (d.errKindOrNull() !== null)
      throw this.corrupt(d.errOffset(), `series ${ref}: ${d.err()!.message}`);
    return Labels.fromSortedPairs(pairs);
  }

  /** A Decbuf over a `len <4b> | body | CRC <4b>` section at `off`, after checking the CRC. */
  private section(off: number): Decbuf {
    const b = this.b;
    if (off + 4 > b.length) throw this.corrupt(off, 'section header past the end');
    const len = b.readUInt32BE(off);
    if (off + 4 + len + 4 > b.length)
      throw this.corrupt(off, `section of ${len} bytes runs past the end`);
    if (crc32c(b, off + 4, off + 4 + len) !== b.readUInt32BE(off + 4 + len))
      throw this.corrupt(off, 'section checksum mismatch');
    return new Decbuf(b, off + 4, off + 4 + len);
  }

  private corrupt(off: number, msg: string): CorruptionError {
    return new CorruptionError(this.path, off, msg);
  }

  /** Releases the file's bytes. */
  close(): void {
    // The buffer is garbage-collected with the reader; nothing to release explicitly.
  }
}

/** Index of `v` in the sorted array `a`, or -1. */
function bsearch(a: readonly string[], v: string): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(a[mid], v);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
