import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, UsageError, type FlagSpec } from './flags.js';

const SPECS: FlagSpec[] = [
  { name: 'namespace', short: 'n', kind: 'string', default: 'default', help: '' },
  { name: 'all-namespaces', short: 'A', kind: 'bool', help: '' },
  { name: 'match', kind: 'list', help: '' },
  { name: 'to', kind: 'string', help: '' },
];

test('parseFlags', async (t) => {
  const f = (
    name: string,
    args: string[],
    want: {
      strings?: Record<string, string>;
      bools?: string[];
      lists?: Record<string, string[]>;
      positionals?: string[];
      help?: boolean;
    },
  ) =>
    t.test(name, () => {
      const got = parseFlags(args, SPECS);
      assert.deepEqual(Object.fromEntries(got.strings), want.strings ?? { namespace: 'default' });
      assert.deepEqual([...got.bools], want.bools ?? []);
      assert.deepEqual(Object.fromEntries(got.lists), want.lists ?? {});
      assert.deepEqual(got.positionals, want.positionals ?? []);
      assert.equal(got.help, want.help ?? false);
    });
  await f('defaults only', [], {});
  await f('short with value', ['-n', 'demo', 'deploy'], {
    strings: { namespace: 'demo' },
    positionals: ['deploy'],
  });
  await f('long with =', ['--namespace=demo'], { strings: { namespace: 'demo' } });
  await f('value may contain =', ['--to=deploy/a=b'], {
    strings: { namespace: 'default', to: 'deploy/a=b' },
  });
  await f('bool short and long', ['-A', '--all-namespaces=false'], { bools: [] });
  await f('bool set', ['deploy', '-A'], { bools: ['all-namespaces'], positionals: ['deploy'] });
  await f('repeatable', ['--match', '{a="1"}', '--match={b="2"}'], {
    lists: { match: ['{a="1"}', '{b="2"}'] },
  });
  await f('-- ends flags', ['--', '-n', 'x'], { positionals: ['-n', 'x'] });
  await f('help', ['-h'], { help: true });
  await f('lone dash is positional', ['-'], { positionals: ['-'] });
});

test('parseFlags rejects', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['unknown long', ['--nope'], /unknown flag: --nope/],
    ['unknown short', ['-x'], /unknown flag: -x/],
    ['missing value', ['-n'], /flag needs an argument: -n/],
    ['bad bool', ['-A=maybe'], /takes true or false/],
  ];
  for (const [name, args, re] of cases) {
    await t.test(name, () =>
      assert.throws(
        () => parseFlags(args, SPECS),
        (e: unknown) => e instanceof UsageError && re.test(e.message),
      ),
    );
  }
});
