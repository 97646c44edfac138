/**
 * The head's write-ahead log sink over the WAL: each committed batch becomes a series
 * record (new series) and a samples record, encoded into reused buffers, then one WAL
 * commit. The head publishes only after {@link WalHeadLog.commit} resolves.
 * @module
 */

import { Encbuf } from './encoding.js';
import type { HeadLog, HeadLogSeries } from './head-log.js';
import { encodeSamples, encodeSeries, type RefSeries } from './record.js';
import type { WAL } from './wal/wal.js';

/** Looks up the labels of a series by ref (the head's registry). */
export type SeriesLookup = (ref: number) => HeadLogSeries | undefined;

/**
 * A {@link HeadLog} writing to a {@link WAL}. It remembers which series refs have a series
 * record in the log: a samples record whose series was never logged (say, the appender
 * that created it rolled back, or committed after another one that used it) gets the
 * missing series record first, so replay never meets a sample of an unknown series.
 */
export class WalHeadLog implements HeadLog {
  readonly wal: WAL;
  private lookup: SeriesLookup;
  private readonly enc: Encbuf;
  /** One byte per ref: 1 when a series record for it is in the log. */
  private logged: Uint8Array;
  private readonly missing: RefSeries[];

  constructor(wal: WAL, lookup: SeriesLookup = () => undefined) {
    this.wal = wal;
    this.lookup = lookup;
    this.enc = new Encbuf(64 * 1024);
    this.logged = new Uint8Array(1024);
    this.missing = [];
  }

  /** Sets how to find a series' labels (the head, once it exists). */
  setLookup(lookup: SeriesLookup): void {
    this.lookup = lookup;
  }

  /** Notes that the log already holds a series record for `ref` (replay calls this). */
  markLogged(ref: number): void {
    if (ref >= this.logged.length) this.growLogged(ref);
    this.logged[ref] = 1;
  }

  logSeries(series: readonly HeadLogSeries[]): void {
    if (series.length === 0) return;
    this.enc.reset();
    encodeSeries(this.enc, series);
    this.wal.log(this.enc.get());
    for (let i = 0; i < series.length; i++) this.markLogged(series[i].ref);
  }

  logSamples(refs: Uint32Array, ts: Float64Array, vs: Float64Array, n: number): void {
    if (n === 0) return;
    const logged = this.logged;
    for (let i = 0; i < n; i++) {
      const ref = refs[i];
      if (ref >= logged.length || logged[ref] === 0) this.addMissing(ref);
    }
    if (this.missing.length > 0) {
      this.logSeries(this.missing);
      this.missing.length = 0;
    }
    this.enc.reset();
    encodeSamples(this.enc, refs, ts, vs, 0, n);
    this.wal.log(this.enc.get());
  }

  commit(): Promise<void> {
    return this.wal.commit();
  }

  private addMissing(ref: number): void {
    for (const m of this.missing) if (m.ref === ref) return;
    const s = this.lookup(ref);
    if (s !== undefined) this.missing.push({ ref: s.ref, labels: s.labels });
  }

  private growLogged(ref: number): void {
    let cap = this.logged.length * 2;
    while (cap <= ref) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.logged);
    this.logged = nb;
  }
}
