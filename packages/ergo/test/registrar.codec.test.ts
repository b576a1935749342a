// ESRD:R1 packets against registrar.json: Go's client packets decode and re-encode to the same
// bytes; the replies built per the spec (and accepted by Go's client) are what our codec writes.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrTaken, ErrUnknown } from '../src/gen/errors.js';
import { Route, WireVersion } from '../src/net/index.js';
import {
  MessageRegisterReply,
  MessageRegisterRoutes,
  MessageResolveReply,
  MessageResolveRoutes,
} from '../src/net/registrar/messages.js';
import { RegistrarCodec, RegistrarPacketType } from '../src/net/registrar/packet.js';
import { hex, unhex } from './edf.fixtures.js';
import { registrarVectors, vector } from './wire_fixtures.js';

const codec = new RegistrarCodec();
const route = (port: number): Route =>
  new Route({
    port,
    handshakeVersion: new WireVersion({ name: 'EHS', release: 'R1', license: 'MIT' }),
    protoVersion: new WireVersion({ name: 'ENP', release: 'R1', license: 'MIT' }),
  });

test('every registrar vector decodes and re-encodes to its bytes', () => {
  assert.equal(registrarVectors.length, 6);
  for (const v of registrarVectors) {
    const m = codec.decode(unhex(v.hex));
    assert.equal(hex(codec.encode(m)), v.hex, v.name);
  }
});

test('our packets are the vectors: register, register replies, resolve, resolve replies', () => {
  const reg = new MessageRegisterRoutes({ node: 'demo@127.0.0.1', routes: [route(15000)] });
  assert.equal(hex(codec.encode(reg)), vector(registrarVectors, 'register_request').hex);
  assert.equal(hex(codec.encode(new MessageRegisterReply())), vector(registrarVectors, 'register_reply_ok').hex);
  assert.equal(
    hex(codec.encode(new MessageRegisterReply({ error: ErrTaken }))),
    vector(registrarVectors, 'register_reply_taken').hex,
  );
  assert.equal(
    hex(codec.encode(new MessageResolveRoutes({ node: 'target@127.0.0.1' }))),
    vector(registrarVectors, 'resolve_request').hex,
  );
  assert.equal(
    hex(codec.encode(new MessageResolveReply({ routes: [route(15000)] }))),
    vector(registrarVectors, 'resolve_reply_routes').hex,
  );
  assert.equal(
    hex(codec.encode(new MessageResolveReply({ error: ErrUnknown }))),
    vector(registrarVectors, 'resolve_reply_unknown').hex,
  );
});

test('decoded messages carry Go’s values; known error texts decode to the sentinels', () => {
  const reg = codec.decode(unhex(vector(registrarVectors, 'register_request').hex), RegistrarPacketType.Register);
  assert.ok(reg instanceof MessageRegisterRoutes);
  assert.equal(reg.node, 'demo@127.0.0.1');
  assert.deepStrictEqual(reg.routes, [route(15000)]);
  const taken = codec.decode(unhex(vector(registrarVectors, 'register_reply_taken').hex));
  assert.ok(taken instanceof MessageRegisterReply && ErrTaken.is(taken.error));
  const unknown = codec.decode(unhex(vector(registrarVectors, 'resolve_reply_unknown').hex));
  assert.ok(unknown instanceof MessageResolveReply && unknown.routes === null && ErrUnknown.is(unknown.error));
});

test('bad packets fail with ERR_REGISTRAR_PACKET', () => {
  const good = unhex(vector(registrarVectors, 'resolve_request').hex);
  const cases: [string, Uint8Array, number?][] = [
    ['short', good.subarray(0, 3)],
    ['version', Uint8Array.of(2, ...good.subarray(1))],
    ['unknown type', Uint8Array.of(1, 99, ...good.subarray(2))],
    ['truncated', good.subarray(0, good.length - 1)],
    ['type/class mismatch', Uint8Array.of(1, 47, ...good.subarray(2))],
    ['unexpected type', good, RegistrarPacketType.ResolveReply],
    ['garbage payload', Uint8Array.of(1, 46, 0, 2, 0x83, 0xff)],
  ];
  for (const [what, bytes, expected] of cases) {
    assert.throws(() => codec.decode(bytes, expected), { code: 'ERR_REGISTRAR_PACKET' }, what);
  }
  assert.throws(() => codec.encode({} as MessageRegisterReply), { code: 'ERR_REGISTRAR_PACKET' });
});
