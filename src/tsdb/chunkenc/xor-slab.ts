/**
 * Open XOR chunks of many series in shared pages: the head's growing chunks without an
 * object each.
 *
 * ```
 *  open chunk id ──▶ struct of arrays (per id)              pages of one size class
 *                   ┌──────────────────────────────┐        ┌──────────────────────────┐
 *                   │ class, slot, bit length,     │        │ [slot 0][slot 1][slot 2] │
 *                   │ spare byte, t, Δt, value     ├──────▶ │ [hdr|bits…  ][hdr|…]     │
 *                   │ hi/lo, XOR window            │        └──────────────────────────┘
 *                   └──────────────────────────────┘
 * ```
 *
 * A chunk the usual way ({@link XORChunk}) is four objects: the chunk, its appender, a bit
 * writer and a typed array with its buffer, ~400 bytes before the first sample. Here a
 * chunk is a slot in a page of its size class (slot sizes step by about 1.5×) plus a row
 * of numbers. The bytes are Prometheus's XOR chunk exactly: each sample is encoded by the
 * one {@link XORAppender} of the slab, writing into a small scratch stream that holds the
 * chunk header and the last partial byte, then copied into the slot. A chunk that
 * outgrows its slot moves to a slot of the next class.
 *
 * Slots are reused, so a reader never keeps a view: {@link XORSlab.copy} hands out a copy.
 * @module
 */

import { StorageError } from '../../model/errors.js';
import { BitWriter } from './bstream.js';
import { XORAppender, type XOREncoderState } from './xor.js';

const HEADER_BYTES = 2;
/** Scratch stream: header, one partial byte and the longest sample XORAppender may write. */
const SCRATCH_BYTES = 64;
/** Smallest slot; a first chunk starts here and moves as it grows. */
const MIN_SLOT = 32;
/** Below the appender's limit of samples per chunk, which the slow path enforces. */
const MAX_FAST_SAMPLES = 65_534;
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
/** Target bytes per page; a page holds a power of two of slots. */
const PAGE_TARGET = 64 * 1024;

/** Slot sizes: 32, 48, 64, 96, … up to 2 MiB (a 65,535-sample chunk fits). */
const SLOT_SIZES: number[] = [];
for (let s = MIN_SLOT; s <= 2 * 1024 * 1024;) {
  SLOT_SIZES.push(s);
  SLOT_SIZES.push((s * 3) / 2);
  s *= 2;
}

/** The pages of one slot size, and its free slots. */
class SlotClass {
  readonly size: number;
  /** log2 of slots per page. */
  readonly shift: number;
  readonly mask: number;
  readonly pages: Uint8Array[] = [];
  /** Slots handed out so far (the next new slot index). */
  used = 0;
  free: number[] = [];

  constructor(size: number) {
    this.size = size;
    let shift = 0;
    while (size << (shift + 1) <= PAGE_TARGET) shift++;
    this.shift = shift;
    this.mask = (1 << shift) - 1;
  }

  /** A zeroed slot. */
  alloc(): number {
    if (this.free.length > 0) return this.free.pop()!;
    const slot = this.used++;
    if (slot >>> this.shift === this.pages.length) {
      this.pages.push(new Uint8Array(this.size << this.shift));
    }
    return slot;
  }
}

/** Open XOR chunks in shared pages; see the module comment. One per head. */
export class XORSlab {
  private readonly classes: SlotClass[] = SLOT_SIZES.map((s) => new SlotClass(s));
  // Per open chunk id.
  private cls = new Uint8Array(64);
  private slot = new Int32Array(64);
  /** Bits written after the header. */
  private bits = new Int32Array(64);
  /** Prometheus's spare zero byte after a whole-byte write (see BitWriter.spareByte). */
  private spare = new Uint8Array(64);
  private ts = new Float64Array(64);
  private tDelta = new Float64Array(64);
  private vHi = new Uint32Array(64);
  private vLo = new Uint32Array(64);
  private leading = new Uint8Array(64);
  private trailing = new Uint8Array(64);
  private nextId = 0;
  private readonly freeIds: number[] = [];
  private live = 0;

  /** The sample of {@link append}, for {@link appendAt}. */
  private readonly oneT = new Float64Array(1);
  private readonly oneV = new Float64Array(1);
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  private readonly w = new BitWriter(this.scratch, HEADER_BYTES);
  private readonly app = new XORAppender(this.w);
  /** The appender's state, saved per chunk between samples (the one appender serves all). */
  private readonly st: XOREncoderState = this.app;

  /** Opens an empty chunk with room for about `capacity` bytes; returns its id. */
  open(capacity: number): number {
    let id: number;
    if (this.freeIds.length > 0) id = this.freeIds.pop()!;
    else {
      id = this.nextId++;
      if (id === this.cls.length) this.grow();
    }
    const c = classFor(capacity);
    this.cls[id] = c;
    this.slot[id] = this.classes[c].alloc();
    this.reset(id);
    this.live++;
    return id;
  }

  /** Empties chunk `id` in place (its slot stays, for a next chunk of about the same size). */
  clear(id: number): void {
    this.zeroSlot(id);
    this.reset(id);
  }

  /** Closes chunk `id`: its slot and id are reused. */
  close(id: number): void {
    this.zeroSlot(id);
    this.classes[this.cls[id]].free.push(this.slot[id]);
    this.freeIds.push(id);
    this.live--;
  }

  /** Appends a sample to chunk `id`. Timestamps must increase; the head checks that. */
  append(id: number, t: number, v: number): void {
    this.oneT[0] = t;
    this.oneV[0] = v;
    this.appendAt(id, this.oneT, this.oneV, 0);
  }

  /**
   * Appends sample `i` of the arrays to chunk `id`: the head's batch path. The samples
   * stay in the arrays down the calls, because a timestamp or fractional value passed to a
   * call that is not inlined is boxed (a heap number per sample).
   */
  appendAt(id: number, ts: ArrayLike<number>, vs: ArrayLike<number>, i: number): void {
    if (!this.appendUnchanged(id, ts, vs, i)) this.appendEncoded(id, ts, vs, i);
  }

  /**
   * An unchanged value (half of a Linkerd body's samples) after the second sample, with a
   * small change of interval: its 2 or 17 bits are written straight into the slot, in the
   * appender's encoding, without loading and saving its state. False when it is not such
   * a sample (nothing written).
   */
  private appendUnchanged(
    id: number,
    ts: ArrayLike<number>,
    vs: ArrayLike<number>,
    i: number,
  ): boolean {
    F64[0] = vs[i];
    if (U32[1] !== this.vHi[id] || U32[0] !== this.vLo[id]) return false;
    const t = ts[i];
    const tDelta = t - this.ts[id];
    const dod = tDelta - this.tDelta[id];
    if (dod < -8191 || dod > 8192) return false;
    const k = this.classes[this.cls[id]];
    const slot = this.slot[id];
    const page = k.pages[slot >>> k.shift];
    const off = (slot & k.mask) * k.size;
    const num = (page[off] << 8) | page[off + 1];
    const bits = this.bits[id];
    if (num < 2 || num >= MAX_FAST_SAMPLES || HEADER_BYTES + ((bits + 24) >>> 3) > k.size)
      return false;
    let n = 2; // dod 0 and the value's '0': two zero bits, and the slot is zero there
    if (dod !== 0) {
      // '10', the dod in 14 bits, then the value's '0': 17 bits, MSB first, OR-ed in.
      const y = (((0b10 << 14) | (dod & 0x3fff)) << 1) << (7 - (bits & 7));
      const b = off + HEADER_BYTES + (bits >>> 3);
      page[b] |= y >>> 16;
      page[b + 1] |= (y >>> 8) & 0xff;
      page[b + 2] |= y & 0xff;
      n = 17;
    }
    page[off] = (num + 1) >>> 8;
    page[off + 1] = (num + 1) & 0xff;
    this.ts[id] = t;
    this.tDelta[id] = tDelta;
    this.bits[id] = bits + n;
    this.spare[id] = 0;
    return true;
  }

  /** Any other sample: encoded by the appender into the scratch stream, then copied. */
  private appendEncoded(id: number, ts: ArrayLike<number>, vs: ArrayLike<number>, i: number): void {
    let k = this.classes[this.cls[id]];
    let slot = this.slot[id];
    let page = k.pages[slot >>> k.shift];
    let off = (slot & k.mask) * k.size;
    const bits = this.bits[id];
    const s = this.scratch;
    const w = this.w;
    // The scratch stream: header, then the slot's last partial byte at bit 0 of byte 2.
    s[0] = page[off];
    s[1] = page[off + 1];
    const at = off + HEADER_BYTES + (bits >>> 3);
    s[HEADER_BYTES] = (bits & 7) !== 0 ? page[at] : 0;
    w.buf = s;
    w.bitLen = bits & 7;
    w.spareByte = this.spare[id] === 1;
    const st = this.st;
    st.t = this.ts[id];
    st.tDelta = this.tDelta[id];
    st.vHi = this.vHi[id];
    st.vLo = this.vLo[id];
    st.leading = this.leading[id];
    st.trailing = this.trailing[id];
    this.app.appendAt(ts, vs, i);
    if (w.buf !== s) throw new Error('BUG: XOR slab scratch stream grew');
    this.ts[id] = st.t;
    this.tDelta[id] = st.tDelta;
    this.vHi[id] = st.vHi;
    this.vLo[id] = st.vLo;
    this.leading[id] = st.leading;
    this.trailing[id] = st.trailing;
    const wrote = (w.bitLen + 7) >>> 3;
    const newBits = (bits & ~7) + w.bitLen;
    const spare = w.spareByte ? 1 : 0;
    const need = HEADER_BYTES + ((newBits + 7) >>> 3) + spare;
    if (need > k.size) {
      this.move(id, need);
      k = this.classes[this.cls[id]];
      slot = this.slot[id];
      page = k.pages[slot >>> k.shift];
      off = (slot & k.mask) * k.size;
    }
    page[off] = s[0];
    page[off + 1] = s[1];
    const dst = off + HEADER_BYTES + (bits >>> 3) - HEADER_BYTES;
    for (let i = HEADER_BYTES; i < HEADER_BYTES + wrote; i++) {
      page[dst + i] = s[i];
      s[i] = 0; // the scratch stays zero past the header: writes only OR bits in
    }
    this.bits[id] = newBits;
    this.spare[id] = spare;
  }

  /** Samples in chunk `id`. */
  numSamples(id: number): number {
    const k = this.classes[this.cls[id]];
    const slot = this.slot[id];
    const page = k.pages[slot >>> k.shift];
    const off = (slot & k.mask) * k.size;
    return (page[off] << 8) | page[off + 1];
  }

  /** Length of chunk `id`'s encoded bytes. */
  byteLength(id: number): number {
    return HEADER_BYTES + ((this.bits[id] + 7) >>> 3) + this.spare[id];
  }

  /**
   * A view of chunk `id`'s bytes, valid only until the next call on the slab (the slot
   * may move or be reused): for copying them somewhere at once.
   */
  view(id: number): Uint8Array {
    const k = this.classes[this.cls[id]];
    const slot = this.slot[id];
    const off = (slot & k.mask) * k.size;
    return k.pages[slot >>> k.shift].subarray(off, off + this.byteLength(id));
  }

  /** An exact-size copy of chunk `id`'s bytes, which later appends leave alone. */
  copy(id: number): Uint8Array {
    return this.view(id).slice();
  }

  /** Open chunks. */
  get openChunks(): number {
    return this.live;
  }

  /** Bytes of the pages (used and free slots). */
  bytesHeld(): number {
    let n = 0;
    for (const k of this.classes) n += k.pages.length * (k.size << k.shift);
    return n;
  }

  private reset(id: number): void {
    this.bits[id] = 0;
    this.spare[id] = 0;
    this.ts[id] = 0;
    this.tDelta[id] = 0;
    this.vHi[id] = 0;
    this.vLo[id] = 0;
    this.leading[id] = 0xff; // no window yet, as a new XORAppender
    this.trailing[id] = 0;
  }

  /** Zeroes the used bytes of chunk `id`'s slot (a slot is all zeros when handed out). */
  private zeroSlot(id: number): void {
    const k = this.classes[this.cls[id]];
    const slot = this.slot[id];
    const off = (slot & k.mask) * k.size;
    k.pages[slot >>> k.shift].fill(0, off, off + this.byteLength(id));
  }

  /** Moves chunk `id` to a slot of at least `need` bytes. */
  private move(id: number, need: number): void {
    const c = classFor(need);
    if (c >= this.classes.length) {
      throw new StorageError(
        'ERR_CHUNK_TOO_LARGE',
        `open chunk needs ${need} bytes, more than the largest slot of ${SLOT_SIZES[SLOT_SIZES.length - 1]}`,
      );
    }
    const k = this.classes[c];
    const slot = k.alloc();
    const from = this.classes[this.cls[id]];
    const fromSlot = this.slot[id];
    const src = from.pages[fromSlot >>> from.shift];
    const srcOff = (fromSlot & from.mask) * from.size;
    const dst = k.pages[slot >>> k.shift];
    const dstOff = (slot & k.mask) * k.size;
    // A byte loop, not set(subarray): chunks move often while young, and the views were
    // three objects per move.
    const len = this.byteLength(id);
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i];
    this.zeroSlot(id);
    this.classes[this.cls[id]].free.push(this.slot[id]);
    this.cls[id] = c;
    this.slot[id] = slot;
  }

  private grow(): void {
    const n = this.cls.length * 2;
    this.cls = grown(this.cls, new Uint8Array(n));
    this.slot = grown(this.slot, new Int32Array(n));
    this.bits = grown(this.bits, new Int32Array(n));
    this.spare = grown(this.spare, new Uint8Array(n));
    this.ts = grown(this.ts, new Float64Array(n));
    this.tDelta = grown(this.tDelta, new Float64Array(n));
    this.vHi = grown(this.vHi, new Uint32Array(n));
    this.vLo = grown(this.vLo, new Uint32Array(n));
    this.leading = grown(this.leading, new Uint8Array(n));
    this.trailing = grown(this.trailing, new Uint8Array(n));
  }
}

/** `to` with `from` copied to its start. */
function grown<T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(from: T, to: T): T {
  to.set(from as ArrayLike<number>);
  return to;
}

/** The smallest slot class of at least `bytes` bytes. */
function classFor(bytes: number): number {
  let c = 0;
  while (c < SLOT_SIZES.length && SLOT_SIZES[c] < bytes) c++;
  return c;
}
