/**
 * The semantic rules of strict OpenMetrics 1.0, checked line by line as the parser goes
 * (the parser itself checks the line syntax). What it tracks, and why it stays cheap:
 *
 * ```
 * exposition ─┬─ family (current)     name, type, which metadata seen, samples seen?
 *             │    └─ group (current) labels without le/quantile/state label
 *             │         └─ point      series seen, timestamp, histogram accumulators
 *             ├─ families seen        Set of names: families must not come back
 *             └─ claimed names        Map sample name → family: names must not clash
 * ```
 *
 * Memory grows with the number of families and with the label groups of the current
 * family only; per sample the work is one `labels()` and two Set lookups. This is the
 * validator's price; the lenient 'text' mode does none of it.
 *
 * Rules follow the OpenMetrics test suite (prometheus/OpenMetrics tests/testdata/parsers):
 * metadata once per family and before its samples; families and label groups contiguous;
 * sample names by type (counter `_total`/`_created`, histogram `_bucket`/`_count`/`_sum`/
 * `_created`, gauge histogram `_bucket`/`_gcount`/`_gsum`, summary bare/`_count`/`_sum`/
 * `_created`, info `_info`, others bare); value rules (counters, buckets and counts not
 * NaN nor negative; stateset 0 or 1; info 1; quantiles in [0, 1]); histogram points with
 * ordered buckets ending in `le="+Inf"`, cumulative values, `_count` equal to the +Inf
 * bucket and given together with `_sum`, no `_sum` when a bucket is negative; UNIT a
 * suffix of the family name and not on info or stateset; exemplars only on counter
 * `_total` and histogram `_bucket` samples; repeated series need increasing timestamps.
 * @module
 */

import type { Labels } from '../model/labels.js';
import { parseFloatBytes } from './float.js';
import { EntryType, type ExpositionParser, type MetricType } from './parser.js';

/** Sample-name suffixes each type owns ('' is the bare family name). */
const SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  counter: ['_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_count', '_sum', '_created'],
  gaugehistogram: ['_bucket', '_gcount', '_gsum'],
  summary: ['', '_count', '_sum', '_created'],
  stateset: [''],
  info: ['_info'],
  untyped: [''],
  unknown: [''],
};

/** Parses a label value as a Go float (for `le` and `quantile`); undefined when invalid. */
function floatOf(s: string): number | undefined {
  const b = Buffer.from(s, 'latin1');
  return parseFloatBytes(b, 0, b.length);
}

/** Series of one point found by a linear search before a Set takes over. */
const MAX_LISTED_POINT_SERIES = 32;

/** Most `le`/`quantile` texts remembered by one validator: bucket bounds repeat on every point. */
const MAX_CACHED_FLOATS = 1024;

/** Tracks the current family, label group and metric point of a strict OpenMetrics parse. */
export class OpenMetricsValidator {
  private familiesSeen = new Set<string>();
  private claimed = new Map<string, string>();

  private fam: string | null = null;
  private type: MetricType = 'unknown';
  private hasType = false;
  private hasHelp = false;
  private hasUnit = false;
  private unit = '';
  private hasSamples = false;

  private group: string | null = null;
  private groupsSeen = new Set<string>();

  /**
   * Series of the current point, by name and `skip` label value (the group is the same):
   * a point holds a few series, and a linear search over interned strings beats a Set of
   * new key strings; a big point (hundreds of buckets) moves to a Set.
   */
  private pointNames: string[] = [];
  private pointSkips: string[] = [];
  private pointSet: Set<string> | null = null;
  /** The current group's label set, compared label by label before building a group key. */
  private groupLabels: Labels | null = null;
  private groupSkip = '';
  /** floatOf() results by text. */
  private floats = new Map<string, number | undefined>();
  /** The last sample name given to suffixOf() for the current family, and its answer. */
  private lastName = '';
  private lastSuffix: string | null = null;
  private pointTs: number | null = null;
  private bucketLe: number[] = [];
  private bucketVal: number[] = [];
  private lastLeText = '';
  private count: number | null = null;
  private sum: number | null = null;
  private pointUsed = false;

  /** Forgets everything, for a new body. */
  reset(): void {
    this.familiesSeen.clear();
    this.claimed.clear();
    this.floats.clear();
    this.fam = null;
    this.startFamily(null);
  }

  /** floatOf(s), remembered: a histogram repeats its bucket bounds on every point. */
  private floatOf(s: string): number | undefined {
    const floats = this.floats;
    let v = floats.get(s);
    if (v === undefined && !floats.has(s)) {
      v = floatOf(s);
      if (floats.size >= MAX_CACHED_FLOATS) floats.clear();
      floats.set(s, v);
    }
    return v;
  }

  /** Called after a HELP, TYPE or UNIT line. */
  metadata(p: ExpositionParser, t: EntryType): void {
    const name = p.family();
    if (name !== this.fam) {
      if (this.familiesSeen.has(name))
        p.failLine(`metadata for family "${name}" after that family ended`);
      if (this.claimed.has(name)) {
        p.failLine(
          `family name "${name}" clashes with a sample name of family "${this.claimed.get(name)}"`,
        );
      }
      this.closeFamily(p);
      this.startFamily(name);
      this.familiesSeen.add(name);
    } else if (this.hasSamples) {
      p.failLine(`metadata for family "${name}" after its samples`);
    }
    if (t === EntryType.Type) {
      if (this.hasType) p.failLine(`TYPE for family "${name}" given twice`);
      this.hasType = true;
      this.type = p.type();
      for (const s of SUFFIXES[this.type]) {
        const owner = this.claimed.get(name + s);
        if (owner !== undefined && owner !== name) {
          p.failLine(
            `sample name "${name + s}" of ${this.type} "${name}" clashes with family "${owner}"`,
          );
        }
      }
    } else if (t === EntryType.Help) {
      if (this.hasHelp) p.failLine(`HELP for family "${name}" given twice`);
      this.hasHelp = true;
    } else if (t === EntryType.Unit) {
      if (this.hasUnit) p.failLine(`UNIT for family "${name}" given twice`);
      this.hasUnit = true;
      this.unit = p.unit();
      if (this.unit !== '' && !name.endsWith('_' + this.unit)) {
        p.failLine(`unit "${this.unit}" is not a suffix of family name "${name}"`);
      }
    }
    if (this.hasUnit && this.unit !== '' && (this.type === 'info' || this.type === 'stateset')) {
      p.failLine(`${this.type} family "${name}" cannot have a unit`);
    }
  }

  /** Called after a sample line. */
  sample(p: ExpositionParser): void {
    const name = p.metricName();
    let suffix = this.suffixOf(name);
    if (suffix === null) {
      if (this.familiesSeen.has(name) || this.claimed.has(name)) {
        const owner = this.claimed.get(name) ?? name;
        p.failLine(
          `sample "${name}" does not fit the current family, and family "${owner}" already ended`,
        );
      }
      this.closeFamily(p);
      this.startFamily(name);
      this.familiesSeen.add(name);
      suffix = '';
    }
    this.hasSamples = true;
    const ls = p.labels();
    const v = p.value();
    const type = this.type;
    const exemplarOk =
      (type === 'counter' && suffix === '_total') ||
      ((type === 'histogram' || type === 'gaugehistogram') && suffix === '_bucket');
    if (p.hasExemplarNow() && !exemplarOk)
      p.failLine(`exemplar not allowed on ${type} sample "${name}"`);

    // Which label sets this sample's group: drop the labels that tell samples of a point apart.
    let skip = '';
    let le: number | undefined;
    switch (type) {
      case 'counter':
        if (suffix === '_total' && (v !== v || v < 0))
          p.failLine(`counter "${name}" has invalid value ${v}`);
        break;
      case 'histogram':
      case 'gaugehistogram':
        if (suffix === '_bucket') {
          const s = ls.get('le');
          if (s === '') p.failLine(`${type} bucket "${name}" has no "le" label`);
          le = this.floatOf(s);
          if (le === undefined || le !== le)
            p.failLine(`${type} bucket "${name}" has invalid le="${s}"`);
          if (v !== v || v < 0) p.failLine(`${type} bucket "${name}" has invalid value ${v}`);
          skip = 'le';
        } else if (
          suffix === '_count' ||
          suffix === '_gcount' ||
          (suffix === '_sum' && type === 'histogram')
        ) {
          if (v !== v || v < 0) p.failLine(`${type} "${name}" has invalid value ${v}`);
        } else if (suffix === '_gsum' && v !== v) {
          p.failLine(`${type} "${name}" has invalid value ${v}`);
        }
        break;
      case 'summary':
        if (suffix === '') {
          const s = ls.get('quantile');
          const q = s === '' ? undefined : this.floatOf(s);
          if (q === undefined || !(q >= 0 && q <= 1))
            p.failLine(`summary "${name}" needs a quantile label in [0, 1], got "${s}"`);
          if (v < 0) p.failLine(`summary quantile "${name}" has negative value ${v}`);
          skip = 'quantile';
        } else if (suffix === '_count' || suffix === '_sum') {
          if (v !== v || v < 0) p.failLine(`summary "${name}" has invalid value ${v}`);
        }
        break;
      case 'stateset':
        if (ls.get(name) === '')
          p.failLine(`stateset "${name}" sample needs a label named "${name}"`);
        if (v !== 0 && v !== 1) p.failLine(`stateset "${name}" value must be 0 or 1, got ${v}`);
        skip = name;
        break;
      case 'info':
        if (v !== 1) p.failLine(`info "${name}" value must be 1, got ${v}`);
        break;
      default:
        break;
    }

    // Within a group, a series is told apart by its name and its `skip` label.
    const skipValue = skip === '' ? '' : ls.get(skip);
    const ts = p.timestampSeconds();
    const gl = this.groupLabels;
    if (gl === null || skip !== this.groupSkip || !sameGroup(gl, ls, skip)) {
      const key = groupKey(ls, skip);
      if (key !== this.group) {
        if (this.groupsSeen.has(key))
          p.failLine(
            `label set of "${name}" interleaved with other label sets of family "${this.fam}"`,
          );
        this.finishPoint(p);
        this.group = key;
        this.groupsSeen.add(key);
      }
      this.groupLabels = ls;
      this.groupSkip = skip;
    }
    if (this.pointUsed && this.inPoint(name, skipValue)) {
      // The same series again: a new metric point, which needs a later or equal timestamp.
      if (this.pointTs === null || ts === null)
        p.failLine(`series "${name}" repeated without timestamps`);
      if ((ts as number) < (this.pointTs as number))
        p.failLine(`timestamps of series "${name}" go backwards`);
      this.finishPoint(p);
    }
    if (!this.pointUsed) this.pointTs = ts;
    this.pointUsed = true;
    this.addToPoint(name, skipValue);

    if (type === 'histogram' || type === 'gaugehistogram') {
      if (suffix === '_bucket') {
        this.bucketLe.push(le as number);
        this.bucketVal.push(v);
        this.lastLeText = ls.get('le');
      } else if (suffix === '_count' || suffix === '_gcount') {
        this.count = v;
      } else if (suffix === '_sum' || suffix === '_gsum') {
        this.sum = v;
      }
    }
  }

  /** Whether the current point has the series named `name` with `skip` label `skipValue`. */
  private inPoint(name: string, skipValue: string): boolean {
    if (this.pointSet !== null) return this.pointSet.has(name + '\u0000' + skipValue);
    const names = this.pointNames;
    const skips = this.pointSkips;
    for (let k = 0; k < names.length; k++)
      if (skips[k] === skipValue && names[k] === name) return true;
    return false;
  }

  private addToPoint(name: string, skipValue: string): void {
    let set = this.pointSet;
    if (set === null && this.pointNames.length < MAX_LISTED_POINT_SERIES) {
      this.pointNames.push(name);
      this.pointSkips.push(skipValue);
      return;
    }
    if (set === null) {
      set = new Set<string>();
      for (let k = 0; k < this.pointNames.length; k++)
        set.add(this.pointNames[k] + '\u0000' + this.pointSkips[k]);
      this.pointSet = set;
    }
    set.add(name + '\u0000' + skipValue);
  }

  /** Called at `# EOF`. */
  end(p: ExpositionParser): void {
    this.closeFamily(p);
  }

  /** The suffix by which `name` belongs to the current family, or null when it does not. */
  private suffixOf(name: string): string | null {
    if (name === this.lastName) return this.lastSuffix;
    const fam = this.fam;
    let suffix: string | null = null;
    if (fam !== null && name.startsWith(fam)) {
      const s = name.slice(fam.length);
      if (SUFFIXES[this.type].includes(s)) suffix = s;
    }
    this.lastName = name;
    this.lastSuffix = suffix;
    return suffix;
  }

  private startFamily(name: string | null): void {
    this.fam = name;
    this.type = 'unknown';
    this.hasType = false;
    this.hasHelp = false;
    this.hasUnit = false;
    this.unit = '';
    this.hasSamples = false;
    this.group = null;
    this.groupLabels = null;
    this.groupsSeen.clear();
    this.lastName = '';
    this.lastSuffix = null;
    this.clearPoint();
  }

  /** Ends the current family: checks its last point and records the sample names it owns. */
  private closeFamily(p: ExpositionParser): void {
    const fam = this.fam;
    if (fam === null) return;
    this.finishPoint(p);
    for (const s of SUFFIXES[this.type]) {
      const owner = this.claimed.get(fam + s);
      if (owner !== undefined && owner !== fam)
        p.failLine(`sample name "${fam + s}" clashes with family "${owner}"`);
      this.claimed.set(fam + s, fam);
    }
    this.fam = null;
  }

  private clearPoint(): void {
    this.pointNames.length = 0;
    this.pointSkips.length = 0;
    this.pointSet = null;
    this.pointTs = null;
    this.bucketLe.length = 0;
    this.bucketVal.length = 0;
    this.lastLeText = '';
    this.count = null;
    this.sum = null;
    this.pointUsed = false;
  }

  /** Checks a finished histogram point: buckets, +Inf, count and sum. */
  private finishPoint(p: ExpositionParser): void {
    const type = this.type;
    if (this.pointUsed && (type === 'histogram' || type === 'gaugehistogram')) {
      const les = this.bucketLe;
      const vals = this.bucketVal;
      const fam = this.fam;
      const n = les.length;
      if (n === 0) {
        if (this.count !== null || this.sum !== null) p.failLine(`${type} "${fam}" has no buckets`);
      } else {
        let negative = false;
        for (let k = 0; k < n; k++) {
          if (les[k] < 0) negative = true;
          if (k > 0 && !(les[k] > les[k - 1]))
            p.failLine(`${type} "${fam}" buckets are not in increasing "le" order`);
          if (k > 0 && vals[k] < vals[k - 1])
            p.failLine(`${type} "${fam}" bucket values are not cumulative`);
        }
        if (this.lastLeText !== '+Inf') p.failLine(`${type} "${fam}" has no le="+Inf" bucket`);
        const inf = vals[n - 1];
        const countName = type === 'histogram' ? '_count' : '_gcount';
        const sumName = type === 'histogram' ? '_sum' : '_gsum';
        if ((this.count === null) !== (this.sum === null)) {
          p.failLine(`${type} "${fam}" must give ${countName} and ${sumName} together`);
        }
        if (this.count !== null && this.count !== inf) {
          p.failLine(
            `${type} "${fam}" ${countName} ${this.count} differs from the +Inf bucket ${inf}`,
          );
        }
        if (type === 'histogram' && negative && this.sum !== null) {
          p.failLine(`histogram "${fam}" has a negative bucket, so it cannot have _sum`);
        }
        if (type === 'gaugehistogram' && !negative && this.sum !== null && this.sum < 0) {
          p.failLine(`gaugehistogram "${fam}" has a negative _gsum but no negative bucket`);
        }
      }
    }
    this.clearPoint();
  }
}

/** Whether two label sets agree on every label but `skip` and `__name__`. */
function sameGroup(a: Labels, b: Labels, skip: string): boolean {
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.size && (a.name(i) === skip || a.name(i) === '__name__')) i++;
    while (j < b.size && (b.name(j) === skip || b.name(j) === '__name__')) j++;
    if (i === a.size || j === b.size) return i === a.size && j === b.size;
    if (a.name(i) !== b.name(j) || a.value(i) !== b.value(j)) return false;
    i++;
    j++;
  }
}

/** A key for a label set minus the label `skip` (labels are already sorted and unique). */
function groupKey(ls: Labels, skip: string): string {
  let k = '';
  for (let i = 0; i < ls.size; i++) {
    const n = ls.name(i);
    if (n === skip || n === '__name__') continue;
    const v = ls.value(i);
    k += n.length + ':' + n + v.length + ':' + v;
  }
  return k;
}
