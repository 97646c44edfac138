/**
 * The staleness marker: a NaN with a payload that no computation produces, written by
 * the scraper when a series disappears (Prometheus `value.StaleNaN`, bits 0x7ff0000000000002).
 * Ordinary NaN arithmetic yields 0x7ff8000000000001-style quiet NaNs, never this one.
 * @module
 */

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** High and low 32-bit halves of the stale marker's bits (little-endian host order below). */
export const STALE_NAN_HI = 0x7ff00000;
export const STALE_NAN_LO = 0x00000002;

U32[0] = STALE_NAN_LO;
U32[1] = STALE_NAN_HI;

/** The stale marker value. Compare with {@link isStaleNaN}, never with `===` (NaN !== NaN). */
export const STALE_NAN: number = F64[0];

/** Reports whether `v` carries exactly the stale marker's bits. */
export function isStaleNaN(v: number): boolean {
  if (v === v) return false; // fast path: not NaN at all
  F64[0] = v;
  return U32[0] === STALE_NAN_LO && U32[1] === STALE_NAN_HI;
}

/** Float bits of the ordinary NaN Prometheus uses (`math.NaN()`: 0x7ff8000000000001). */
export const NORMAL_NAN: number = (() => {
  U32[0] = 1;
  U32[1] = 0x7ff80000;
  return F64[0];
})();
