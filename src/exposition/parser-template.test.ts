import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelsBuilder } from '../model/labels.js';
import { EntryType, ExpositionParser } from './parser.js';
import { mulberry32 as rng } from '../../test/support/rng.js';

/**
 * The text parser tokenises a series line from where it first differs from the previous
 * one, and labels() takes the strings of the shared labels from its last call. Text mode
 * is stateless from line to line, so every line must read exactly as it does alone: these
 * tests parse bodies whole (one parser, reset between bodies, labels() on some lines only)
 * and compare each entry and error with a fresh parser on that line by itself.
 */

const NAMES = ['http_requests_total', 'http_requests_total_x', 'http_req', 'h', 'A', '_a', 'le'];
const LABEL_NAMES = ['le', 'code', 'handler', 'A', '_x', 'code2', 'c', '__name__'];
const VALUES = ['0.1', '0.2', '/api/v1/query', '', 'a\\"b', 'x\\\\y', 'n\\nl', 'é', '+Inf', '2'];
const BLANKS = ['', ' ', '\t', '  '];
const SAMPLE_VALUES = ['1', '-2.5', 'NaN', '1e3', '+Inf', '0', '7', '1.5e-3', '12', '3'];

/** A body of families whose lines share names and leading labels, with syntax variations. */
function genBody(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  let out = '';
  const families = 1 + Math.floor(r() * 4);
  for (let f = 0; f < families; f++) {
    const name = pick(NAMES);
    // Mostly distinct label names; now and then a duplicate (an error in labels()).
    const used = new Set<string>();
    const fresh = (): string => {
      let n = pick(LABEL_NAMES);
      for (let k = 0; k < 3 && used.has(n) && r() < 0.97; k++) n = pick(LABEL_NAMES);
      used.add(n);
      return n;
    };
    const fixed: string[] = [];
    for (let k = Math.floor(r() * 3); k > 0; k--)
      fixed.push(`${fresh()}${pick(BLANKS)}=${pick(BLANKS)}"${pick(VALUES)}"`);
    const extra = fresh();
    for (let line = 1 + Math.floor(r() * 6); line > 0; line--) {
      const labels = fixed.slice(0, Math.floor(r() * (fixed.length + 1)));
      if (r() < 0.6) labels.push(`${extra}="${pick(VALUES)}${line}"`);
      const suffix = r() < 0.2 ? pick(['_sum', '_count', 'x']) : '';
      let s = name + suffix;
      if (labels.length > 0 || r() < 0.1) {
        s += pick(BLANKS) + '{' + pick(BLANKS);
        s += labels.join(pick([',', ', ', ' ,', ' ']));
        s += (r() < 0.2 ? ',' : '') + pick(BLANKS) + '}';
      }
      s += (r() < 0.05 ? '' : ' ') + pick(BLANKS) + (r() < 0.02 ? 'x' : pick(SAMPLE_VALUES));
      if (r() < 0.2) s += ' ' + (r() < 0.05 ? pick(['-1', '1x']) : '100');
      out += s + pick(['', ' ']) + '\n';
    }
    if (r() < 0.2) out += '# HELP ' + name + ' help\n';
  }
  return out;
}

/** Flips, inserts or deletes a few bytes (no NUL: a 2.42 lexer reads it as end of input). */
function mutate(body: Buffer, r: () => number): Buffer {
  const bytes = [...body];
  const alphabet = [32, 9, 10, 34, 44, 61, 92, 123, 125, 95, 97, 48, 0xc3, 0xa9, 0xff];
  for (let m = 1 + Math.floor(r() * 3); m > 0 && bytes.length > 0; m--) {
    const at = Math.floor(r() * bytes.length);
    const c = alphabet[Math.floor(r() * alphabet.length)];
    const op = r();
    if (op < 0.4) bytes[at] = c;
    else if (op < 0.7) bytes.splice(at, 0, c);
    else bytes.splice(at, 1);
  }
  return Buffer.from(bytes);
}

/** One entry as the accessors report it (labels only when `withLabels`), or the error. */
function entry(p: ExpositionParser, t: EntryType, withLabels: boolean, line: number): string {
  if (t !== EntryType.Series) return `${t}@${line}`;
  const head = `${line} ${JSON.stringify(p.seriesKey())} ${p.value()} ${p.timestamp()}`;
  return withLabels ? `${head} ${p.labels().toString()}` : head;
}

function errorText(err: unknown, line: number): string {
  const e = err as { message: string; line?: number; column?: number };
  if (e.line === undefined) throw err;
  return `error@${line}:${e.column}: ${e.message.replace(/ \(line \d+, column \d+\)$/, '')}`;
}

/** What a fresh parser reports for every line alone. */
function lineByLine(body: Buffer, labelsOn: (line: number) => boolean): string[] {
  const out: string[] = [];
  let start = 0;
  for (let line = 1; start < body.length; line++) {
    let end = body.indexOf(10, start);
    end = end < 0 ? body.length : end + 1;
    const p = new ExpositionParser(body.subarray(start, end), { format: 'text' });
    try {
      for (let t = p.next(); t !== EntryType.EOF; t = p.next())
        out.push(entry(p, t, labelsOn(line), line));
    } catch (err) {
      out.push(errorText(err, line));
      return out;
    }
    start = end;
  }
  return out;
}

/** What one parser reports for the whole body. */
function whole(p: ExpositionParser, body: Buffer, labelsOn: (line: number) => boolean): string[] {
  const out: string[] = [];
  p.reset(body);
  try {
    for (let t = p.next(); t !== EntryType.EOF; t = p.next())
      out.push(entry(p, t, labelsOn(p.line()), p.line()));
  } catch (err) {
    out.push(errorText(err, (err as { line: number }).line));
  }
  return out;
}

test('template: every line reads as it does alone (generated and mutated bodies)', () => {
  const r = rng(20261127);
  const p = new ExpositionParser(Buffer.alloc(0), { format: 'text' });
  let series = 0;
  let errors = 0;
  for (let i = 0; i < 4000; i++) {
    const base = Buffer.from(genBody(r));
    const body = i % 2 === 0 ? base : mutate(base, r);
    const mask = Math.floor(r() * 256);
    // labels() on every line, on none, or on a pattern of lines (shared strings must come
    // only from a labels() call on the template line itself).
    const labelsOn = (line: number): boolean =>
      i % 4 === 0 ? true : i % 4 === 1 ? false : ((mask >> (line % 8)) & 1) === 1;
    const want = lineByLine(body, labelsOn);
    assert.deepEqual(whole(p, body, labelsOn), want, `body ${i}:\n${body.toString('latin1')}`);
    // The same body again: lines may now come through the remembered keys, then rescans.
    assert.deepEqual(whole(p, body, labelsOn), want, `body ${i} again`);
    for (const w of want) {
      if (w.startsWith('error')) errors++;
      else if (/^\d+ "/.test(w)) series++;
    }
  }
  assert.ok(series > 15_000 && errors > 1000, `${series} series, ${errors} errors`);
});

test('template: shared labels keep their strings, exposedEmpty and builders stay right', async (t) => {
  const cases: { name: string; body: string; want: string[] }[] = [
    {
      name: 'bucket lines share the name and the leading label',
      body: 'm{h="/a",le="1"} 1\nm{h="/a",le="2"} 2\nm{h="/a",le="+Inf"} 3\n',
      want: [
        '{__name__="m", h="/a", le="1"}',
        '{__name__="m", h="/a", le="2"}',
        '{__name__="m", h="/a", le="+Inf"}',
      ],
    },
    {
      name: 'the shared part ends inside a label name',
      body: 'm{code="1"} 1\nm{code2="1"} 2\nm{c="1"} 3\n',
      want: ['{__name__="m", code="1"}', '{__name__="m", code2="1"}', '{__name__="m", c="1"}'],
    },
    {
      name: 'the shared part ends inside the name',
      body: 'mm{a="1"} 1\nm{a="1"} 2\nmmm{a="1"} 3\nmm 4\n',
      want: [
        '{__name__="mm", a="1"}',
        '{__name__="m", a="1"}',
        '{__name__="mmm", a="1"}',
        '{__name__="mm"}',
      ],
    },
    {
      name: 'escapes shared, then not',
      body: 'm{a="x\\"y",b="1"} 1\nm{a="x\\"y",b="2"} 2\nm{a="xy",b="2"} 3\n',
      want: [
        '{__name__="m", a="x\\"y", b="1"}',
        '{__name__="m", a="x\\"y", b="2"}',
        '{__name__="m", a="xy", b="2"}',
      ],
    },
    {
      name: 'names out of order, then in order',
      body: 'm{b="1",a="2"} 1\nm{b="1",c="2"} 2\nm{b="1",A="2"} 3\n',
      want: [
        '{__name__="m", a="2", b="1"}',
        '{__name__="m", b="1", c="2"}',
        '{A="2", __name__="m", b="1"}',
      ],
    },
    {
      name: 'empty values dropped from shared labels',
      body: 'm{a="",b="1"} 1\nm{a="",b="2"} 2\n',
      want: ['{__name__="m", b="1"}', '{__name__="m", b="2"}'],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const p = new ExpositionParser(Buffer.from(c.body), { format: 'text' });
      const b = new LabelsBuilder();
      const got: string[] = [];
      let line = 0;
      for (let ty = p.next(); ty !== EntryType.EOF; ty = p.next()) {
        if (ty !== EntryType.Series) continue;
        const ls = p.labels();
        got.push(ls.toString());
        assert.equal(p.labels(b).toString(), ls.toString(), 'builder gives the same set');
        assert.equal(p.exposedEmpty('a'), c.name.startsWith('empty'), `line ${++line}`);
      }
      assert.deepEqual(got, c.want);
    });
  }
});

test('template: a duplicate label in the shared part is still an error', () => {
  const p = new ExpositionParser(Buffer.from('m{a="1",b="1"} 1\nm{a="1",a="2"} 2\n'), {
    format: 'text',
  });
  assert.equal(p.next(), EntryType.Series);
  p.labels();
  assert.equal(p.next(), EntryType.Series);
  assert.throws(() => p.labels(), /label name "a" is not unique/);
});
