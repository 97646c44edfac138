// Runs the benchmarks under bench/ (each *.bench.ts prints its own figures).
// Usage: node scripts/bench.mjs [substring...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const files = [];
function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.bench.ts')) files.push(p);
  }
}
walk('bench');
const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
let failed = 0;
for (const f of selected) {
  console.log(`\n== ${f}`);
  const res = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', f], {
    stdio: 'inherit',
  });
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
