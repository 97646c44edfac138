import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetadataStore, type MetricMetadata } from './metadata.js';

test('MetadataStore keeps TYPE, HELP and UNIT per family as Prometheus 2.42 reports them', async (t) => {
  type Op = ['type' | 'help' | 'unit', string, string];
  const cases: { name: string; ops: Op[]; want: MetricMetadata[] }[] = [
    {
      name: 'type and help of one family',
      ops: [
        ['help', 'a', 'A.'],
        ['type', 'a', 'counter'],
      ],
      want: [{ metric: 'a', type: 'counter', help: 'A.', unit: '' }],
    },
    {
      name: 'help without type is unknown',
      ops: [['help', 'a', 'A.']],
      want: [{ metric: 'a', type: 'unknown', help: 'A.', unit: '' }],
    },
    {
      name: 'untyped is reported as unknown',
      ops: [['type', 'a', 'untyped']],
      want: [{ metric: 'a', type: 'unknown', help: '', unit: '' }],
    },
    {
      name: 'the last TYPE wins',
      ops: [
        ['type', 'a', 'gauge'],
        ['type', 'a', 'counter'],
      ],
      want: [{ metric: 'a', type: 'counter', help: '', unit: '' }],
    },
    {
      name: 'families in first-seen order, with unit',
      ops: [
        ['type', 'b', 'gauge'],
        ['unit', 'b', 'bytes'],
        ['type', 'a', 'info'],
      ],
      want: [
        { metric: 'b', type: 'gauge', help: '', unit: 'bytes' },
        { metric: 'a', type: 'info', help: '', unit: '' },
      ],
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const md = new MetadataStore();
      for (const [op, fam, v] of tc.ops) {
        if (op === 'type') md.setType(fam, v as 'counter', 1);
        else if (op === 'help') md.setHelp(fam, v, 1);
        else md.setUnit(fam, v, 1);
      }
      assert.deepEqual(md.list(), tc.want);
      assert.deepEqual(md.get(tc.want[0].metric), tc.want[0]);
    });
  }
});

test('MetadataStore drops a family absent for more than 10 scrapes', () => {
  const md = new MetadataStore();
  md.setType('a', 'gauge', 1);
  md.setType('b', 'gauge', 1);
  for (let iter = 2; iter <= 12; iter++) {
    md.setType('b', 'gauge', iter);
    md.evict(iter);
    assert.equal(md.get('a') !== undefined, iter <= 11, `iteration ${iter}`);
  }
  assert.deepEqual(
    md.list().map((m) => m.metric),
    ['b'],
  );
});

test('MetadataStore.list is a snapshot', () => {
  const md = new MetadataStore();
  md.setHelp('a', 'old', 1);
  const before = md.list();
  md.setHelp('a', 'new', 2);
  assert.equal(before[0].help, 'old');
  assert.equal(md.list()[0].help, 'new');
});
