/**
 * Worker threads that take parts of a range query's aggregated rollups (see
 * rollup-part.ts), so that one large query uses more than one core. A worker opens the
 * same persisted sources as the main thread read-only, through an opener module the
 * caller names (cmd/ wires the TSDB's: promql never imports it), selects the same series
 * and returns its groups' rows as transferred Float64Arrays: no object per sample crosses.
 *
 * Only what the persisted sources hold can be split: the caller's {@link SharedSourceFn}
 * says when a query range lies wholly in them (nothing in memory). Small queries stay on
 * the main thread: a selector is split once an earlier run of it saw series × steps of at
 * least {@link RangeWorkersOptions.minWork}.
 * @module
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Labels } from '../model/labels.js';
import type { Matcher } from '../model/matcher.js';
import type { SelectHints } from '../storage/interface.js';
import type { RollupAggSpec, RollupPartResult } from './rollup-part.js';

/**
 * The persisted, read-only sources that hold everything over `[mint, maxt]` (block
 * directories, say), or null when some of it is only in memory. Any value the opener
 * module's `openSharedQuerier(source, mint, maxt)` takes. They must hold exactly the
 * samples the engine's querier reads: a worker that selects other series is caught (its
 * series and group counts differ, and the selector is computed again on one thread), but
 * other samples of the same series are not.
 */
export type SharedSourceFn = (mint: number, maxt: number) => unknown;

/** Options of {@link RangeWorkers}. */
export interface RangeWorkersOptions {
  /** URL of a module exporting `openSharedQuerier(source, mint, maxt): Querier`. */
  openerUrl: string;
  source: SharedSourceFn;
  /** Worker threads; default: the cores less one (at least 1). */
  size?: number;
  /** Series × steps below which a selector is read on the main thread alone. */
  minWork?: number;
}

/** A part as a worker is asked for it: plain, structured-cloneable data. */
export interface RollupPartJob {
  id: number;
  source: unknown;
  /** The querier's range, which decides which series the select returns. */
  qmint: number;
  qmaxt: number;
  sorted: boolean;
  hints: SelectHints | null;
  matchers: [string, string, string][];
  spec: RollupAggSpec;
  part: number;
  parts: number;
}

/** A worker's answer to a {@link RollupPartJob}. */
export interface RollupPartReply {
  id: number;
  error?: string;
  timeout?: boolean;
  labels?: string[][];
  first?: number[];
  val?: Float64Array;
  cnt?: Float64Array;
  samples?: Float64Array;
  steps?: number;
  series?: number;
  keys?: number;
  counterNames?: string[];
}

/**
 * Default for {@link RangeWorkersOptions.minWork}: about 20 ms of rollup work (rate over
 * 10 s samples costs ~0.1 µs per series and step). Split at 50K, the success-ratio range
 * query of the side-by-side bench (two selectors of 280 and 440 series) took 72 ms and
 * 108 ms of CPU instead of 46 and 46: the worker walks all the selected series too, and
 * two busy threads each run slower on the two vCPUs measured here.
 */
const DEFAULT_MIN_WORK = 200_000;
/** Selectors whose series count is remembered (see {@link RangeWorkers.worthSplitting}). */
const MAX_REMEMBERED = 1024;

/** A small pool of worker threads computing rollup parts. Close it at shutdown. */
export class RangeWorkers {
  /** Threads a split query uses: the workers and the main thread. */
  readonly parts: number;
  /** Parts computed by workers so far. */
  jobs = 0;
  private readonly opts: RangeWorkersOptions;
  private readonly minWork: number;
  private workers: Worker[] | null = null;
  private next = 0;
  private ids = 0;
  private readonly pending = new Map<number, (r: RollupPartReply) => void>();
  private readonly seriesOf = new Map<string, number>();

  constructor(opts: RangeWorkersOptions) {
    this.opts = opts;
    const size = opts.size ?? Math.max(1, availableParallelism() - 1);
    this.parts = size + 1;
    this.minWork = opts.minWork ?? DEFAULT_MIN_WORK;
  }

  /** The shared source over `[mint, maxt]`, or null (see {@link SharedSourceFn}). */
  source(mint: number, maxt: number): unknown {
    return this.opts.source(mint, maxt) ?? null;
  }

  /** Whether the selector `key` read with `steps` steps is large enough to split. */
  worthSplitting(key: string, steps: number): boolean {
    const n = this.seriesOf.get(key);
    return n !== undefined && n * steps >= this.minWork;
  }

  /** Remembers how many series the selector `key` selected. */
  noteSeries(key: string, series: number): void {
    if (!this.seriesOf.has(key) && this.seriesOf.size >= MAX_REMEMBERED) this.seriesOf.clear();
    this.seriesOf.set(key, series);
  }

  /** Computes part `job.part` on a worker (ids are assigned here). */
  run(job: Omit<RollupPartJob, 'id'>): Promise<RollupPartResult & { counterNames: string[] }> {
    const workers = this.start();
    const w = workers[this.next++ % workers.length];
    const id = ++this.ids;
    this.jobs++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => {
        if (r.error !== undefined) {
          reject(r.timeout === true ? new RangeWorkerTimeout(r.error) : new Error(r.error));
          return;
        }
        const steps = r.steps!;
        resolve({
          table: {
            labels: r.labels!.map((p) => Labels.fromSortedPairs(p)),
            steps,
            val: r.val!,
            cnt: r.cnt!,
          },
          first: r.first!,
          samples: r.samples!,
          series: r.series!,
          keys: r.keys!,
          counterNames: r.counterNames!,
        });
      });
      w.postMessage({ ...job, id } satisfies RollupPartJob);
    });
  }

  /** Stops the workers; queries still waiting on them fail. */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = null;
    if (ws === null) return;
    await Promise.all(ws.map((w) => w.terminate()));
    for (const done of this.pending.values()) done({ id: 0, error: 'range workers closed' });
    this.pending.clear();
  }

  /** The workers, started on first use. */
  private start(): Worker[] {
    if (this.workers !== null) return this.workers;
    const ws: Worker[] = [];
    for (let i = 0; i < this.parts - 1; i++) {
      const w = newWorker({ openerUrl: this.opts.openerUrl });
      w.unref();
      w.on('message', (r: RollupPartReply) => {
        const done = this.pending.get(r.id);
        this.pending.delete(r.id);
        done?.(r);
      });
      w.on('error', (err) => this.failAll(err));
      ws.push(w);
    }
    this.workers = ws;
    return ws;
  }

  private failAll(err: Error): void {
    const ws = this.workers;
    this.workers = null;
    if (ws !== null) for (const w of ws) void w.terminate();
    for (const done of this.pending.values()) {
      done({ id: 0, error: `range worker failed: ${err.message}` });
    }
    this.pending.clear();
  }
}

/**
 * Starts range-worker.js, or from the TypeScript sources (tests, benchmarks under tsx)
 * range-worker.ts with tsx's loader registered first: a worker does not inherit it.
 */
function newWorker(workerData: { openerUrl: string }): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./range-worker.js', self), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const url = new URL('./range-worker.ts', self).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/** A worker's part passed the query's deadline. */
export class RangeWorkerTimeout extends Error {}

/** Matchers as plain triples for a worker. */
export function matcherTriples(ms: readonly Matcher[]): [string, string, string][] {
  return ms.map((m) => [m.type, m.name, m.value]);
}
