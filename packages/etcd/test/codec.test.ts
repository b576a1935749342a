// Golden values of what the etcd registrar stores (EXTRAS.md §3), built by hand from the layout
// in EXTRAS.md §3 and WIRE.md §1 (type descriptor 0x82 + u16 length; slice 0x9D; registered type
// 0x83 + u16 name length + name; struct bodies without tags; strings/atoms u16 length + bytes;
// big-endian integers), then checked against values Go Ergo itself produced
// (../shared/vectors): the route body is the Routes field of `register_request` in
// registrar.json, and the header has the shape of `slice_of_reg` in edf.json (Go's top-level
// `[]msgs.Point`: 82 0017 9d 83 0013 "#wiregen/msgs/Point" 9d 00000001 …).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApplicationRoute, Atom, Route } from 'ergo-ts';
import {
  decodeApplicationRoute,
  decodeRoutes,
  encodeApplicationRoute,
  encodeRoutes,
  parseConfigValue,
  clusterPaths,
} from '../src/index.js';
import { codecRegistry } from '../src/codec.js';
import { createRegistry, registerFrameworkTypes } from 'ergo-ts/net';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const str = (s: string): string => Buffer.from(s).toString('hex');
const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const lp = (s: string): string => u16(Buffer.byteLength(s)) + str(s);

const ROUTE_TYPE = '#ergo.services/ergo/gen/Route';
const APP_TYPE = '#ergo.services/ergo/gen/ApplicationRoute';

const goRoute: Route = {
  host: '',
  port: 15000,
  tls: false,
  handshakeVersion: { name: 'EHS', release: 'R1', commit: '', license: 'MIT' },
  protoVersion: { name: 'ENP', release: 'R1', commit: '', license: 'MIT' },
};

// The Routes field of registrar.json `register_request` (Go: Port 15000, EHS/ENP R1 MIT).
const GO_ROUTES_BODY =
  '9d00000001' +
  '0000' +
  '3a98' +
  '00' +
  '0003454853' +
  '00025231' +
  '0000' +
  '00034d4954' +
  '0003454e50' +
  '00025231' +
  '0000' +
  '00034d4954';

test('node value: base64 of EDF []gen.Route, byte for byte', () => {
  const descriptor = '9d' + '83' + lp(ROUTE_TYPE);
  assert.equal(descriptor.length / 2, 33);
  const expected = hex('82' + u16(33) + descriptor + GO_ROUTES_BODY);
  const b64 = encodeRoutes([goRoute]);
  assert.equal(b64, expected.toString('base64'));
  // The literal etcdctl shows for that node (standard alphabet, padded).
  assert.equal(
    b64,
    'ggAhnYMAHSNlcmdvLnNlcnZpY2VzL2VyZ28vZ2VuL1JvdXRlnQAAAAEAADqYAAADRUhTAAJSMQAAAANNSVQAA0VOUAACUjEAAAADTUlU',
  );
  assert.deepEqual(decodeRoutes(b64), [goRoute]);
  // Two routes (two acceptors), one with a host and TLS.
  const tlsRoute = { ...goRoute, host: '10.0.0.7', port: 15001, tls: true };
  const two = Buffer.from(encodeRoutes([goRoute, tlsRoute]), 'base64');
  assert.equal(two.subarray(36, 41).toString('hex'), '9d00000002');
  assert.deepEqual(decodeRoutes(two.toString('base64')), [goRoute, tlsRoute]);
});

test('application value: base64 of EDF gen.ApplicationRoute, byte for byte', () => {
  const r: ApplicationRoute = { node: 'n1@host' as Atom, name: 'web' as Atom, weight: 10, mode: 3, state: 2 };
  const expected = hex(
    '83' + lp(APP_TYPE) + lp('n1@host') + lp('web') + '000000000000000a' + '0000000000000003' + '00000002',
  );
  const b64 = encodeApplicationRoute(r);
  assert.equal(b64, expected.toString('base64'));
  assert.deepEqual(decodeApplicationRoute(b64), r);
});

test('bad values are refused with an error, not a crash', () => {
  assert.throws(() => decodeRoutes('AAAA'));
  assert.throws(() =>
    decodeRoutes(encodeApplicationRoute({ node: 'a@b' as Atom, name: 'x' as Atom, weight: 0, mode: 1, state: 1 })),
  );
  assert.throws(() => decodeApplicationRoute(encodeRoutes([goRoute])));
  const valid = Buffer.from(encodeRoutes([goRoute]), 'base64');
  for (let cut = 0; cut < valid.length; cut++)
    assert.throws(() => decodeRoutes(valid.subarray(0, cut).toString('base64')));
});

test('config values: int:/float:/bool: prefixes as Ergo parses them', () => {
  assert.equal(parseConfigValue('int:42'), 42);
  assert.equal(parseConfigValue('int:-7'), -7);
  assert.equal(parseConfigValue('int:9223372036854775807'), 9223372036854775807n);
  assert.equal(parseConfigValue('int:9223372036854775808'), 'int:9223372036854775808');
  assert.equal(parseConfigValue('int:4x'), 'int:4x');
  assert.equal(parseConfigValue('float:3.14'), 3.14);
  assert.equal(parseConfigValue('float:1e3'), 1000);
  assert.equal(parseConfigValue('float:abc'), 'float:abc');
  assert.equal(parseConfigValue('bool:true'), true);
  assert.equal(parseConfigValue('bool:F'), false);
  assert.equal(parseConfigValue('bool:yes'), 'bool:yes');
  assert.equal(parseConfigValue('plain'), 'plain');
});

test('key layout', () => {
  assert.deepEqual(clusterPaths('prod'), {
    routes: 'services/ergo/cluster/prod/routes/',
    nodes: 'services/ergo/cluster/prod/routes/nodes/',
    applications: 'services/ergo/cluster/prod/routes/applications/',
    config: 'services/ergo/cluster/prod/config/',
    globalConfig: 'services/ergo/config/',
  });
});

test("the codec's registry: the framework types and gen.ApplicationRoute, not the inspector's", () => {
  // A node's start builds it: the inspector's hundred types would cost each start for nothing.
  const framework = createRegistry({ framework: false });
  registerFrameworkTypes(framework);
  const r = codecRegistry();
  assert.ok(r.type(APP_TYPE) !== undefined);
  assert.ok(r.type(ROUTE_TYPE) !== undefined);
  assert.equal(r.types().length, framework.types().length + 1);
});
