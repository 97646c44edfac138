/**
 * The `process_*` families, as the Rust prometheus-client process collector writes them on
 * Linux, and `proxy_build_info`. Values are read from /proc at render time.
 * @module
 */

import { readdirSync, readFileSync } from 'node:fs';
import { pageSize } from './page-size.js';
import type { ExpositionWriter } from '../exposition/index.js';

const START_TIME_SECONDS = Math.floor((Date.now() - process.uptime() * 1000) / 1000);

function readProcStat(): string[] | null {
  try {
    const s = readFileSync('/proc/self/stat', 'latin1');
    // Fields after the command name, which is in parentheses and may hold spaces.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

function maxFds(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(
      readFileSync('/proc/self/limits', 'latin1'),
    );
    if (m) return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    // not Linux
  }
  return 0;
}

/** Writes the process families (cpu, start time, memory, fds, threads). */
export function writeProcessMetrics(w: ExpositionWriter): void {
  const cpu = process.cpuUsage();
  w.family(
    'process_cpu_seconds_total',
    'counter',
    'Total user and system CPU time spent in seconds.',
  );
  w.sample('process_cpu_seconds_total', null, (cpu.user + cpu.system) / 1e6);
  w.family(
    'process_start_time_seconds',
    'gauge',
    'Start time of the process since unix epoch in seconds.',
  );
  w.sample('process_start_time_seconds', null, START_TIME_SECONDS);
  const stat = readProcStat();
  // /proc/self/stat fields (1-based after the name): 18 num_threads, 21 vsize, 22 rss pages.
  const vsize = stat ? Number(stat[20]) : 0;
  const rss = stat ? Number(stat[21]) * pageSize() : process.memoryUsage.rss();
  w.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.');
  w.sample('process_resident_memory_bytes', null, rss);
  w.family('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.');
  w.sample('process_virtual_memory_bytes', null, vsize);
  w.family('process_open_fds', 'gauge', 'Number of open file descriptors.');
  w.sample('process_open_fds', null, openFds());
  w.family('process_max_fds', 'gauge', 'Maximum number of open file descriptors.');
  w.sample('process_max_fds', null, maxFds());
  if (stat) {
    w.family('process_threads', 'gauge', 'Number of OS threads in the process.');
    w.sample('process_threads', null, Number(stat[17]));
  }
}

/** Labels of `proxy_build_info`. */
export interface BuildInfo {
  date: string;
  git_sha: string;
  profile: string;
  vendor: string;
  version: string;
}

/** Writes `proxy_build_info{date,git_sha,profile,vendor,version} 1`. */
export function writeBuildInfo(w: ExpositionWriter, info: BuildInfo): void {
  w.family('proxy_build_info', 'gauge', 'Proxy build info');
  w.sample(
    'proxy_build_info',
    [
      'date',
      info.date,
      'git_sha',
      info.git_sha,
      'profile',
      info.profile,
      'vendor',
      info.vendor,
      'version',
      info.version,
    ],
    1,
  );
}
