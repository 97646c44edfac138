/**
 * Metric metadata of one target (the `metadata` map of Prometheus's `scrapeCache`): the
 * `# TYPE`, `# HELP` and `# UNIT` the target wrote, per metric family, as the parser
 * reports them. A family's entry lives until it has been absent from more than 10
 * successful scrapes, as in Prometheus, so a family that comes and goes keeps its text.
 *
 * The warm path allocates nothing new to keep: the parser's strings are compared with the
 * stored ones and dropped when equal.
 * @module
 */

import type { MetricType } from '../exposition/index.js';

/**
 * The metadata type words Prometheus 2.42 reports: its text parser reads `untyped` as
 * `unknown`, and a family with HELP or UNIT but no TYPE is `unknown` too.
 */
export type MetadataType = Exclude<MetricType, 'untyped'>;

/** One family's metadata, as `/api/v1/targets/metadata` and remote_write carry it. */
export interface MetricMetadata {
  /** The metric family name (as written after `# TYPE`, `# HELP` or `# UNIT`). */
  readonly metric: string;
  readonly type: MetadataType;
  readonly help: string;
  readonly unit: string;
}

/** Scrapes a family may miss before its metadata is dropped (Prometheus keeps it for 10). */
const KEEP_ITERATIONS = 10;

/** One family's entry; mutable so a warm scrape only stamps `lastIter`. */
class MetaEntry implements MetricMetadata {
  readonly metric: string;
  type: MetadataType;
  help: string;
  unit: string;
  /** Iteration (scrape number) in which a TYPE, HELP or UNIT line named the family. */
  lastIter: number;

  constructor(metric: string) {
    this.metric = metric;
    this.type = 'unknown';
    this.help = '';
    this.unit = '';
    this.lastIter = 0;
  }
}

/** The metadata of one target; see the module comment. */
export class MetadataStore {
  /** Families in the order they were first seen (the exposition's order). */
  private readonly entries = new Map<string, MetaEntry>();

  private entry(family: string, iter: number): MetaEntry {
    let e = this.entries.get(family);
    if (e === undefined) {
      e = new MetaEntry(family);
      this.entries.set(family, e);
    }
    e.lastIter = iter;
    return e;
  }

  /** Records a `# TYPE` line in scrape `iter`; `untyped` is stored as `unknown`. */
  setType(family: string, type: MetricType, iter: number): void {
    this.entry(family, iter).type = type === 'untyped' ? 'unknown' : type;
  }

  /**
   * Records a `# HELP` line (text already unescaped) in scrape `iter`. An unchanged text
   * keeps the stored string, so the parser's copy dies young.
   */
  setHelp(family: string, help: string, iter: number): void {
    const e = this.entry(family, iter);
    if (e.help !== help) e.help = help;
  }

  /** Records a `# UNIT` line (OpenMetrics) in scrape `iter`. */
  setUnit(family: string, unit: string, iter: number): void {
    const e = this.entry(family, iter);
    if (e.unit !== unit) e.unit = unit;
  }

  /** Drops families not named in the last {@link KEEP_ITERATIONS} scrapes before `iter`. */
  evict(iter: number): void {
    for (const [k, e] of this.entries)
      if (iter - e.lastIter > KEEP_ITERATIONS) this.entries.delete(k);
  }

  /** The metadata of `family` (a copy), or undefined. */
  get(family: string): MetricMetadata | undefined {
    const e = this.entries.get(family);
    return e === undefined
      ? undefined
      : { metric: e.metric, type: e.type, help: e.help, unit: e.unit };
  }

  /** Every family's metadata in first-seen order, copied (later scrapes do not change it). */
  list(): MetricMetadata[] {
    const out: MetricMetadata[] = [];
    for (const e of this.entries.values())
      out.push({ metric: e.metric, type: e.type, help: e.help, unit: e.unit });
    return out;
  }

  /** Number of families held. */
  get size(): number {
    return this.entries.size;
  }
}
