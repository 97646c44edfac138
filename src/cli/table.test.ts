import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFixed, formatTable } from './table.js';

test('formatFixed rounds as Go %.Nf', () => {
  const f = (x: number, d: number, want: string) =>
    assert.equal(formatFixed(x, d), want, `${x} %.${d}f`);
  f(3.25, 1, '3.2'); // exact tie: to even
  f(3.75, 1, '3.8');
  f(0.125, 2, '0.12');
  f(0.375, 2, '0.38');
  f(2.5, 0, '2');
  f(3.5, 0, '4');
  f(0.15, 1, '0.1'); // 0.15 is 0.1499999… in binary: no tie
  f(1.05, 1, '1.1'); // 1.05 is 1.0500000000000000444…: no tie
  f(98.765, 2, '98.77');
  f(100, 2, '100.00');
  f(0, 1, '0.0');
});

test('formatTable aligns columns with three spaces', () => {
  assert.equal(
    formatTable(
      ['A', 'LONGER'],
      [
        ['xx', 'y'],
        ['', 'zzz'],
      ],
    ),
    'A    LONGER\nxx   y\n     zzz\n',
  );
  assert.equal(formatTable(['ONLY'], []), 'ONLY\n');
});
