/**
 * Decoder checkpoints of XOR chunks, kept in memory beside the chunks (never written):
 * a query that needs only the end of a chunk resumes decoding from a checkpoint instead of
 * from the chunk's first sample.
 *
 * ```
 *  key (a chunk's number) ──Map──▶ slot ──▶ pool[slot * 9 ...]
 *                                           ┌────┬──────────────────────────────────────┐
 *                                           │ id │ sample, bit, t, Δt, hi, lo, lead, trail│
 *                                           └────┴──────────────────────────────────────┘
 * ```
 *
 * One checkpoint per chunk: the latest a decode has left (the state just before the
 * window a query asked for), so repeated queries at advancing times keep moving it
 * forward. The `id` guards against a key naming another chunk than the one that was
 * checkpointed (e.g. a series' open chunk after it was cut). The cache is bounded: when
 * every slot is taken it starts over, which costs a few full decodes, never a wrong answer.
 * @module
 */

import { XOR_CHECKPOINT_SIZE } from './xor.js';

/** Numbers per slot: the chunk id, then the checkpoint. */
const SLOT = 1 + XOR_CHECKPOINT_SIZE;
/** Slots allocated at first, doubled up to the bound. */
const INITIAL_SLOTS = 1024;

/** Checkpoints by chunk key, in one pooled `Float64Array` (no object per chunk). */
export class XORCheckpointCache {
  private readonly slots = new Map<number, number>();
  private pool = new Float64Array(0);
  private used = 0;
  private readonly maxSlots: number;

  /** `maxSlots` bounds the memory: 72 bytes of pool plus one map entry per slot. */
  constructor(maxSlots = 1 << 16) {
    this.maxSlots = maxSlots;
  }

  /** Number of chunks with a checkpoint. */
  get size(): number {
    return this.slots.size;
  }

  /** The pool that offsets from {@link find} index; valid until the next {@link put}. */
  get data(): Float64Array {
    return this.pool;
  }

  /**
   * Offset in {@link data} of the checkpoint of chunk `key` (a {@link XOR_CHECKPOINT_SIZE}
   * run, as {@link XORBulkDecoder.decodeFrom} takes it), or -1 when it has none for `id`.
   */
  find(key: number, id: number): number {
    const slot = this.slots.get(key);
    if (slot === undefined) return -1;
    const at = slot * SLOT;
    return this.pool[at] === id ? at + 1 : -1;
  }

  /**
   * Keeps `cp` (a decoder's mark) as the checkpoint of chunk `key` with identity `id`,
   * unless the one held for it is at a later sample.
   */
  put(key: number, id: number, cp: Float64Array): void {
    let slot = this.slots.get(key);
    if (slot !== undefined) {
      const at = slot * SLOT;
      if (this.pool[at] === id && this.pool[at + 1] >= cp[0]) return;
    } else {
      if (this.used === this.maxSlots) {
        // Full: start over rather than track recency per chunk.
        this.slots.clear();
        this.used = 0;
      }
      slot = this.used++;
      if (slot * SLOT >= this.pool.length) {
        const next = new Float64Array(
          Math.min(this.maxSlots, Math.max(INITIAL_SLOTS, slot * 2)) * SLOT,
        );
        next.set(this.pool);
        this.pool = next;
      }
      this.slots.set(key, slot);
    }
    const at = slot * SLOT;
    this.pool[at] = id;
    this.pool.set(cp.subarray(0, XOR_CHECKPOINT_SIZE), at + 1);
  }
}
