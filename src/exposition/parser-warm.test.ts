import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, ExpositionParser } from './parser.js';

/**
 * Everything the accessors report for a body, or the error: the warm path (known keys)
 * must match the forward parse exactly.
 */
function render(body: string, known: Map<string, string> | null): { out: string[]; hits: number } {
  const p = new ExpositionParser<string>(Buffer.from(body), { format: 'text' });
  p.setKnownKeys(known);
  const out: string[] = [];
  let hits = 0;
  try {
    for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
      if (t !== EntryType.Series) {
        out.push(`${t}@${p.line()}`);
        continue;
      }
      const hit = p.known();
      if (hit !== undefined) {
        hits++;
        assert.equal(hit, p.seriesKey(), 'known() returns the value stored under the key');
      }
      const v = p.value();
      const ts = p.timestamp();
      out.push(`${p.line()} ${JSON.stringify(p.seriesKey())} ${p.metricName()} ${v} ${ts}`);
      out.push(`  ${p.labels().toString()} ${p.value()} ${p.timestamp()}`);
      assert.equal(p.known(), hit, 'labels() keeps known()');
    }
  } catch (err) {
    out.push(`error: ${(err as Error).message}`);
  }
  return { out, hits };
}

/** Keys of every series line of `body`, as a scrape cache would hold them. */
function keysOf(body: string): Map<string, string> {
  const p = new ExpositionParser(Buffer.from(body), { format: 'text' });
  const keys = new Map<string, string>();
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    if (t === EntryType.Series) keys.set(p.seriesKey(), p.seriesKey());
  }
  return keys;
}

test('warm path: same entries, values and errors as the forward parse', async (t) => {
  const cases: { name: string; first: string; second: string; hits: number }[] = [
    { name: 'plain lines', first: 'a 1\nb{x="1"} 2\n', second: 'a 3\nb{x="1"} 4\n', hits: 2 },
    {
      name: 'timestamps',
      first: 'a 1 100\nb{x="1"} 2\n',
      second: 'a 3 200\nb{x="1"} 4 300\n',
      hits: 2,
    },
    {
      name: 'blanks and tabs',
      first: '  a{x="1"}\t1  \n',
      second: ' a{x="1"} \t 5\t 7 \t\n',
      hits: 1,
    },
    { name: 'no trailing newline', first: 'a 1\n', second: 'a 2', hits: 1 },
    {
      name: 'blank inside label value',
      first: 'a{x="y 1"} 1\n',
      second: 'a{x="y 1"} 2 3\n',
      hits: 1,
    },
    { name: 'value stuck to name', first: 'm 1\n', second: 'm-1\nm-1 5\n', hits: 0 },
    { name: 'blank before brace', first: 'a {x="1"} 1\n', second: 'a {x="1"} 2\n', hits: 1 },
    { name: 'name-only key before braces', first: 'a 1\n', second: 'a {x="1"} 2\n', hits: 0 },
    { name: 'special values', first: 'a 1\n', second: 'a NaN\na +Inf 5\na -1e3\n', hits: 3 },
    { name: 'bad value falls back', first: 'a 1\n', second: 'a 1x\n', hits: 0 },
    { name: 'bad timestamp falls back', first: 'a 1\n', second: 'a 1 1.5\n', hits: 0 },
    {
      name: 'timestamp overflow falls back',
      first: 'a 1\n',
      second: 'a 1 99999999999999999999\n',
      hits: 0,
    },
    { name: 'three tokens falls back', first: 'a 1\n', second: 'a 1 2 3\n', hits: 0 },
    { name: 'brace in value falls back', first: 'a 1\n', second: 'a {}1\n', hits: 0 },
    { name: 'carriage return falls back', first: 'a 1\n', second: 'a 1\r\n', hits: 0 },
    {
      name: 'comments around',
      first: 'a 1\n',
      second: '# HELP a x\n# TYPE a gauge\n\na 2\n# c\n',
      hits: 1,
    },
    { name: 'unknown key', first: 'a 1\n', second: 'b{y="2",} 1\n', hits: 0 },
    {
      name: 'escapes',
      first: 'a{x="q\\"1 2\\\\"} 1\n',
      second: 'a{x="q\\"1 2\\\\"} 9 10\n',
      hits: 1,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const forward = render(c.second, null);
      const warm = render(c.second, keysOf(c.first));
      assert.deepEqual(warm.out, forward.out);
      assert.equal(warm.hits, c.hits);
    });
  }
});

test('warm path: the line-length limit still applies', () => {
  const keys = keysOf('a 1\n');
  const p = new ExpositionParser<string>(Buffer.from('a 1\na 12345\n'), {
    format: 'text',
    maxLineBytes: 4,
  });
  p.setKnownKeys(keys);
  assert.equal(p.next(), EntryType.Series);
  assert.equal(p.known(), 'a');
  assert.throws(() => p.next(), /line is 7 bytes long, over the limit of 4/);
});
