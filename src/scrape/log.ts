/**
 * Logging for the scrape side and the collector: logfmt lines as Prometheus writes them,
 * `ts=2026-11-27T13:00:00.000Z level=info component=scrape msg="…" key=value`.
 * @module
 */

/** Log levels. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger; `fields` values are quoted when they need it. */
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** A logger that drops everything (tests). */
export const silentLogger: Logger = () => {};

const BARE = /^[A-Za-z0-9_.:/@+-]+$/;

/** One logfmt value: bare when it is a plain token, else JSON-quoted. */
export function logfmtValue(v: unknown): string {
  const s = v instanceof Error ? v.message : typeof v === 'string' ? v : String(v);
  return BARE.test(s) ? s : JSON.stringify(s);
}

/** Formats one logfmt line (without the newline). */
export function formatLogLine(
  now: Date,
  level: LogLevel,
  component: string,
  msg: string,
  fields: Record<string, unknown> = {},
): string {
  let line = `ts=${now.toISOString()} level=${level} component=${component} msg=${JSON.stringify(msg)}`;
  for (const k in fields) line += ` ${k}=${logfmtValue(fields[k])}`;
  return line;
}

/** A logger writing logfmt lines for `component` to `write` (default: stderr). */
export function logfmtLogger(
  component: string,
  write: (line: string) => void = (l) => void process.stderr.write(l),
  minLevel: LogLevel = 'info',
): Logger {
  const min = LEVELS[minLevel];
  return (level, msg, fields) => {
    if (LEVELS[level] < min) return;
    write(formatLogLine(new Date(), level, component, msg, fields) + '\n');
  };
}

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
