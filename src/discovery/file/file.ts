/**
 * `file_sd_configs`: target groups read from JSON and YAML files whose names match the
 * configured globs, watched (fs.watch on their directories) and re-read every
 * `refresh_interval`. Behaves as Prometheus's `discovery/file`:
 * - group sources are `<file>:<index>` and every group carries `__meta_filepath`;
 * - a file that fails to read keeps its last good groups, counts an error and logs it;
 * - a deleted file (or a file with fewer groups) sends empty groups for the lost sources.
 * @module
 */

import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { FileSdConfig } from '../../config/index.js';
import { isValidLabelName } from '../../model/index.js';
import { DiscoveryMetrics } from '../metrics.js';
import { sleep, stderrLogger } from '../target-group.js';
import type { Discoverer, DiscoveryLogger, TargetGroup } from '../target-group.js';
import { globFiles } from './glob.js';

/** The label naming the file a group came from. */
export const FILEPATH_LABEL = '__meta_filepath';

/** Options of a FileDiscoverer. */
export interface FileDiscovererOptions {
  logger?: DiscoveryLogger;
  metrics?: DiscoveryMetrics;
  /** Delay between a file-system event and the re-read it triggers, to batch bursts. */
  watchDebounceMs?: number;
}

/** Parses the contents of a file_sd file; throws an Error naming the problem. */
export function parseFileSd(text: string, file: string): TargetGroup[] {
  let doc: unknown;
  const isJson = extname(file).toLowerCase() === '.json';
  if (isJson) {
    doc = JSON.parse(text);
  } else {
    doc = parseYaml(text, { version: '1.1' });
    if (doc === null || doc === undefined) doc = [];
  }
  if (!Array.isArray(doc)) throw new Error('expected a list of target groups');
  return doc.map((item: unknown, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new Error(`nil target group item found (index ${i})`);
    }
    const { targets = [], labels = {}, ...rest } = item as { targets?: unknown; labels?: unknown };
    // Prometheus reads YAML strictly (UnmarshalStrict) and JSON leniently (json.Unmarshal).
    const extra = Object.keys(rest);
    if (!isJson && extra.length > 0)
      throw new Error(`group ${i}: field ${extra[0]} not found in type targetgroup.Group`);
    if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string')) {
      throw new Error(`group ${i}: targets must be a list of strings`);
    }
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels))
      throw new Error(`group ${i}: labels must be a map`);
    const groupLabels: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) {
      if (!isValidLabelName(k)) throw new Error(`group ${i}: "${k}" is not a valid label name`);
      if (typeof v !== 'string')
        throw new Error(`group ${i}: value of label "${k}" must be a string`);
      groupLabels[k] = v;
    }
    groupLabels[FILEPATH_LABEL] = file;
    return {
      source: `${file}:${i}`,
      targets: (targets as string[]).map((t) => ({ __address__: t })),
      labels: groupLabels,
    };
  });
}

/** Discovers targets from files; see the module comment. */
export class FileDiscoverer implements Discoverer {
  private readonly config: FileSdConfig;
  private readonly logger: DiscoveryLogger;
  private readonly metrics: DiscoveryMetrics;
  private readonly debounceMs: number;
  /** Number of groups last sent per file. */
  private readonly lastRefresh = new Map<string, number>();

  constructor(config: FileSdConfig, options: FileDiscovererOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? stderrLogger;
    this.metrics = options.metrics ?? new DiscoveryMetrics();
    this.debounceMs = options.watchDebounceMs ?? 20;
  }

  async run(signal: AbortSignal, up: (groups: TargetGroup[]) => void): Promise<void> {
    let wake: (() => void) | null = null;
    let pending = false;
    const trigger = (): void => {
      pending = true;
      wake?.();
    };
    const watchers = this.watchDirectories(trigger);
    try {
      while (!signal.aborted) {
        pending = false;
        await this.refresh(signal, up);
        if (signal.aborted || pending) {
          if (pending) await sleep(this.debounceMs, signal);
          continue;
        }
        // Wait for the refresh interval, a file-system event, or the end.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, this.config.refreshIntervalMs);
          function done(): void {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
          wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
        wake = null;
        if (pending) await sleep(this.debounceMs, signal);
      }
    } finally {
      for (const w of watchers) w.close();
    }
  }

  /** Re-reads every matching file and sends what changed (Prometheus's `refresh`). */
  private async refresh(signal: AbortSignal, up: (groups: TargetGroup[]) => void): Promise<void> {
    const seen = new Map<string, number>();
    for (const file of await this.listFiles()) {
      if (signal.aborted) return;
      let groups: TargetGroup[];
      try {
        groups = parseFileSd(await readFile(file, 'utf8'), file);
      } catch (err) {
        this.metrics.fileReadErrorsTotal++;
        this.logger('error', 'Error reading file', { path: file, err: (err as Error).message });
        // Keep the last good groups: do not let the deletion below remove them.
        const last = this.lastRefresh.get(file);
        if (last !== undefined) seen.set(file, last);
        continue;
      }
      up(groups);
      seen.set(file, groups.length);
    }
    if (signal.aborted) return;
    const gone: TargetGroup[] = [];
    for (const [file, n] of this.lastRefresh) {
      const m = seen.get(file) ?? 0;
      for (let i = m; i < n; i++) gone.push({ source: `${file}:${i}`, targets: [], labels: {} });
    }
    if (gone.length > 0) up(gone);
    this.lastRefresh.clear();
    for (const [file, n] of seen) this.lastRefresh.set(file, n);
    this.metrics.fileScansTotal++;
  }

  private async listFiles(): Promise<string[]> {
    const out = new Set<string>();
    for (const pattern of this.config.files) for (const f of await globFiles(pattern)) out.add(f);
    return [...out];
  }

  /** Watches each directory of the patterns; a directory that cannot be watched is logged. */
  private watchDirectories(onEvent: () => void): FSWatcher[] {
    const dirs = new Set(this.config.files.map((p) => dirname(p)));
    const watchers: FSWatcher[] = [];
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, onEvent);
        w.on('error', (err) => this.logger('error', 'Error watching directory', { dir, err }));
        watchers.push(w);
      } catch (err) {
        this.logger('error', 'Error adding file watch', { dir, err: (err as Error).message });
      }
    }
    return watchers;
  }
}
