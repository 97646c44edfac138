/**
 * A streaming JSON writer for API answers: text is gathered in a string until it passes a
 * threshold, then handed to the sink, honouring backpressure, so a large matrix is never
 * one giant string.
 * @module
 */

/** Where JSON goes: a response or a gzip stream. */
export interface TextSink {
  write(chunk: string | Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

const FLUSH_AT = 256 * 1024;
const NEEDS_ESCAPE = /[<>&\u2028\u2029]/;

/**
 * Quotes a string as Go's encoding/json with HTML escaping (jsoniter's standard-library
 * mode, which Prometheus uses): `<`, `>`, `&`, U+2028 and U+2029 become `\uXXXX`.
 */
export function jsonString(s: string): string {
  const q = JSON.stringify(s);
  if (!NEEDS_ESCAPE.test(q)) return q;
  return q.replace(
    /[<>&\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

/**
 * `JSON.stringify` with Go's HTML escaping. Safe on whole documents: the escaped characters
 * can only occur inside strings.
 */
export function goJson(v: unknown): string {
  const j = JSON.stringify(v);
  if (!NEEDS_ESCAPE.test(j)) return j;
  return j.replace(
    /[<>&\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

/** Accumulates JSON text and flushes it to a sink in large pieces. */
export class JsonOut {
  private buf = '';
  private readonly sink: TextSink;
  constructor(sink: TextSink) {
    this.sink = sink;
  }

  /** Appends raw JSON text. */
  raw(s: string): void {
    this.buf += s;
  }

  /** True when enough is buffered that the caller should `await flush()`. */
  get full(): boolean {
    return this.buf.length >= FLUSH_AT;
  }

  /** Hands the buffer to the sink; resolves when the sink can take more. */
  async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const chunk = this.buf;
    this.buf = '';
    if (!this.sink.write(chunk)) await new Promise<void>((r) => this.sink.once('drain', r));
  }
}
