/**
 * The contracts of service discovery, as Prometheus's `discovery/targetgroup` and
 * `discovery.Discoverer`: a discoverer sends groups of targets, each group replacing
 * the previous group with the same `source`.
 * @module
 */

/** A set of targets sharing labels; an empty `targets` list removes the group's targets. */
export interface TargetGroup {
  /** Unique within one discoverer, e.g. `0`, `/etc/sd/a.json:1`, `pod/<ns>/<name>`. */
  source: string;
  /** One label set per target; each has `__address__`. */
  targets: Record<string, string>[];
  /** Labels common to every target of the group. */
  labels: Record<string, string>;
}

/**
 * A source of target groups. `run` sends the full state first, then changes, and keeps
 * going until `signal` aborts (a one-shot discoverer such as static may return early).
 * `up` must not be called after `run` returns.
 */
export interface Discoverer {
  run(signal: AbortSignal, up: (groups: TargetGroup[]) => void): Promise<void>;
}

/** Log levels discovery uses. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where discovery writes what it cannot report through target groups. */
export type DiscoveryLogger = (
  level: LogLevel,
  msg: string,
  fields?: Record<string, unknown>,
) => void;

/** Writes logfmt lines to stderr, as Prometheus does: `level=warn msg="..." key=value`. */
export const stderrLogger: DiscoveryLogger = (level, msg, fields = {}) => {
  const parts = [`level=${level}`, `component=discovery`, `msg=${JSON.stringify(msg)}`];
  for (const [k, v] of Object.entries(fields))
    parts.push(`${k}=${JSON.stringify(v instanceof Error ? v.message : v)}`);
  process.stderr.write(parts.join(' ') + '\n');
};

/** A logger that drops everything (tests). */
export const silentLogger: DiscoveryLogger = () => {};

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
