/**
 * The exposition writer: Prometheus text 0.0.4 and OpenMetrics 1.0, byte for byte as
 * Go's `expfmt` writes them, into one reusable growable buffer.
 *
 * ```ts
 * const w = new ExpositionWriter('text');
 * w.family('request_total', 'counter', 'Total requests.');
 * w.sample('request_total', Labels.from({ code: '200' }), 1.5e7, 1700000000000);
 * res.end(w.take()); // or, streaming, w.flushTo(res) every few hundred KiB
 * ```
 * @module
 */

import { LabelError } from '../model/errors.js';
import { isValidMetricName, Labels, METRIC_NAME } from '../model/labels.js';
import {
  formatGoFloat,
  formatOpenMetricsTimestamp,
  formatOpenMetricsValue,
} from './format-float.js';
import { ByteBuffer } from './writer-buffer.js';

/** The output formats: Prometheus text 0.0.4 or OpenMetrics 1.0. */
export type WriterFormat = 'text' | 'openmetrics';

/**
 * Family types either format knows. Each is written as the nearest type the output
 * format has: `untyped` and `unknown` swap names between the formats, and in text
 * `gaugehistogram` becomes `histogram`, `info` and `stateset` become `gauge`.
 */
export type FamilyType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'summary'
  | 'untyped'
  | 'unknown'
  | 'gaugehistogram'
  | 'info'
  | 'stateset';

/**
 * A label set as the writer takes it: a {@link Labels} (its `__name__` is skipped), or flat
 * `[name0, value0, name1, value1, …]` pairs written in the order given.
 */
export type LabelsInput = Labels | readonly string[] | null | undefined;

/** An OpenMetrics exemplar attached to a sample: ` # {trace_id="…"} 0.67 1520879607.789`. */
export interface ExemplarInput {
  labels: LabelsInput;
  value: number;
  /** Milliseconds, or null/undefined for none. */
  timestamp?: number | null;
}

/** Where {@link ExpositionWriter.flushTo} sends bytes: a Node.js Writable, an HTTP response. */
export interface ByteSink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** Options for {@link ExpositionWriter}. */
export interface WriterOptions {
  /** Initial size of the output buffer in bytes (it grows as needed). Default 64 KiB. */
  initialCapacity?: number;
}

const TEXT_TYPES: Record<FamilyType, string> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'untyped',
  unknown: 'untyped',
  gaugehistogram: 'histogram',
  info: 'gauge',
  stateset: 'gauge',
};

const OPENMETRICS_TYPES: Record<FamilyType, string> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  untyped: 'unknown',
  unknown: 'unknown',
  gaugehistogram: 'gaugehistogram',
  info: 'info',
  stateset: 'stateset',
};

const HELP_PREFIX = Buffer.from('# HELP ');
const TYPE_PREFIX = Buffer.from('# TYPE ');
const UNIT_PREFIX = Buffer.from('# UNIT ');
const EXEMPLAR_PREFIX = Buffer.from(' # ');
const EOF_LINE = Buffer.from('# EOF\n');

/**
 * Writes an exposition family by family into a growable buffer.
 *
 * Contract:
 * - Call {@link family} before a family's samples (optional in text; OpenMetrics readers
 *   treat samples without metadata as `unknown`), then {@link sample} once per series.
 *   Samples of one family must be contiguous; the writer does not sort or group.
 * - Names are written as given: the caller passes valid metric and label names (checked
 *   once per family for the family name, never per sample). Label values and HELP are
 *   escaped here.
 * - OpenMetrics: a counter family is TYPEd without its `_total` suffix and a sample named
 *   exactly like the family gets `_total` appended; timestamps are written in seconds;
 *   {@link eof} writes the final `# EOF` and nothing may follow it. Text: exemplars are
 *   dropped (0.0.4 has none), UNIT is not written, {@link eof} writes nothing.
 * - Output leaves through {@link take} (a copy the caller owns) or {@link flushTo}
 *   (streams what is buffered and empties the buffer), so a /federate answer of a million
 *   series never sits in memory whole: flush whenever {@link size} passes a threshold.
 * - {@link reset} makes the writer ready for a new body, keeping its buffer.
 */
export class ExpositionWriter {
  /** The output format. */
  readonly format: WriterFormat;
  private readonly out: ByteBuffer;
  private readonly openMetrics: boolean;
  /** Name and type of the family being written, for OpenMetrics counter naming. */
  private familyName: string;
  private familyType: FamilyType;
  private ended: boolean;

  constructor(format: WriterFormat, opts: WriterOptions = {}) {
    this.format = format;
    this.out = new ByteBuffer(opts.initialCapacity ?? 64 * 1024);
    this.openMetrics = format === 'openmetrics';
    this.familyName = '';
    this.familyType = 'untyped';
    this.ended = false;
  }

  /** Bytes buffered and not yet taken or flushed. */
  get size(): number {
    return this.out.length;
  }

  /** The HTTP Content-Type of this writer's output. */
  contentType(): string {
    return this.openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
  }

  /** Starts a new body: drops buffered bytes and family state, keeps the memory. */
  reset(): this {
    this.out.reset();
    this.familyName = '';
    this.familyType = 'untyped';
    this.ended = false;
    return this;
  }

  /**
   * Starts a family: writes `# HELP` (when `help` is given, even empty), `# TYPE` and, in
   * OpenMetrics, `# UNIT` (when `unit` is given). Throws a LabelError for an invalid name,
   * or for a unit that is not a suffix of the OpenMetrics family name.
   */
  family(name: string, type: FamilyType, help?: string, unit?: string): this {
    this.checkOpen();
    if (!isValidMetricName(name))
      throw new LabelError(`invalid metric family name ${JSON.stringify(name)}`);
    const out = this.out;
    let typed = name;
    if (this.openMetrics) {
      if (type === 'counter' && name.endsWith('_total')) typed = name.slice(0, -6);
      if (unit && !typed.endsWith('_' + unit)) {
        throw new LabelError(
          `unit ${JSON.stringify(unit)} is not a suffix of metric family name ${JSON.stringify(typed)}`,
        );
      }
    }
    this.familyName = typed;
    this.familyType = type;
    if (help !== undefined) {
      out.writeBytes(HELP_PREFIX);
      out.writeAscii(typed);
      out.writeByte(0x20);
      // OpenMetrics escapes quotes in HELP as well; text 0.0.4 only \ and newline.
      out.writeEscaped(help, this.openMetrics);
      out.writeByte(0x0a);
    }
    out.writeBytes(TYPE_PREFIX);
    out.writeAscii(typed);
    out.writeByte(0x20);
    out.writeAscii(this.openMetrics ? OPENMETRICS_TYPES[type] : TEXT_TYPES[type]);
    out.writeByte(0x0a);
    if (this.openMetrics && unit) {
      out.writeBytes(UNIT_PREFIX);
      out.writeAscii(typed);
      out.writeByte(0x20);
      out.writeAscii(unit);
      out.writeByte(0x0a);
    }
    return this;
  }

  /**
   * Writes one sample line `name{labels} value [timestamp]`. `timestampMs` is integer
   * milliseconds, or null/undefined for none. The exemplar is written in OpenMetrics only.
   */
  sample(
    name: string,
    labels: LabelsInput,
    value: number,
    timestampMs?: number | null,
    exemplar?: ExemplarInput | null,
  ): this {
    this.checkOpen();
    const out = this.out;
    out.writeAscii(name);
    if (this.openMetrics && this.familyType === 'counter' && name === this.familyName)
      out.writeAscii('_total');
    if (labels) this.writeLabels(labels);
    this.writeTail(value, timestampMs, exemplar);
    return this;
  }

  /** Writes a sample whose name is the `__name__` of `labels` (the /federate case). */
  series(labels: Labels, value: number, timestampMs?: number | null): this {
    return this.sample(labels.metricName(), labels, value, timestampMs, null);
  }

  /**
   * Encodes `name{labels}` once, for callers that write the same series on every request
   * (a proxy's /metrics): pass the result to {@link sampleEncoded}. The bytes depend on
   * the format only through OpenMetrics counter naming, which this does not apply.
   */
  static encodeSeries(name: string, labels: LabelsInput): Buffer {
    const w = new ExpositionWriter('text', { initialCapacity: 256 });
    w.out.writeAscii(name);
    if (labels) w.writeLabels(labels);
    return w.out.copy();
  }

  /** Writes a sample line from series bytes made by {@link encodeSeries}. */
  sampleEncoded(
    series: Uint8Array,
    value: number,
    timestampMs?: number | null,
    exemplar?: ExemplarInput | null,
  ): this {
    this.checkOpen();
    this.out.writeBytes(series);
    this.writeTail(value, timestampMs, exemplar);
    return this;
  }

  /** Ends an OpenMetrics body with `# EOF`; in text a no-op. Nothing may be written after. */
  eof(): this {
    this.checkOpen();
    if (this.openMetrics) this.out.writeBytes(EOF_LINE);
    this.ended = true;
    return this;
  }

  /** Returns the buffered bytes as a Buffer the caller owns, and empties the buffer. */
  take(): Buffer {
    const b = this.out.copy();
    this.out.reset();
    return b;
  }

  /**
   * Sends the buffered bytes to `sink` and empties the buffer; resolves once the sink can
   * take more (after 'drain' when `write` returned false), so a slow reader slows the writer.
   */
  async flushTo(sink: ByteSink): Promise<void> {
    if (this.out.length === 0) return;
    if (!sink.write(this.take())) await new Promise<void>((resolve) => sink.once('drain', resolve));
  }

  private checkOpen(): void {
    if (this.ended) throw new LabelError('exposition writer: write after eof()');
  }

  /** Writes `{a="1",b="2"}`, or nothing for an empty set; `__name__` is skipped. */
  private writeLabels(labels: Labels | readonly string[]): void {
    const out = this.out;
    let first = true;
    if (labels instanceof Labels) {
      const n = labels.size;
      for (let i = 0; i < n; i++) {
        const ln = labels.name(i);
        if (ln === METRIC_NAME) continue;
        out.writeByte(first ? 0x7b : 0x2c);
        first = false;
        this.writeLabel(ln, labels.value(i));
      }
    } else {
      for (let i = 0; i + 1 < labels.length; i += 2) {
        const ln = labels[i];
        if (ln === METRIC_NAME) continue;
        out.writeByte(first ? 0x7b : 0x2c);
        first = false;
        this.writeLabel(ln, labels[i + 1]);
      }
    }
    if (!first) out.writeByte(0x7d);
  }

  private writeLabel(name: string, value: string): void {
    const out = this.out;
    out.writeAscii(name);
    out.writeByte(0x3d);
    out.writeByte(0x22);
    out.writeEscaped(value, true);
    out.writeByte(0x22);
  }

  /** Writes ` value [timestamp][ # exemplar]\n`. */
  private writeTail(
    value: number,
    timestampMs: number | null | undefined,
    exemplar: ExemplarInput | null | undefined,
  ): void {
    const out = this.out;
    out.writeByte(0x20);
    this.writeValue(value);
    if (timestampMs !== null && timestampMs !== undefined) {
      out.writeByte(0x20);
      if (this.openMetrics) out.writeAscii(formatOpenMetricsTimestamp(timestampMs));
      else if (Number.isSafeInteger(timestampMs)) out.writeInt(timestampMs);
      else out.writeAscii(String(Math.round(timestampMs)));
    }
    if (exemplar && this.openMetrics) {
      out.writeBytes(EXEMPLAR_PREFIX);
      if (exemplar.labels) this.writeLabels(exemplar.labels);
      // An exemplar's label set is written even when empty: `# {} 1.0`.
      if (!hasLabels(exemplar.labels)) out.writeAscii('{}');
      out.writeByte(0x20);
      this.writeValue(exemplar.value);
      if (exemplar.timestamp !== null && exemplar.timestamp !== undefined) {
        out.writeByte(0x20);
        out.writeAscii(formatOpenMetricsTimestamp(exemplar.timestamp));
      }
    }
    out.writeByte(0x0a);
  }

  private writeValue(v: number): void {
    const out = this.out;
    // Fast path: integers below 1e6 print the same in Go's %g and as plain digits
    // (-0 prints as 0 in both of expfmt's writers).
    if (Number.isInteger(v) && v > -1e6 && v < 1e6) {
      out.writeInt(v);
      if (this.openMetrics) out.writeAscii('.0');
    } else if (this.openMetrics) {
      out.writeAscii(formatOpenMetricsValue(v));
    } else {
      out.writeAscii(formatGoFloat(v));
    }
  }
}

function hasLabels(labels: LabelsInput): boolean {
  if (!labels) return false;
  if (labels instanceof Labels) {
    for (let i = 0; i < labels.size; i++) if (labels.name(i) !== METRIC_NAME) return true;
    return false;
  }
  for (let i = 0; i + 1 < labels.length; i += 2) if (labels[i] !== METRIC_NAME) return true;
  return false;
}

/** Content-Type of Prometheus text 0.0.4 as Prometheus and client_golang send it. */
export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Content-Type of OpenMetrics 1.0.0 as client_golang sends it. */
export const OPENMETRICS_CONTENT_TYPE =
  'application/openmetrics-text; version=1.0.0; charset=utf-8';
