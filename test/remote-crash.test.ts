// The sender process killed with SIGKILL during a receiver outage and restarted: every
// sample still arrives, in order (duplicates allowed, gaps not).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  knownLabels,
  knownValue,
  readStore,
  startReceiver,
  waitFor,
} from '../src/remote/testdata/harness.js';
import { openDB } from '../src/tsdb/db.js';

const CHILD = join(process.cwd(), 'src/remote/testdata/sender-child.ts');
const N_SERIES = 8;
const T0 = 1_700_000_000_000;

interface Child {
  proc: ChildProcess;
  lastAppended: number;
  done: number;
  exited: Promise<void>;
}

function startChild(dataDir: string, url: string, count: number): Child {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, dataDir, url, String(count), '50'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const c: Child = {
    proc,
    lastAppended: -1,
    done: -1,
    exited: new Promise((r) => proc.once('exit', () => r())),
  };
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^(appended|done) (\d+)$/.exec(line);
      if (m?.[1] === 'appended') c.lastAppended = Number(m[2]);
      if (m?.[1] === 'done') c.done = Number(m[2]);
    }
  });
  return c;
}

test(
  'SIGKILL of the sender during an outage, restart: zero samples missing',
  { timeout: 120_000 },
  async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'mm-rw-crash-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dst = await openDB(join(root, 'dst'), { logger: () => {} });
    t.after(() => dst.close());
    const rx = await startReceiver(dst);
    t.after(() => rx.close());
    let down = false;
    rx.fault = () => (down ? 'down' : 'pass');
    const srcDir = join(root, 'src');

    const first = startChild(srcDir, rx.url, 100_000);
    t.after(() => first.proc.kill('SIGKILL'));
    assert.ok(await waitFor(() => first.lastAppended >= 20, 20_000), 'first child appends');
    down = true;
    await new Promise((r) => setTimeout(r, 2500));
    first.proc.kill('SIGKILL');
    await first.exited;
    const killedAt = first.lastAppended;

    const second = startChild(srcDir, rx.url, 40);
    t.after(() => second.proc.kill('SIGKILL'));
    assert.ok(
      await waitFor(() => second.lastAppended >= killedAt + 10, 20_000),
      'second child appends',
    );
    down = false;
    assert.ok(await waitFor(() => second.done >= 0, 20_000), 'second child finished appending');
    const end = second.done;
    assert.ok(end > killedAt + 1);
    const complete = async (): Promise<boolean> => {
      const got = await readStore(dst, 'rw_test_metric');
      let n = 0;
      for (const pts of got.values()) n += pts.length;
      return n >= N_SERIES * end;
    };
    const ok = await waitFor(complete, 40_000);
    second.proc.kill('SIGTERM');
    await second.exited;
    const got = await readStore(dst, 'rw_test_metric');
    const counts = [...got.values()].map((p) => p.length);
    assert.ok(
      ok,
      `caught up: want ${end} samples per series, got ${counts.join(',')}; killed at ${killedAt}`,
    );
    assert.equal(got.size, N_SERIES);
    for (let s = 0; s < N_SERIES; s++) {
      const pts = got.get(knownLabels(s).toString()) ?? [];
      assert.equal(pts.length, end, `series ${s}: samples 0…${end - 1}`);
      for (let i = 0; i < end; i++) assert.deepEqual(pts[i], [T0 + i * 1000, knownValue(s, i)]);
    }
  },
);
