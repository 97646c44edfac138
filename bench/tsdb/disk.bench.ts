/**
 * Disk size study: bytes per sample of a compacted block, ours against promtool's, on the
 * shared benchmark's history (../shared/bench/backfill.mjs: the same series, labels and
 * value dynamics as ANCHORS.md §3, which measured Prometheus 2.42 at 1.69 B/sample).
 *
 * One generated history feeds both: its OpenMetrics text goes to a file for
 * `promtool tsdb create-blocks-from openmetrics`, and the same lines are appended through
 * our database's head and compacted into a block, first with the head's 120-sample
 * chunks (as Prometheus), then re-encoded into longer chunks (`blockChunkSamples`) with
 * planned XOR windows; identical chunks are written once except in the "not shared" rows.
 * promtool must read the variants (`promtool tsdb analyze`).
 *
 *   node --expose-gc --import tsx bench/tsdb/disk.bench.ts [--targets 20] [--series 1000]
 *        [--minutes 62] [--no-promtool]
 *
 * Defaults: 20 targets × (1000 + 5) series, 62 min @10s, seed 1: exactly the history on
 * which ANCHORS.md §3 measured Prometheus's 1.69 B/sample (7.50M samples, 372 a series).
 * `--targets 5` is the anchors' 5-target copy, on which they split chunks and index.
 * @module
 */

import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import {
  createWriteStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../../src/model/labels.js';
import { compactHead, type CompactOptions } from '../../src/tsdb/compact.js';
import { openDB } from '../../src/tsdb/index.js';
import { readMeta } from '../../src/tsdb/meta.js';

// The shared generator is plain JS outside the project.
// The shared harness sits beside the repository, as in every checkout of this project.
const BACKFILL = fileURLToPath(new URL('../../../shared/bench/backfill.mjs', import.meta.url));
type GenerateHistory = (
  opts: {
    targets: number;
    series: number;
    interval: number;
    start: number;
    end: number;
    format: string;
    seed: number;
  },
  write: (buf: Buffer) => Promise<void>,
) => Promise<{ samples: number; bytes: number }>;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const targets = arg('targets', 20);
const withPromtool = !process.argv.includes('--no-promtool');
const seriesPerTarget = arg('series', 1000);
const interval = 10;
// 62 minutes (or --minutes, at most 120) inside one 2 h block range (1699999200 is a
// multiple of 7200).
const minutes = arg('minutes', 62);
const start = 1_699_999_200 + Math.min(600, 7200 - minutes * 60);
// The last sample stays inside the block range (a sample at its end would open the next).
const end = Math.min(start + minutes * 60, 1_699_999_200 + 7200 - interval);

/** Bytes of the files under `dir`. */
function du(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name));
    n += st.isDirectory() ? du(join(dir, name)) : st.size;
  }
  return n;
}

interface Row {
  name: string;
  sections: string;
  samples: number;
  series: number;
  chunks: number;
  chunkBytes: number;
  indexBytes: number;
  totalBytes: number;
}

function measure(name: string, blockDir: string): Row {
  const meta = readMeta(blockDir);
  const chunkBytes = du(join(blockDir, 'chunks'));
  const indexBytes = statSync(join(blockDir, 'index')).size;
  return {
    name,
    sections: indexSections(blockDir),
    samples: meta.stats.numSamples ?? 0,
    series: meta.stats.numSeries ?? 0,
    chunks: meta.stats.numChunks ?? 0,
    chunkBytes,
    indexBytes,
    totalBytes: du(blockDir),
  };
}

/** Bytes of each index section, from the TOC (docs/format/index.md). */
function indexSections(blockDir: string): string {
  const b = readFileSync(join(blockDir, 'index'));
  const toc = b.length - 52;
  const off = [0, 1, 2, 3, 4, 5].map((i) => Number(b.readBigUInt64BE(toc + i * 8)));
  const names = [
    'symbols',
    'series',
    'label indices',
    'label offsets',
    'postings',
    'postings offsets',
  ];
  // Sections are not in TOC order in the file, and absent ones have offset 0.
  const present = [0, 1, 2, 3, 4, 5].filter((i) => off[i] !== 0).sort((x, y) => off[x] - off[y]);
  const parts: string[] = [];
  present.forEach((i, k) =>
    parts.push(`${names[i]} ${(k + 1 < present.length ? off[present[k + 1]] : toc) - off[i]}`),
  );
  return parts.join(', ');
}

function onlyBlock(dataDir: string): string {
  const names = readdirSync(dataDir).filter((n) => /^[0-9A-Z]{26}$/.test(n));
  if (names.length !== 1) throw new Error(`want one block in ${dataDir}, found ${names.length}`);
  return join(dataDir, names[0]);
}

/** Parses `name{a="b",…} value ts` (seconds) keys once; the rest is a cache hit. */
function parseKey(key: string): Labels {
  const brace = key.indexOf('{');
  const o: Record<string, string> = { __name__: brace < 0 ? key : key.slice(0, brace) };
  if (brace >= 0) {
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(key.slice(brace))) !== null) o[m[1]] = JSON.parse(`"${m[2]}"`) as string;
  }
  return Labels.from(o);
}

async function main(): Promise<void> {
  const { generateHistory } = (await import(BACKFILL)) as { generateHistory: GenerateHistory };
  const work = mkdtempSync(join(tmpdir(), 'mm-disk-bench-'));
  try {
    const omPath = join(work, 'history.om');
    const om = createWriteStream(omPath);
    const db = await openDB(join(work, 'db'), {
      logger: () => undefined,
      disableAutoCompaction: true,
    });
    const refs = new Map<string, { ref: number; labels: Labels }>();
    let appended = 0;
    const t0 = performance.now();
    const gen = await generateHistory(
      { targets, series: seriesPerTarget, interval, start, end, format: 'om', seed: 1 },
      async (buf) => {
        if (!om.write(buf)) await once(om, 'drain');
        const text = buf.toString('latin1');
        const app = db.appender();
        let pos = 0;
        while (pos < text.length) {
          let nl = text.indexOf('\n', pos);
          if (nl < 0) nl = text.length;
          if (text.charCodeAt(pos) !== 35 /* # */) {
            const sp2 = text.lastIndexOf(' ', nl - 1);
            const sp1 = text.lastIndexOf(' ', sp2 - 1);
            const key = text.slice(pos, sp1);
            let e = refs.get(key);
            if (e === undefined) refs.set(key, (e = { ref: 0, labels: parseKey(key) }));
            e.ref = app.append(
              e.ref,
              e.labels,
              Number(text.slice(sp2 + 1, nl)) * 1000,
              Number(text.slice(sp1 + 1, sp2)),
            );
            appended++;
          }
          pos = nl + 1;
        }
        await app.commit();
      },
    );
    om.end();
    await once(om, 'finish');
    const appendS = (performance.now() - t0) / 1000;

    const rows: Row[] = [];
    const mint = start * 1000;
    const maxt = 7200_000 * Math.ceil((end * 1000 + 1) / 7200_000);
    const blockMint = maxt - 7200_000;
    // Variants: the head's chunks copied (Prometheus's layout), then re-encoded into
    // longer chunks with planned XOR windows; identical chunks are written once unless
    // the row says otherwise.
    const variants: { name: string; dir: string; opts: CompactOptions }[] = [
      {
        name: 'head chunks (120), not shared',
        dir: 'copy-noshare',
        opts: { shareIdenticalChunks: false },
      },
      { name: 'head chunks (120)', dir: 'copy', opts: {} },
      { name: 're-encoded ≤240', dir: '240', opts: { samplesPerChunk: 240 } },
      { name: 're-encoded ≤480', dir: '480', opts: { samplesPerChunk: 480 } },
      { name: 're-encoded ≤720', dir: '720', opts: { samplesPerChunk: 720 } },
      {
        name: 're-encoded ≤720, not shared',
        dir: '720-noshare',
        opts: { samplesPerChunk: 720, shareIdenticalChunks: false },
      },
    ];
    for (const v of variants) {
      const out = join(work, `ours-${v.dir}`);
      const t1 = performance.now();
      const meta = compactHead(out, db.head, blockMint, maxt, v.opts);
      if (meta === null) throw new Error('empty block');
      const s = ((performance.now() - t1) / 1000).toFixed(1);
      rows.push(measure(`ours, ${v.name} [${s}s]`, join(out, meta.ulid)));
    }
    await db.close();

    let promtool: string | null = null;
    try {
      promtool =
        execFileSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).trim() || null;
    } catch {
      promtool = null;
    }
    if (promtool !== null && withPromtool) {
      const out = join(work, 'promtool');
      const t2 = performance.now();
      execFileSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', omPath, out], {
        stdio: 'ignore',
      });
      rows.unshift(
        measure(
          `promtool 2.42 create-blocks-from [${((performance.now() - t2) / 1000).toFixed(1)}s]`,
          onlyBlock(out),
        ),
      );
      // Prometheus's reader must read our variants: analyze walks every chunk.
      for (const v of ['copy', '720']) {
        const dir = join(work, `ours-${v}`);
        execFileSync(promtool, ['tsdb', 'analyze', dir], { stdio: 'ignore' });
      }
    } else
      console.log(
        withPromtool ? 'promtool not found: only our figures' : 'promtool skipped (--no-promtool)',
      );

    console.log(
      `history (../shared/bench/backfill.mjs, seed 1): ${targets} targets × ${seriesPerTarget}+5 series, ${(end - start) / 60} min @${interval}s: ${gen.samples} samples generated, ${appended} appended in ${appendS.toFixed(1)}s (${mint}..${end * 1000})`,
    );
    console.log(
      targets === 20 && seriesPerTarget === 1000 && minutes === 62
        ? "this is ANCHORS.md §3's history: Prometheus 2.42 measured 1.69 B/sample on it (chunks 1.13 + index 190 B/series, split measured on the 5-target copy)"
        : "not ANCHORS.md §3's history (that is --targets 20 --series 1000 --minutes 62): compare with promtool's row only",
    );
    console.log(
      'variant'.padEnd(52) +
        'samples'.padStart(10) +
        'chunks'.padStart(9) +
        '  B/sample: chunks   index  total   index B/series',
    );
    for (const r of rows) {
      console.log(
        r.name.padEnd(52) +
          String(r.samples).padStart(10) +
          String(r.chunks).padStart(9) +
          (r.chunkBytes / r.samples).toFixed(3).padStart(18) +
          (r.indexBytes / r.samples).toFixed(3).padStart(8) +
          (r.totalBytes / r.samples).toFixed(3).padStart(7) +
          (r.indexBytes / r.series).toFixed(0).padStart(17),
      );
    }
    for (const r of rows)
      console.log(`index sections (bytes) of ${r.name.split(' [')[0]}: ${r.sections}`);
    console.log('(preliminary: shared 2-core machine)');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
