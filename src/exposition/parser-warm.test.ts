import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, ExpositionParser, type ParserOptions } from './parser.js';

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

/**
 * Everything the accessors report while `p` reads its current body, or the error, and how
 * many series lines were read without a label scan.
 */
function readAll(p: ExpositionParser<string>): { out: string[]; skipped: number } {
  const out: string[] = [];
  let skipped = 0;
  try {
    for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
      if (t !== EntryType.Series) {
        out.push(`${t}@${p.line()}`);
        continue;
      }
      if (p.labelScanSkipped()) skipped++;
      const known = p.known();
      out.push(
        `${p.line()} ${JSON.stringify(p.seriesKey())} ${p.metricName()} ${p.value()} ${p.timestamp()} ${known}`,
      );
      out.push(`  ${p.labels().toString()} ${p.value()} ${p.timestamp()} ${p.known()}`);
    }
  } catch (err) {
    out.push(`error: ${(err as Error).message}`);
  }
  return { out, skipped };
}

/** UTF-8 bytes of `s`, except that U+FFFD stands for a lone 0xff byte (invalid UTF-8). */
function bytes(s: string): Buffer {
  const parts = s.split('\uFFFD').map((x) => Buffer.from(x));
  const out: Buffer[] = [];
  parts.forEach((x, i) => out.push(...(i === 0 ? [x] : [Buffer.of(0xff), x])));
  return Buffer.concat(out);
}

/** A parser that has read `first` asking for every key, then was reset to `second`. */
function afterRepeat(
  first: Buffer,
  second: Buffer,
  opts: ParserOptions,
  known: Map<string, string> | null,
): ExpositionParser<string> {
  const p = new ExpositionParser<string>(first, opts);
  try {
    for (let t = p.next(); t !== EntryType.EOF; t = p.next())
      if (t === EntryType.Series) p.seriesKey();
  } catch {
    // Keys read before the error are remembered all the same.
  }
  p.reset(second);
  p.setKnownKeys(known);
  return p;
}

test('repeat body: remembered keys give the same entries, values and errors as a fresh parse', async (t) => {
  const cases: { name: string; first: string; second: string; skipped: number }[] = [
    { name: 'same lines', first: 'a 1\nb{x="1"} 2\n', second: 'a 3\nb{x="1"} 4 5\n', skipped: 2 },
    {
      name: 'a line inserted',
      first: 'a 1\nb 2\nc 3\n',
      second: 'a 1\nx 9\nb 2\nc 3\n',
      skipped: 3,
    },
    { name: 'a line gone', first: 'a 1\nb 2\nc 3\n', second: 'a 1\nc 3\n', skipped: 2 },
    {
      name: 'a line changed',
      first: 'a 1\nb{x="1"} 2\nc 3\n',
      second: 'a 1\nb{x="2"} 2\nc 3\n',
      skipped: 2,
    },
    { name: 'name-only key before braces', first: 'a 1\n', second: 'a {x="1"} 2\n', skipped: 0 },
    { name: 'value stuck to name', first: 'm 1\n', second: 'm-1\n', skipped: 0 },
    { name: 'longer name', first: 'a 1\n', second: 'ab 1\n', skipped: 0 },
    { name: 'blank before brace', first: 'a {x="1"} 1\n', second: 'a {x="1"} 2\n', skipped: 1 },
    {
      name: 'blanks and tabs',
      first: ' a{x="1"}\t1\n',
      second: '\ta{x="1"} \t 5\t 7 \t\n',
      skipped: 1,
    },
    { name: 'bad value', first: 'a 1\n', second: 'a 1x\n', skipped: 0 },
    { name: 'bad timestamp', first: 'a 1\n', second: 'a 1 1.5\n', skipped: 0 },
    { name: 'brace in value', first: 'a{} 1\n', second: 'a{} {}1\n', skipped: 0 },
    {
      name: 'escapes',
      first: 'a{x="q\\"1 2\\\\"} 1\n',
      second: 'a{x="q\\"1 2\\\\"} 9 10\n',
      skipped: 1,
    },
    {
      name: 'comments and blank lines around',
      first: 'a 1\n',
      second: '# HELP a x\n# TYPE a gauge\n\na 2\n# c\n',
      skipped: 1,
    },
    { name: 'no trailing newline', first: 'a 1\n', second: 'a 2', skipped: 1 },
    { name: 'key at end of input', first: 'a 1\n', second: 'a', skipped: 0 },
    {
      name: 'duplicate label names',
      first: 'a{x="1",x="2"} 1\nb 1\n',
      second: 'b 2\n',
      skipped: 1,
    },
    {
      name: 'invalid UTF-8 elsewhere in the body',
      first: 'a{x="é"} 1\n',
      second: 'a{x="é"} 2\n# \uFFFD\n',
      skipped: 1,
    },
  ];
  const opts: ParserOptions = { format: 'text' };
  for (const c of cases) {
    await t.test(c.name, () => {
      const second = bytes(c.second);
      const fresh = readAll(new ExpositionParser<string>(second, opts));
      const repeat = readAll(afterRepeat(Buffer.from(c.first), second, opts, null));
      assert.deepEqual(repeat.out, fresh.out);
      assert.equal(repeat.skipped, c.skipped);
      const known = keysOf(c.first);
      const warm = readAll(afterRepeat(Buffer.from(c.first), second, opts, known));
      assert.deepEqual(warm.out, readAll(afterRepeat(Buffer.from(''), second, opts, known)).out);
    });
  }
});

test('repeat body: limits still apply to a remembered line', () => {
  const opts: ParserOptions = { format: 'text', maxLineBytes: 6 };
  const p = afterRepeat(Buffer.from('a{} 1\n'), Buffer.from('a{} 1\na{} 1234\n'), opts, null);
  assert.equal(p.next(), EntryType.Series);
  assert.equal(p.labelScanSkipped(), true);
  assert.throws(() => p.next(), /line is 8 bytes long, over the limit of 6/);
});

test('repeat body: a reader that wants every label set stops skipping the scan', () => {
  let body = '';
  for (let i = 0; i < 200; i++) body += `m{i="${i}"} ${i}\n`;
  const buf = Buffer.from(body);
  const p = afterRepeat(buf, buf, { format: 'text' }, null);
  const { out, skipped } = readAll(p);
  assert.deepEqual(out, readAll(new ExpositionParser<string>(buf, { format: 'text' })).out);
  assert.ok(skipped >= 16 && skipped < 40, `${skipped} lines skipped the label scan`);
});

test('repeat body: mutated bodies read the same after a parse of the original', () => {
  const bases = [
    '# HELP a x\n# TYPE a counter\na{x="1",y="z"} 1\na{x="2",y="z"} 2 100\nb 3\nb{} 4\n',
    'c {q="w\\"e"}\t5\nd_total{le="+Inf"} 6\nd_total{le="1"} 7 8\n\ne:f 9\n',
    'h_bucket{le="0.1"} 1\nh_bucket{le="1"} 2\nh_sum 3.5\nh_count 2\n',
  ].map((s) => Buffer.from(s));
  const interesting = Buffer.from('{}"\\\n #=,\r+-.e9aZ_:\t\xff');
  let seed = 4242;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  const opts: ParserOptions = { format: 'text' };
  let same = 0;
  for (let n = 0; n < 3000; n++) {
    const base = bases[rnd(bases.length)];
    let b = Buffer.from(base);
    for (let e = 1 + rnd(3); e > 0 && b.length > 0; e--) {
      const at = rnd(b.length);
      const op = rnd(3);
      if (op === 0) b[at] = interesting[rnd(interesting.length)];
      else if (op === 1)
        b = Buffer.concat([
          b.subarray(0, at),
          interesting.subarray(rnd(interesting.length)).subarray(0, 1),
          b.subarray(at),
        ]);
      else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rnd(4))]);
    }
    const fresh = readAll(new ExpositionParser<string>(b, opts));
    const repeat = readAll(afterRepeat(base, b, opts, null));
    assert.deepEqual(repeat.out, fresh.out, JSON.stringify(b.toString('latin1')));
    const known = keysOf(base.toString());
    const warm = readAll(afterRepeat(base, b, opts, known));
    const warmFresh = readAll(afterRepeat(Buffer.from(''), b, opts, known));
    assert.deepEqual(warm.out, warmFresh.out, JSON.stringify(b.toString('latin1')));
    if (repeat.skipped > 0) same++;
  }
  assert.ok(same > 1000, `only ${same} mutants had a remembered line`);
});
