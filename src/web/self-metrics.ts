/**
 * The collector's own `/metrics`: `process_*` as client_golang's process collector names
 * them, Node.js heap figures, and the rows of the sources passed in (the head, the scrape
 * manager), written with the exposition writer in the negotiated format.
 * @module
 */

import { readdirSync, readFileSync } from 'node:fs';
import { ExpositionWriter, type WriterFormat } from '../exposition/index.js';
import type { SelfMetric, SelfMetricsSource } from './interfaces.js';

const PROCESS_START_MS = Date.now() - process.uptime() * 1000;

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

function maxFds(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+)/m.exec(limits);
    return m === null ? -1 : Number(m[1]);
  } catch {
    return -1;
  }
}

/** The process collector's rows. */
export function processMetrics(): SelfMetric[] {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const rows: SelfMetric[] = [
    {
      name: 'process_cpu_seconds_total',
      help: 'Total user and system CPU time spent in seconds.',
      type: 'counter',
      value: (cpu.user + cpu.system) / 1e6,
    },
    {
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      type: 'gauge',
      value: mem.rss,
    },
    {
      name: 'process_start_time_seconds',
      help: 'Start time of the process since unix epoch in seconds.',
      type: 'gauge',
      value: Math.floor(PROCESS_START_MS / 10) / 100,
    },
    {
      name: 'nodejs_heap_size_used_bytes',
      help: 'Process heap size used from Node.js in bytes.',
      type: 'gauge',
      value: mem.heapUsed,
    },
    {
      name: 'nodejs_heap_size_total_bytes',
      help: 'Process heap size from Node.js in bytes.',
      type: 'gauge',
      value: mem.heapTotal,
    },
    {
      name: 'nodejs_external_memory_bytes',
      help: 'Node.js external memory size in bytes.',
      type: 'gauge',
      value: mem.external,
    },
  ];
  const open = openFds();
  if (open >= 0)
    rows.push({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      type: 'gauge',
      value: open,
    });
  const max = maxFds();
  if (max >= 0)
    rows.push({
      name: 'process_max_fds',
      help: 'Maximum number of open file descriptors.',
      type: 'gauge',
      value: max,
    });
  return rows;
}

/**
 * Writes the rows of `sources` (process metrics first) as one exposition, grouping rows of
 * the same name into one family, families in the order first seen.
 */
export function renderSelfMetrics(
  format: WriterFormat,
  sources: readonly SelfMetricsSource[],
): Buffer {
  const families = new Map<string, SelfMetric[]>();
  for (const src of [processMetrics, ...sources]) {
    for (const r of src()) {
      let l = families.get(r.name);
      if (l === undefined) families.set(r.name, (l = []));
      l.push(r);
    }
  }
  const w = new ExpositionWriter(format);
  for (const [name, rows] of families) {
    w.family(name, rows[0].type, rows[0].help);
    for (const r of rows) {
      const pairs: string[] = [];
      if (r.labels) for (const k of Object.keys(r.labels).sort()) pairs.push(k, r.labels[k]);
      w.sample(name, pairs, r.value);
    }
  }
  w.eof();
  return w.take();
}
