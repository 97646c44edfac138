import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscoveryMetrics } from '../metrics.js';
import type { LogLevel, TargetGroup } from '../target-group.js';
import { FileDiscoverer, parseFileSd } from './file.js';
import { globFiles, matchElement } from './glob.js';
import { waitUntil } from '../../../test/support/wait.js';

const matches: Array<[string, string, boolean]> = [
  ['*.json', 'a.json', true],
  ['*.json', 'a.yml', false],
  ['*.json', '.json', true],
  ['web-*.yml', 'web-1.yml', true],
  ['web-?.yml', 'web-12.yml', false],
  ['a.json', 'a.json', true],
  ['a.json', 'aXjson', false],
];
for (const [pattern, name, want] of matches) {
  test(`matchElement(${pattern}, ${name}) = ${want}`, () =>
    assert.equal(matchElement(pattern, name), want));
}

test('globFiles expands the last element and ignores missing directories', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mm-glob-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const f of ['b.json', 'a.json', 'c.yml']) await writeFile(join(dir, f), '[]');
  assert.deepEqual(await globFiles(join(dir, '*.json')), [
    join(dir, 'a.json'),
    join(dir, 'b.json'),
  ]);
  assert.deepEqual(await globFiles('c.yml', dir), [join(dir, 'c.yml')]);
  assert.deepEqual(await globFiles(join(dir, 'nope', '*.json')), []);
});

interface ParseCase {
  name: string;
  file: string;
  text: string;
  want: TargetGroup[] | string;
}

const parseCases: ParseCase[] = [
  {
    name: 'JSON groups with labels',
    file: '/sd/a.json',
    text: '[{"targets": ["10.0.0.1:4191", "10.0.0.2:4191"], "labels": {"env": "prod"}}, {"targets": ["x:1"]}]',
    want: [
      {
        source: '/sd/a.json:0',
        targets: [{ __address__: '10.0.0.1:4191' }, { __address__: '10.0.0.2:4191' }],
        labels: { env: 'prod', __meta_filepath: '/sd/a.json' },
      },
      {
        source: '/sd/a.json:1',
        targets: [{ __address__: 'x:1' }],
        labels: { __meta_filepath: '/sd/a.json' },
      },
    ],
  },
  {
    name: 'YAML groups',
    file: '/sd/b.yml',
    text: '- targets: [a:1]\n  labels:\n    job: j\n',
    want: [
      {
        source: '/sd/b.yml:0',
        targets: [{ __address__: 'a:1' }],
        labels: { job: 'j', __meta_filepath: '/sd/b.yml' },
      },
    ],
  },
  { name: 'empty YAML file', file: '/sd/e.yaml', text: '', want: [] },
  {
    name: 'JSON ignores unknown fields',
    file: '/sd/c.json',
    text: '[{"targets": [], "x": 1}]',
    want: [{ source: '/sd/c.json:0', targets: [], labels: { __meta_filepath: '/sd/c.json' } }],
  },
  {
    name: 'YAML rejects unknown fields',
    file: '/sd/c.yml',
    text: '- targets: []\n  x: 1\n',
    want: 'group 0: field x not found in type targetgroup.Group',
  },
  { name: 'broken JSON', file: '/sd/d.json', text: '[{"targets": [', want: 'JSON' },
  {
    name: 'invalid label name',
    file: '/sd/f.json',
    text: '[{"targets": [], "labels": {"a-b": "x"}}]',
    want: 'group 0: "a-b" is not a valid label name',
  },
  {
    name: 'null group',
    file: '/sd/g.json',
    text: '[null]',
    want: 'nil target group item found (index 0)',
  },
  {
    name: 'not a list',
    file: '/sd/h.json',
    text: '{"targets": []}',
    want: 'expected a list of target groups',
  },
  {
    name: 'target not a string',
    file: '/sd/i.json',
    text: '[{"targets": [1]}]',
    want: 'group 0: targets must be a list of strings',
  },
];

for (const tc of parseCases) {
  test(`parseFileSd: ${tc.name}`, () => {
    if (typeof tc.want === 'string')
      assert.throws(
        () => parseFileSd(tc.text, tc.file),
        (e: Error) => e.message.includes(tc.want as string),
      );
    else assert.deepEqual(parseFileSd(tc.text, tc.file), tc.want);
  });
}

test('file discovery follows writes, keeps the last good groups on a broken file, and removes deleted files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mm-filesd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.yml');
  await writeFile(
    a,
    JSON.stringify([{ targets: ['10.0.0.1:4191'] }, { targets: ['10.0.0.2:4191'] }]),
  );
  await writeFile(join(dir, 'ignored.txt'), 'not a target file');

  const logs: Array<[LogLevel, string, Record<string, unknown> | undefined]> = [];
  const metrics = new DiscoveryMetrics();
  // A long refresh interval: every change below must arrive through the file watch.
  const d = new FileDiscoverer(
    { files: [join(dir, '*.json'), join(dir, '*.yml')], refreshIntervalMs: 3_600_000 },
    {
      metrics,
      logger: (level, msg, fields) => logs.push([level, msg, fields]),
      watchDebounceMs: 10,
    },
  );
  const groups = new Map<string, TargetGroup>();
  const controller = new AbortController();
  const done = d.run(controller.signal, (gs) => gs.forEach((g) => groups.set(g.source, g)));
  t.after(async () => {
    controller.abort();
    await done;
  });

  await waitUntil('the first read', () => groups.size === 2);
  assert.deepEqual(groups.get(`${a}:1`), {
    source: `${a}:1`,
    targets: [{ __address__: '10.0.0.2:4191' }],
    labels: { __meta_filepath: a },
  });

  // A new file matching a glob appears.
  await writeFile(b, '- targets: [10.0.0.3:4191]\n');
  await waitUntil('the new file', () => groups.get(`${b}:0`)?.targets.length === 1);

  // A broken write keeps the last good groups, counts an error and logs the file.
  await writeFile(a, '[{"targets": [');
  await waitUntil('the read error', () => metrics.fileReadErrorsTotal > 0);
  assert.equal(groups.get(`${a}:0`)?.targets.length, 1);
  assert.equal(groups.get(`${a}:1`)?.targets.length, 1);
  const err = logs.find(([level]) => level === 'error');
  assert.ok(err, 'an error was logged');
  assert.equal(err[2]?.path, a);

  // Fixed with fewer groups: the lost source gets an empty group. Written by rename, as tools do.
  await writeFile(
    join(dir, 'a.tmp'),
    JSON.stringify([{ targets: ['10.0.0.9:4191'], labels: { v: '2' } }]),
  );
  await rename(join(dir, 'a.tmp'), a);
  await waitUntil('the fixed file', () => groups.get(`${a}:0`)?.labels.v === '2');
  await waitUntil('the lost source', () => groups.get(`${a}:1`)?.targets.length === 0);

  // A deleted file removes its groups.
  await unlink(b);
  await waitUntil('the deleted file', () => groups.get(`${b}:0`)?.targets.length === 0);
});

test('file discovery re-reads every refresh_interval without events', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mm-filesd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const a = join(dir, 'a.json');
  await writeFile(a, '[]');
  const metrics = new DiscoveryMetrics();
  // Watch a different directory, so only the timer can notice the change.
  const d = new FileDiscoverer(
    { files: [a], refreshIntervalMs: 50 },
    { metrics, logger: () => {} },
  );
  const groups = new Map<string, TargetGroup>();
  const controller = new AbortController();
  const done = d.run(controller.signal, (gs) => gs.forEach((g) => groups.set(g.source, g)));
  t.after(async () => {
    controller.abort();
    await done;
  });
  await waitUntil('two scans', () => metrics.fileScansTotal >= 2);
  await writeFile(a, '[{"targets": ["x:1"]}]');
  await waitUntil('the change', () => groups.get(`${a}:0`)?.targets.length === 1);
});
