import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Labels,
  LabelsBuilder,
  compareLabels,
  isValidLabelName,
  isValidMetricName,
} from './labels.js';
import { LabelError } from './errors.js';

test('from() sorts labels and drops empty values', () => {
  const ls = Labels.from({ job: 'a', __name__: 'up', instance: '', zone: 'z' });
  assert.deepEqual(ls.toPairs(), ['__name__', 'up', 'job', 'a', 'zone', 'z']);
  assert.equal(ls.size, 3);
  assert.equal(ls.get('instance'), '');
  assert.equal(ls.has('instance'), false);
  assert.equal(ls.metricName(), 'up');
});

test('from() rejects a repeated label name', () => {
  assert.throws(() => Labels.from(['a', '1', 'a', '2']), LabelError);
});

test('key() is injective where naive joining is not', () => {
  const a = Labels.from({ a: 'b,c=d' });
  const b = Labels.from({ a: 'b', c: 'd' });
  assert.notEqual(a.key(), b.key());
  assert.equal(Labels.from({ x: '1', y: '2' }).key(), Labels.from({ y: '2', x: '1' }).key());
  assert.equal(Labels.from({ x: '1' }).hash(), Labels.from({ x: '1' }).hash());
});

test('builder sets, overwrites and deletes', () => {
  const b = new LabelsBuilder().reset(Labels.from({ a: '1', b: '2' }));
  b.set('c', '3').set('a', '9').set('b', '');
  assert.deepEqual(b.labels().toObject(), { a: '9', c: '3' });
  b.del('a');
  assert.deepEqual(b.labels().toObject(), { c: '3' });
});

test('compareLabels orders as Prometheus', () => {
  const f = (a: Record<string, string>, b: Record<string, string>, want: number) =>
    assert.equal(
      Math.sign(compareLabels(Labels.from(a), Labels.from(b))),
      want,
      `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
    );
  f({ a: '1' }, { a: '1' }, 0);
  f({ a: '1' }, { a: '2' }, -1);
  f({ a: '1' }, { b: '1' }, -1);
  f({ a: '1' }, { a: '1', b: '1' }, -1);
  f({ b: '1' }, { a: '1', b: '1' }, 1);
});

test('name validation follows the legacy character classes', () => {
  for (const ok of ['a', '_a', 'a:b', 'abc_123', ':x']) assert.ok(isValidMetricName(ok), ok);
  for (const bad of ['', '1a', 'a-b', 'a.b', 'ä']) assert.ok(!isValidMetricName(bad), bad);
  for (const ok of ['a', '_a', 'A9']) assert.ok(isValidLabelName(ok), ok);
  for (const bad of ['', '1a', 'a:b', 'a b']) assert.ok(!isValidLabelName(bad), bad);
});
