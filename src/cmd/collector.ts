/**
 * `meshmetrics collector`: reads the configuration, runs discovery, scrapes the targets and
 * stores what they expose. Flags follow Prometheus's names. SIGHUP reloads the configuration
 * (a broken file is refused and the running configuration stays); SIGINT and SIGTERM shut
 * down cleanly (loops stop, stale markers are written, the database is closed).
 *
 * The wiring lives in {@link startCollector}, so tests and the HTTP API can run a collector
 * in-process.
 * @module
 */

import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { join } from 'node:path';
import { loadConfigFile, type Config } from '../config/index.js';
import { DiscoveryManager } from '../discovery/index.js';
import { ConfigError } from '../model/errors.js';
import { logfmtLogger, ScrapeManager, type Logger } from '../scrape/index.js';
import { RemoteWriteManager, handleRemoteWrite } from '../remote/index.js';
import { openDB, type DB } from '../tsdb/db.js';
import { parseRetentionDuration, parseRetentionSize } from '../tsdb/retention.js';
import { Engine, RangeWorkers } from '../promql/index.js';
import { sharedBlocksSource } from '../tsdb/block-querier.js';
import { marshalConfig } from '../config/index.js';
import { WebServer, type TSDBAdmin } from '../web/index.js';
import { VERSION } from './version.js';

/** The collector's settings, from flags. */
export interface CollectorOptions {
  configFile: string;
  dataDir: string;
  /** 0 = Prometheus's default (15d) applies once retention runs. */
  retentionTimeMs: number;
  /** 0 = no size limit. */
  retentionSizeBytes: number;
  listenAddress: string;
  enableLifecycle: boolean;
  enableAdminApi: boolean;
  enableRemoteWriteReceiver: boolean;
  /** Snappy-compress WAL records (`--storage.tsdb.wal-compression`, default true as Prometheus). */
  walCompression: boolean;
  webConfigFile: string;
  queryLookbackDeltaMs: number;
  queryTimeoutMs: number;
  queryMaxSamples: number;
  /**
   * Worker threads of large range queries over persisted blocks
   * (`--query.range-workers`); default 0 (none) until a split is measured to win on a
   * quiet machine: on a loaded 2-core one it cost CPU and saved no time.
   */
  queryRangeWorkers: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Where log lines go; default stderr. */
  logWrite?: (line: string) => void;
  /** Minimum time between two discovery updates; default 5 s as Prometheus. Tests lower it. */
  discoveryUpdateIntervalMs?: number;
  /** Seed of target offsets; default random. */
  jitterSeed?: number;
  /** Called after `/-/quit` has stopped the collector. */
  onQuit?: () => void;
}

/** Defaults of every flag. */
export const DEFAULT_COLLECTOR_OPTIONS: Readonly<CollectorOptions> = Object.freeze({
  configFile: 'meshmetrics.yml',
  dataDir: 'data/',
  retentionTimeMs: 0,
  retentionSizeBytes: 0,
  listenAddress: '127.0.0.1:9090',
  enableLifecycle: false,
  enableAdminApi: false,
  enableRemoteWriteReceiver: false,
  walCompression: true,
  webConfigFile: '',
  queryLookbackDeltaMs: 5 * 60_000,
  queryTimeoutMs: 2 * 60_000,
  queryMaxSamples: 50_000_000,
  queryRangeWorkers: 0,
  logLevel: 'info',
});

/** A running collector. */
export interface CollectorHandle {
  readonly options: CollectorOptions;
  readonly db: DB;
  readonly scrapeManager: ScrapeManager;
  readonly discovery: DiscoveryManager;
  /** Where the HTTP API listens (port resolved when the flag gave 0). */
  readonly webAddress: { host: string; port: number };
  /** The configuration in effect. */
  config(): Config;
  /**
   * Re-reads the configuration file and applies it. Resolves to false (after logging the
   * error with file:line) when the file is invalid; the running configuration then stays.
   */
  reload(): Promise<boolean>;
  /** Stops discovery and scraping (stale markers written), then closes the database. */
  stop(): Promise<void>;
}

/**
 * Starts a collector: loads the configuration (throws a ConfigError when it is invalid),
 * opens the database, and wires discovery to scraping to storage.
 */
export async function startCollector(
  options: Partial<CollectorOptions> = {},
): Promise<CollectorHandle> {
  const opts: CollectorOptions = { ...DEFAULT_COLLECTOR_OPTIONS, ...options };
  const write = opts.logWrite ?? ((l: string) => void process.stderr.write(l));
  const log = (component: string): Logger => logfmtLogger(component, write, opts.logLevel);
  const mainLog = log('collector');

  let config = await loadConfigFile(opts.configFile);
  mainLog('info', 'Loading configuration file', { filename: opts.configFile });
  for (const w of config.warnings)
    mainLog('warn', 'Configuration warning', { filename: opts.configFile, msg: w });

  const remoteLog = log('remote');
  const remote = new RemoteWriteManager({
    dataDir: opts.dataDir,
    logger: (line) => remoteLog('warn', line),
    // Read once per send_interval, after the scrape manager below exists.
    metadata: { metadata: () => scrapeManager.metadata() },
    // Read when /metrics is rendered, once the database below is open.
    highestTimestamp: () => db.head.maxTime(),
  });
  const db = await openDB(opts.dataDir, {
    logger: (line) => log('tsdb')('info', line),
    walRetentionGuard: () => remote.lowWatermarkSegment(),
    // 0 leaves the DB's default (15d), as Prometheus treats an unset retention.
    retentionMs: opts.retentionTimeMs > 0 ? opts.retentionTimeMs : undefined,
    retentionBytes: opts.retentionSizeBytes,
    walCompression: opts.walCompression ? 'snappy' : 'none',
  });
  mainLog('info', 'TSDB started', {
    dir: opts.dataDir,
    series: db.openStats.series,
    samples: db.openStats.samples,
    duration: `${Math.round(db.openStats.durationMs)}ms`,
  });
  const scrapeManager = new ScrapeManager(db, {
    logger: log('scrape'),
    userAgent: `meshmetrics/${VERSION}`,
    jitterSeed: opts.jitterSeed,
  });
  const discoveryLog = log('discovery');
  const discovery = new DiscoveryManager({
    updateIntervalMs: opts.discoveryUpdateIntervalMs,
    logger: (level, msg, fields) => discoveryLog(level, msg, fields),
  });
  const unsubscribe = discovery.subscribe((sets) => scrapeManager.sync(sets));
  scrapeManager.applyConfig(config);
  discovery.applyConfig(config.scrapeConfigs);
  await remote.applyConfig(config.remoteWrite, config.global.externalLabels);
  mainLog('info', 'Completed loading of configuration file', { filename: opts.configFile });

  let lastReload = { ok: true, atMs: Date.now() };
  const rangeWorkers =
    opts.queryRangeWorkers > 0
      ? new RangeWorkers({
          size: opts.queryRangeWorkers,
          source: sharedBlocksSource(db),
          openerUrl: new URL(
            import.meta.url.endsWith('.ts')
              ? '../tsdb/block-querier.ts'
              : '../tsdb/block-querier.js',
            import.meta.url,
          ).href,
        })
      : null;
  const web = new WebServer({
    queryable: db,
    engine: new Engine({
      lookbackDeltaMs: opts.queryLookbackDeltaMs,
      timeoutMs: opts.queryTimeoutMs,
      maxSamples: opts.queryMaxSamples,
      rangeWorkers,
    }),
    lookbackDeltaMs: opts.queryLookbackDeltaMs,
    externalLabels: () => config.global.externalLabels,
    targets: scrapeManager,
    metadata: scrapeManager,
    head: db.head,
    enableAdminApi: opts.enableAdminApi,
    admin: tsdbAdmin(db, opts.dataDir),
    enableLifecycle: opts.enableLifecycle,
    lifecycle: {
      reload: () => handle.reload(),
      quit: () => void handle.stop().then(() => opts.onQuit?.()),
    },
    selfMetrics: [() => db.metrics(), () => scrapeManager.metrics.rows(), () => remote.metrics()],
    remoteWriteHandler: opts.enableRemoteWriteReceiver
      ? (req, res) => handleRemoteWrite(req, res, db)
      : undefined,
    configYaml: () => marshalConfig(config),
    flags: () => collectorFlags(opts),
    buildInfo: {
      version: VERSION,
      revision: '',
      branch: '',
      buildUser: '',
      buildDate: '',
      goVersion: process.version,
    },
    runtimeInfo: () => ({
      reloadConfigSuccess: lastReload.ok,
      lastConfigTimeMs: lastReload.atMs,
      storageRetention: opts.retentionTimeMs === 0 ? '15d' : `${opts.retentionTimeMs / 1000}s`,
    }),
  });
  let webAddress: { host: string; port: number };
  try {
    webAddress = await web.listen(opts.listenAddress);
  } catch (err) {
    await scrapeManager.stop({ staleness: false });
    await discovery.stop();
    await remote.stop();
    await rangeWorkers?.close();
    await db.close();
    throw err;
  }
  mainLog('info', 'Start listening for connections', {
    address: `${webAddress.host}:${webAddress.port}`,
  });

  let stopping: Promise<void> | null = null;
  const handle: CollectorHandle = {
    options: opts,
    db,
    scrapeManager,
    discovery,
    webAddress,
    config: () => config,
    async reload(): Promise<boolean> {
      if (stopping !== null) return false;
      let next: Config;
      try {
        next = await loadConfigFile(opts.configFile);
      } catch (err) {
        mainLog('error', 'Error reloading config', { filename: opts.configFile, err });
        lastReload = { ok: false, atMs: lastReload.atMs };
        return false;
      }
      config = next;
      lastReload = { ok: true, atMs: Date.now() };
      scrapeManager.applyConfig(next);
      discovery.applyConfig(next.scrapeConfigs);
      await remote.applyConfig(next.remoteWrite, next.global.externalLabels);
      mainLog('info', 'Completed loading of configuration file', { filename: opts.configFile });
      return true;
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        unsubscribe();
        await web.close();
        await discovery.stop();
        await scrapeManager.stop({ staleness: true });
        await remote.stop();
        await rangeWorkers?.close();
        await db.close();
        mainLog('info', 'See you next time!');
      })();
      return stopping;
    },
  };
  return handle;
}

/** The flags as `/api/v1/status/flags` shows them: Prometheus's names, string values. */
function collectorFlags(o: CollectorOptions): Record<string, string> {
  return {
    'config.file': o.configFile,
    'storage.tsdb.path': o.dataDir,
    'storage.tsdb.retention.time': `${o.retentionTimeMs / 1000}s`,
    'storage.tsdb.retention.size': String(o.retentionSizeBytes),
    'storage.tsdb.wal-compression': String(o.walCompression),
    'web.listen-address': o.listenAddress,
    'web.enable-lifecycle': String(o.enableLifecycle),
    'web.enable-admin-api': String(o.enableAdminApi),
    'web.enable-remote-write-receiver': String(o.enableRemoteWriteReceiver),
    'web.config.file': o.webConfigFile,
    'query.lookback-delta': `${o.queryLookbackDeltaMs / 1000}s`,
    'query.timeout': `${o.queryTimeoutMs / 1000}s`,
    'query.max-samples': String(o.queryMaxSamples),
    'query.range-workers': String(o.queryRangeWorkers),
    'log.level': o.logLevel,
  };
}

const HELP = `usage: meshmetrics collector [flags]

Discovers, scrapes and stores metrics. Flags (Prometheus's names):
  --config.file=FILE                 configuration file (default meshmetrics.yml)
  --storage.tsdb.path=DIR            data directory (default data/)
  --storage.tsdb.retention.time=D    how long to keep samples (default 15d)
  --storage.tsdb.retention.size=S    most bytes of blocks to keep (default 0: no limit)
  --storage.tsdb.wal-compression     Snappy-compress WAL records (default true; --no-... to turn off)
  --web.listen-address=ADDR          address of the HTTP API (default 127.0.0.1:9090)
  --web.enable-lifecycle             allow /-/reload and /-/quit
  --web.enable-admin-api             allow the admin API
  --web.enable-remote-write-receiver accept remote_write at /api/v1/write
  --web.config.file=FILE             TLS and basic auth of the HTTP API (not supported yet: refused)
  --query.lookback-delta=D           (default 5m)
  --query.timeout=D                  (default 2m)
  --query.max-samples=N              (default 50000000)
  --query.range-workers=N            threads for large range queries over blocks (default 0)
  --log.level=LEVEL                  debug, info, warn or error (default info)
`;

const BOOL_FLAGS: Record<string, keyof CollectorOptions> = {
  'web.enable-lifecycle': 'enableLifecycle',
  'web.enable-admin-api': 'enableAdminApi',
  'web.enable-remote-write-receiver': 'enableRemoteWriteReceiver',
  'storage.tsdb.wal-compression': 'walCompression',
};

/**
 * Parses the collector's flags (`--name=value`, `--name value`, booleans also as
 * `--name=false` or `--no-name`). Throws a ConfigError naming the flag on a bad value.
 */
export function parseCollectorFlags(args: readonly string[]): CollectorOptions {
  const o: CollectorOptions = { ...DEFAULT_COLLECTOR_OPTIONS };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    let name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const negated = name.startsWith('no-') && BOOL_FLAGS[name.slice(3)] !== undefined;
    if (negated) name = name.slice(3);
    const boolKey = BOOL_FLAGS[name];
    if (boolKey !== undefined) {
      const v = eq < 0 ? 'true' : a.slice(eq + 1);
      if (v !== 'true' && v !== 'false')
        throw new ConfigError(`--${name}: want true or false, got ${JSON.stringify(v)}`);
      (o as unknown as Record<string, boolean>)[boolKey] = negated ? v === 'false' : v === 'true';
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (i + 1 < args.length) value = args[++i];
    else throw new ConfigError(`--${name}: missing value`);
    const num = (what: string): number => {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new ConfigError(`--${name}: want ${what}, got ${JSON.stringify(value)}`);
      return n;
    };
    const dur = (): number => {
      try {
        return parseRetentionDuration(value);
      } catch (err) {
        throw new ConfigError(`--${name}: ${(err as Error).message}`, { cause: err });
      }
    };
    switch (name) {
      case 'config.file':
        o.configFile = value;
        break;
      case 'storage.tsdb.path':
        o.dataDir = value;
        break;
      case 'storage.tsdb.retention.time':
        o.retentionTimeMs = dur();
        break;
      case 'storage.tsdb.retention.size':
        try {
          o.retentionSizeBytes = parseRetentionSize(value);
        } catch (err) {
          throw new ConfigError(`--${name}: ${(err as Error).message}`, { cause: err });
        }
        break;
      case 'web.listen-address':
        o.listenAddress = value;
        break;
      case 'web.config.file':
        // Refused rather than ignored: serving without the TLS or auth a user asked for
        // would be worse than not starting.
        throw new ConfigError(
          `--web.config.file=${value}: TLS and basic auth of the HTTP API are not supported yet`,
        );
      case 'query.lookback-delta':
        o.queryLookbackDeltaMs = dur();
        break;
      case 'query.timeout':
        o.queryTimeoutMs = dur();
        break;
      case 'query.max-samples':
        o.queryMaxSamples = num('a whole number');
        break;
      case 'query.range-workers':
        o.queryRangeWorkers = num('a whole number');
        break;
      case 'log.level':
        if (value !== 'debug' && value !== 'info' && value !== 'warn' && value !== 'error')
          throw new ConfigError(
            `--log.level: want debug, info, warn or error, got ${JSON.stringify(value)}`,
          );
        o.logLevel = value;
        break;
      default:
        throw new ConfigError(`unknown flag --${name}`);
    }
  }
  return o;
}

/**
 * Lets the old generation grow to 1.5× what survived the last full GC before the next one
 * starts. V8 sizes that headroom from the allocation rate, and a collector allocates
 * slowly next to a large, long-lived heap (its series), so the headroom shrinks to 1.1×,
 * below what one scavenge may promote: incremental marking then never stops, and marked
 * the whole heap every 2–3 s at 100k series (0.08 cores against 0.036 with this).
 * The flag is read at each full GC, so setting it at startup applies.
 */
function tuneHeapForCollector(): void {
  setFlagsFromString('--heap-growing-percent=50');
}

/** Runs the command until SIGINT or SIGTERM; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  let opts: CollectorOptions;
  try {
    opts = parseCollectorFlags(args);
  } catch (err) {
    process.stderr.write(`meshmetrics collector: error: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  tuneHeapForCollector();
  let handle: CollectorHandle;
  let onQuit: () => void = () => {};
  try {
    handle = await startCollector({ ...opts, onQuit: () => onQuit() });
  } catch (err) {
    process.stderr.write(`meshmetrics collector: error: ${(err as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const onHup = (): void => void handle.reload();
    const onStop = (): void => {
      process.off('SIGHUP', onHup);
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
      handle.stop().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`meshmetrics collector: error while stopping: ${String(err)}\n`);
          resolve(1);
        },
      );
    };
    // /-/quit has already stopped the collector; onStop's second stop() is a no-op.
    onQuit = onStop;
    process.on('SIGHUP', onHup);
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
  });
}

/**
 * The admin API's operations over the DB (`/api/v1/admin/tsdb/*`, behind
 * --web.enable-admin-api). Snapshots go to `<data>/snapshots/<UTC time>-<random hex>`, the
 * name Prometheus gives them.
 */
function tsdbAdmin(db: DB, dataDir: string): TSDBAdmin {
  return {
    async deleteSeries(matcherSets, mint, maxt) {
      for (const ms of matcherSets) await db.deleteSeries(ms, mint, maxt);
    },
    async cleanTombstones() {
      db.cleanTombstones();
    },
    async snapshot(skipHead) {
      const stamp = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      const name = `${stamp}-${randomBytes(8).toString('hex')}`;
      db.snapshot(join(dataDir, 'snapshots', name), !skipHead);
      return name;
    },
  };
}
