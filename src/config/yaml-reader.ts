/**
 * A typed walk over a parsed YAML document that keeps every node's position, so each
 * error can name the file, line, column and key path:
 * `config.yml:12:5: scrape_configs[0].scrape_interval: invalid duration "10x"`.
 *
 * Scalars are typed the way Go's yaml.v2 unmarshals them into Prometheus's structs:
 * YAML 1.1 booleans, any scalar into a string field (its source text), and strict
 * `!!int`/`!!bool` for numeric and boolean fields.
 * @module
 */

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node, Pair, Scalar, YAMLMap } from 'yaml';
import { ConfigError } from '../model/index.js';
import { parseDuration } from '../model/duration.js';
import { parseBase2Bytes } from './units.js';

/** A configuration error at a known place; `line` and `column` are 1-based (0 when unknown). */
export class ConfigFileError extends ConfigError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted key path, e.g. `scrape_configs[0].scrape_interval`; empty at the top. */
  readonly keyPath: string;
  /** The message without the file, position and key path. */
  readonly reason: string;
  constructor(file: string, line: number, column: number, keyPath: string, reason: string) {
    const where = line > 0 ? `${file}:${line}:${column}` : file;
    super(keyPath ? `${where}: ${keyPath}: ${reason}` : `${where}: ${reason}`);
    this.name = 'ConfigFileError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.keyPath = keyPath;
    this.reason = reason;
  }
}

/** Shared state of one document walk. */
export interface ReadContext {
  readonly file: string;
  readonly lineCounter: LineCounter;
  readonly doc: Document;
  /** Non-fatal findings (keys accepted but ignored), already prefixed with file:line:column. */
  readonly warnings: string[];
}

/** Parses `text` and returns the root value; YAML syntax errors become ConfigFileErrors. */
export function readYaml(text: string, file: string): { root: YamlValue; ctx: ReadContext } {
  const lineCounter = new LineCounter();
  // version 1.1: the booleans (yes/no/on/off) and integers of Go's yaml.v2.
  const doc = parseDocument(text, {
    lineCounter,
    version: '1.1',
    uniqueKeys: true,
    prettyErrors: false,
  });
  const ctx: ReadContext = { file, lineCounter, doc, warnings: [] };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    const reason = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigFileError(file, pos.line, pos.col, '', `yaml: ${reason}`);
  }
  return { root: new YamlValue(ctx, (doc.contents as Node | null) ?? null, '', 0), ctx };
}

function describe(node: Node | null): string {
  if (node === null) return 'null';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'boolean') return `!!bool \`${node.source ?? String(v)}\``;
    if (typeof v === 'number')
      return `!!${Number.isInteger(v) ? 'int' : 'float'} \`${node.source ?? String(v)}\``;
    return `!!str \`${String(v)}\``;
  }
  return 'a node';
}

/** One YAML value with its key path and position. Missing values are `node === null`. */
export class YamlValue {
  readonly ctx: ReadContext;
  readonly node: Node | null;
  readonly path: string;
  /** Byte offset to report errors at (the value, or its key when the value is missing). */
  readonly offset: number;

  constructor(ctx: ReadContext, node: Node | null, path: string, offset: number) {
    this.ctx = ctx;
    this.node =
      node !== null && isAlias(node) ? ((node.resolve(ctx.doc) as Node | undefined) ?? null) : node;
    this.path = path;
    this.offset = node?.range ? node.range[0] : offset;
  }

  /** Throws a ConfigFileError at this value. */
  fail(reason: string, offset = this.offset): never {
    const pos = this.ctx.lineCounter.linePos(offset);
    throw new ConfigFileError(this.ctx.file, pos.line, pos.col, this.path, reason);
  }

  /** Records a warning at this value. */
  warn(reason: string): void {
    const pos = this.ctx.lineCounter.linePos(this.offset);
    this.ctx.warnings.push(`${this.ctx.file}:${pos.line}:${pos.col}: ${this.path}: ${reason}`);
  }

  /** True when the value is absent or YAML null (Go leaves the zero value then). */
  isNull(): boolean {
    return this.node === null || (isScalar(this.node) && this.node.value === null);
  }

  /** The value as a map whose keys must all be in `allowed`. Null reads as an empty map. */
  map(allowed: readonly string[]): YamlObject {
    if (this.isNull()) return new YamlObject(this, new Map());
    if (!isMap(this.node)) this.fail(`expected a map, got ${describe(this.node)}`);
    const entries = new Map<string, Pair<unknown, unknown>>();
    for (const pair of (this.node as YAMLMap).items) {
      const key = pair.key as Node | null;
      const name = key !== null && isScalar(key) ? String(key.value) : '';
      const keyOffset = key?.range ? key.range[0] : this.offset;
      const keyPath = this.path ? `${this.path}.${name}` : name;
      if (!allowed.includes(name)) {
        const pos = this.ctx.lineCounter.linePos(keyOffset);
        throw new ConfigFileError(this.ctx.file, pos.line, pos.col, keyPath, 'unknown key');
      }
      entries.set(name, pair);
    }
    return new YamlObject(this, entries);
  }

  /** The value as a list; null reads as an empty list. */
  seq(): YamlValue[] {
    if (this.isNull()) return [];
    if (!isSeq(this.node)) this.fail(`expected a list, got ${describe(this.node)}`);
    return this.node.items.map(
      (item, i) => new YamlValue(this.ctx, item as Node | null, `${this.path}[${i}]`, this.offset),
    );
  }

  private scalar(): Scalar {
    if (!isScalar(this.node)) this.fail(`expected a scalar, got ${describe(this.node)}`);
    return this.node;
  }

  /** Any scalar as its text, as yaml.v2 does for a Go string field. */
  string(): string {
    const s = this.scalar();
    if (s.value === null) return '';
    if (typeof s.value === 'string') return s.value;
    return s.source ?? String(s.value);
  }

  /** A YAML boolean. */
  bool(): boolean {
    const s = this.scalar();
    if (typeof s.value !== 'boolean') this.fail(`cannot unmarshal ${describe(s)} into bool`);
    return s.value;
  }

  /** A non-negative YAML number (Go `uint`); like yaml.v2, a float is truncated. */
  uint(): number {
    const s = this.scalar();
    if (
      typeof s.value !== 'number' ||
      !Number.isFinite(s.value) ||
      s.value < 0 ||
      s.value > Number.MAX_SAFE_INTEGER
    ) {
      this.fail(`cannot unmarshal ${describe(s)} into uint`);
    }
    return Math.trunc(s.value);
  }

  /** A Prometheus duration, in milliseconds. */
  duration(): number {
    const text = this.string();
    const ms = parseDuration(text);
    if (ms === null) this.fail(`not a valid duration string: "${text}"`);
    return ms;
  }

  /** A base-2 byte size (`body_size_limit`). */
  bytes(): number {
    const text = this.string();
    try {
      return parseBase2Bytes(text);
    } catch (err) {
      return this.fail((err as Error).message);
    }
  }

  /** A list of strings. */
  stringList(): string[] {
    return this.seq().map((v) => v.string());
  }

  /** A map of string to string, in document order. */
  stringMap(): Record<string, string> {
    if (this.isNull()) return {};
    if (!isMap(this.node)) this.fail(`expected a map, got ${describe(this.node)}`);
    const out: Record<string, string> = {};
    for (const pair of (this.node as YAMLMap).items) {
      const key = pair.key as Node | null;
      const name = key !== null && isScalar(key) ? String(key.value) : '';
      const v = new YamlValue(
        this.ctx,
        pair.value as Node | null,
        this.path ? `${this.path}.${name}` : name,
        key?.range?.[0] ?? this.offset,
      );
      out[name] = v.string();
    }
    return out;
  }

  /** The plain JavaScript value (maps become objects), for sections validated elsewhere. */
  toJS(): unknown {
    return this.node === null ? null : this.node.toJSON();
  }
}

/** A YAML map whose keys were checked; gives typed field reads with defaults. */
export class YamlObject {
  readonly value: YamlValue;
  private readonly entries: Map<string, Pair<unknown, unknown>>;

  constructor(value: YamlValue, entries: Map<string, Pair<unknown, unknown>>) {
    this.value = value;
    this.entries = entries;
  }

  /** The value under `key`; its `isNull()` is true when the key is missing. */
  get(key: string): YamlValue {
    const pair = this.entries.get(key);
    const path = this.value.path ? `${this.value.path}.${key}` : key;
    if (!pair) return new YamlValue(this.value.ctx, null, path, this.value.offset);
    const keyNode = pair.key as Node | null;
    return new YamlValue(
      this.value.ctx,
      pair.value as Node | null,
      path,
      keyNode?.range?.[0] ?? this.value.offset,
    );
  }

  /** True when `key` is present with a non-null value. */
  has(key: string): boolean {
    return !this.get(key).isNull();
  }

  /** Throws at `key` (or at the map when the key is missing). */
  fail(key: string, reason: string): never {
    const pair = this.entries.get(key);
    const keyNode = pair?.key as Node | null | undefined;
    const v = this.get(key);
    return v.fail(reason, keyNode?.range?.[0] ?? this.value.offset);
  }

  /** Throws at the map itself, with the map's key path. */
  failHere(reason: string): never {
    return this.value.fail(reason);
  }

  str(key: string, dflt: string): string {
    const v = this.get(key);
    return v.isNull() ? dflt : v.string();
  }

  optStr(key: string): string | null {
    const v = this.get(key);
    return v.isNull() ? null : v.string();
  }

  bool(key: string, dflt: boolean): boolean {
    const v = this.get(key);
    return v.isNull() ? dflt : v.bool();
  }

  uint(key: string, dflt: number): number {
    const v = this.get(key);
    return v.isNull() ? dflt : v.uint();
  }

  /** Duration in ms; a missing key or `0` gives `dflt` (Go's zero value means "unset"). */
  duration(key: string, dflt: number): number {
    const v = this.get(key);
    if (v.isNull()) return dflt;
    const ms = v.duration();
    return ms === 0 ? dflt : ms;
  }

  bytes(key: string, dflt: number): number {
    const v = this.get(key);
    return v.isNull() ? dflt : v.bytes();
  }

  stringList(key: string): string[] {
    return this.get(key).stringList();
  }

  stringMap(key: string): Record<string, string> {
    return this.get(key).stringMap();
  }
}
