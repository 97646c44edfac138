import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpr, PromQLParseError } from './parser.js';
import type { Expr } from './ast.js';

test('parses the node types with their modifiers', () => {
  const e = parseExpr('sum by (job) (rate(http_requests_total{code=~"5.."}[5m] offset 1m @ 100))');
  assert.equal(e.type, 'aggregation');
  const agg = e as Extract<Expr, { type: 'aggregation' }>;
  assert.deepEqual(agg.grouping, ['job']);
  const call = agg.expr as Extract<Expr, { type: 'call' }>;
  assert.equal(call.func, 'rate');
  const ms = call.args[0] as Extract<Expr, { type: 'matrixSelector' }>;
  assert.equal(ms.range, 300_000);
  assert.equal(ms.selector.offset, 60_000);
  assert.equal(ms.selector.timestamp, 100_000);
  assert.deepEqual(
    ms.selector.matchers.map((m) => m.toString()),
    ['__name__="http_requests_total"', 'code=~"5.."'],
  );
});

test('binds binary operators with Prometheus precedence and associativity', () => {
  const cases: [string, string][] = [
    ['1 + 2 * 3', '(1 + (2 * 3))'],
    ['2 ^ 3 ^ 2', '(2 ^ (3 ^ 2))'],
    ['2 - 1 - 1', '((2 - 1) - 1)'],
    ['-2 ^ 2', '(-(2 ^ 2))'],
    ['a or b and c', '(a or (b and c))'],
  ];
  const show = (e: Expr): string => {
    switch (e.type) {
      case 'binaryExpr':
        return `(${show(e.lhs)} ${e.op} ${show(e.rhs)})`;
      case 'numberLiteral':
        return String(e.val);
      case 'unaryExpr':
        return `(${e.op}${show(e.expr)})`;
      case 'vectorSelector':
        return e.name;
      default:
        return e.type;
    }
  };
  for (const [q, want] of cases) assert.equal(show(parseExpr(q)), want, q);
});

test('attaches a trailing modifier to the rightmost selector', () => {
  const e = parseExpr('a offset 5m or b offset 45m') as Extract<Expr, { type: 'binaryExpr' }>;
  assert.equal((e.lhs as Extract<Expr, { type: 'vectorSelector' }>).offset, 300_000);
  assert.equal((e.rhs as Extract<Expr, { type: 'vectorSelector' }>).offset, 2_700_000);
  const neg = parseExpr('foo offset -5m') as Extract<Expr, { type: 'vectorSelector' }>;
  assert.equal(neg.offset, -300_000);
});

test('rejects invalid queries with positioned Prometheus messages', () => {
  const cases: [string, string][] = [
    [
      'rate(foo)',
      '1:6: parse error: expected type range vector in call to function "rate", got instant vector',
    ],
    [
      'foo[5m] + 1',
      '1:1: parse error: binary expression must contain only scalar and instant vector types',
    ],
    ['{job=""}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['1 > 2', '1:3: parse error: comparisons between scalars must use BOOL modifier'],
    ['foo and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
    [
      'sum(foo, bar)',
      '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2',
    ],
    ['round()', '1:1: parse error: expected at least 1 argument(s) in call to "round", got 0'],
    ['nosuchfunc(foo)', '1:1: parse error: unknown function with name "nosuchfunc"'],
    ['foo{a="b"', '1:10: parse error: unexpected end of input inside braces'],
    ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors'],
    ['foo offset 1m offset 2m', '1:1: parse error: offset may not be set multiple times'],
  ];
  for (const [q, want] of cases) {
    assert.throws(
      () => parseExpr(q),
      (e: unknown) => e instanceof PromQLParseError && e.message === want,
      `${q}: want ${want}`,
    );
  }
});

test('accepts Go number forms and durations as numbers', () => {
  const num = (q: string): number => (parseExpr(q) as Extract<Expr, { type: 'numberLiteral' }>).val;
  assert.equal(num('0x1f'), 31);
  assert.equal(num('1h30m'), 5400);
  assert.equal(num('2.'), 2);
  assert.equal(num('- - 1'), 1);
});

test('evaluates duration expressions against the query step and range', () => {
  const e = parseExpr('foo[2 * step()] offset min_of(1m, range())', {
    stepMs: 15_000,
    rangeMs: 30_000,
  });
  const ms = e as Extract<Expr, { type: 'matrixSelector' }>;
  assert.equal(ms.range, 30_000);
  assert.equal(ms.selector.offset, 30_000);
});

test('skips comments wherever they stand between tokens', () => {
  // Positions move with the comments; everything else must be the same tree.
  const withoutPos = (e: Expr): unknown =>
    JSON.parse(JSON.stringify(e, (k, v: unknown) => (k === 'pos' ? undefined : v)));
  const plain = withoutPos(parseExpr('sum by (job) (rate(x{a="b"}[5m]))'));
  for (const q of [
    'sum by (job) # one\n(rate(x{a="b"}[5m]))',
    'sum by (job) ( # after a parenthesis\nrate(x{a="b"}[5m]))',
    'sum by (job) (rate( # in a call\nx{a="b"}[5m]) # at the end\n)',
  ]) {
    assert.deepEqual(withoutPos(parseExpr(q)), plain, JSON.stringify(q));
  }
});
