/**
 * The WriteRequest shape the remote benches encode: 500 Linkerd-like `request_total` series
 * (encoded label sets, indexed by ref) and a batch of 500 samples in typed arrays.
 * @module
 */
import { Labels } from '../../src/model/labels.js';
import { encodeLabels } from '../../src/remote/index.js';

/** Series in the request's label table. */
export const BENCH_SERIES = 500;
/** Samples per request. */
export const BENCH_SAMPLES_PER_REQUEST = 500;

/** The encoded label set of each series ref. */
export function benchSeriesLabels(): ReturnType<typeof encodeLabels>[] {
  return Array.from({ length: BENCH_SERIES }, (_, s) =>
    encodeLabels(
      Labels.from({
        __name__: 'request_total',
        namespace: 'emojivoto',
        deployment: `web-${s % 20}`,
        pod: `web-${s}-abcde`,
        direction: 'inbound',
        status_code: String(200 + (s % 5)),
      }),
    ),
  );
}

/** Empty sample arrays (refs, timestamps, values) of one request. */
export function benchSampleArrays(): { refs: Float64Array; ts: Float64Array; vs: Float64Array } {
  const n = BENCH_SAMPLES_PER_REQUEST;
  return { refs: new Float64Array(n), ts: new Float64Array(n), vs: new Float64Array(n) };
}
