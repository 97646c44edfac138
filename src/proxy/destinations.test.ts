import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../model/errors.js';
import { Destinations } from './destinations.js';

test('destinations resolve by authority, then host, else to themselves', () => {
  const d = Destinations.parse(`
web.ns.svc.cluster.local:8080:
  address: 127.0.0.1:4143
  labels: {namespace: ns, deployment: web, dst_pod: web-1}
db.ns:
  labels: {service: db}
`);
  const cases: [string, string, string, string, string[]][] = [
    [
      'web.ns.svc.cluster.local:8080',
      'web.ns.svc.cluster.local',
      '8080',
      '127.0.0.1:4143',
      ['dst_deployment', 'web', 'dst_namespace', 'ns', 'dst_pod', 'web-1'],
    ],
    ['db.ns:5432', 'db.ns', '5432', 'db.ns:5432', ['dst_service', 'db']],
    ['other:80', 'other', '80', 'other:80', []],
  ];
  for (const [authority, host, port, address, labels] of cases) {
    assert.deepEqual(d.resolve(authority, host, port), { address, labels }, authority);
  }
});

test('destinations reject malformed documents with the file and entry named', () => {
  const cases: [string, RegExp][] = [
    ['[1, 2]', /f\.yaml: destinations must be a mapping/],
    ['a:80: 3', /f\.yaml: destination "a:80": must be a mapping/],
    ['a:80: {adress: x}', /unknown field "adress"/],
    ['a:80: {labels: {"bad-name": x}}', /invalid label name "dst_bad-name"/],
    ['a:80: {labels: {x: [1]}}', /label dst_x must be a scalar/],
    ['a: [', /f\.yaml: cannot parse destinations/],
  ];
  for (const [text, want] of cases) {
    assert.throws(
      () => Destinations.parse(text, 'f.yaml'),
      (e: unknown) => e instanceof ConfigError && want.test(e.message),
      text,
    );
  }
  assert.equal(Destinations.parse('').size, 0);
});
