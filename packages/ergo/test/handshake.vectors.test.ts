// EHS:R1 against handshake.json: every frame Go built or sent (deterministic, captured from
// Ergo's Start/Accept/Join, and between two real nodes) decodes and re-encodes to the same bytes,
// and every digest in them is what our formulas give for the cookie they used.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrIncorrect, TerminateReasonPanic } from '../src/gen/errors.js';
import {
  certDigestOf,
  helloCertDigest,
  helloDigest,
  helloReplyDigest,
  introduceDigest,
  joinAcceptCertDigest,
  joinAcceptDigest,
  joinDigest,
  makeConnectionID,
  makeSalt,
  sameDigest,
  tlsFingerprint,
} from '../src/net/handshake/digest.js';
import { HandshakeCodec } from '../src/net/handshake/frame.js';
import { MessageAccept, MessageHello, MessageIntroduce, MessageJoin } from '../src/net/handshake/messages.js';
import { NetworkFlags, WireVersion } from '../src/net/index.js';
import { hex, unhex } from './edf.fixtures.js';
import { handshakeVectors, vector } from './wire_fixtures.js';

const COOKIE = 'cookie123';
const frames = handshakeVectors.filter((v) => v.hex !== '');

function decode(name: string): unknown {
  const c = new HandshakeCodec();
  c.push(unhex(vector(handshakeVectors, name).hex));
  const m = c.next();
  assert.equal(c.buffered, 0);
  return m;
}

test('every handshake frame decodes and re-encodes to Go’s bytes', () => {
  assert.equal(frames.length, 26);
  const c = new HandshakeCodec();
  for (const v of frames) {
    c.push(unhex(v.hex));
    const m = c.next();
    assert.ok(m !== undefined, v.name);
    assert.equal(hex(c.encode(m)), v.hex, v.name);
  }
});

test('frames split at every byte and concatenated come out whole, in order, with the tail kept', () => {
  const all = Buffer.concat(frames.slice(0, 8).map((v) => unhex(v.hex)));
  const tail = Uint8Array.of(0x4e, 0x01, 0, 0);
  for (const step of [1, 7, 64, all.length]) {
    const c = new HandshakeCodec();
    const got: unknown[] = [];
    const input = Buffer.concat([all, tail]);
    for (let i = 0; i < input.length; i += step) {
      c.push(input.subarray(i, i + step));
      while (got.length < 8) {
        const m = c.next();
        if (m === undefined) break;
        got.push(m);
      }
    }
    assert.equal(got.length, 8, `step ${step}`);
    assert.ok(
      got[0] instanceof MessageHello &&
        got[2] instanceof MessageIntroduce &&
        got[6] instanceof MessageJoin &&
        got[7] instanceof MessageAccept,
    );
    assert.equal(hex(c.tail()), hex(tail));
  }
});

test('deterministic frames: every digest follows WIRE §2.2–2.3', () => {
  const h1 = decode('det_1_hello_initiator') as MessageHello;
  const h2 = decode('det_2_hello_acceptor') as MessageHello;
  const i3 = decode('det_3_introduce_initiator') as MessageIntroduce;
  const a4 = decode('det_4_accept_acceptor') as MessageAccept;
  const i5 = decode('det_5_introduce_acceptor') as MessageIntroduce;
  const a6 = decode('det_6_accept_initiator') as MessageAccept;
  const j7 = decode('det_7_join') as MessageJoin;
  const a8 = decode('det_8_join_accept') as MessageAccept;
  assert.equal(h1.digest, helloDigest(h1.salt, COOKIE));
  assert.equal(h2.digest, helloReplyDigest(h2.salt, h1.digest, COOKIE));
  assert.equal(i3.digest, introduceDigest(h2.salt, COOKIE));
  assert.equal(i3.node, 'a@localhost');
  assert.deepStrictEqual(i3.version, new WireVersion({ name: 'MyApp', release: '1.0', license: 'MIT' }));
  assert.deepStrictEqual(i3.errCache, new Map([[32768, ErrIncorrect]]));
  assert.equal(a4.poolSize, 3);
  assert.deepStrictEqual(a4.poolDSN, ['127.0.0.1:11144']);
  assert.equal(i5.digest, '', "the acceptor's Introduce carries no digest");
  assert.equal(i5.atomCache, null);
  assert.deepStrictEqual(i5.flags, NetworkFlags.defaults());
  assert.deepStrictEqual(a6, new MessageAccept());
  assert.equal(j7.digest, joinDigest(j7.connectionID, j7.salt, COOKIE));
  assert.equal(a8.digest, joinAcceptDigest(j7.digest, COOKIE));
});

test('live frames from Ergo’s own Start/Accept/Join and from two real nodes verify with the same formulas', () => {
  for (const prefix of ['live_', 'node_conn0_']) {
    const names = frames.filter((v) => v.name.startsWith(prefix)).map((v) => v.name);
    const hi = decode(names.find((n) => /1_hello_initiator|00_MessageHello/.test(n))!) as MessageHello;
    const ha = decode(names.find((n) => /2_hello_acceptor|04_MessageHello/.test(n))!) as MessageHello;
    const ii = decode(names.find((n) => /3_introduce_initiator|01_MessageIntroduce/.test(n))!) as MessageIntroduce;
    assert.ok(sameDigest(hi.digest, helloDigest(hi.salt, COOKIE)), prefix);
    assert.ok(sameDigest(ha.digest, helloReplyDigest(ha.salt, hi.digest, COOKIE)), prefix);
    assert.ok(sameDigest(ii.digest, introduceDigest(ha.salt, COOKIE)), prefix);
    assert.equal(ii.errCache?.size, 15);
    assert.equal(ii.errCache?.get(32782), TerminateReasonPanic, 'Go’s error cache maps to our sentinels by text');
    assert.ok((ii.regCache?.size ?? 0) > 100);
  }
  for (const [j, a] of [
    ['live_7_join', 'live_8_join_accept'],
    ['node_conn1_00_MessageJoin', 'node_conn1_01_MessageAccept'],
    ['node_conn2_00_MessageJoin', 'node_conn2_01_MessageAccept'],
  ] as const) {
    const join = decode(j) as MessageJoin;
    const acc = decode(a) as MessageAccept;
    assert.ok(sameDigest(join.digest, joinDigest(join.connectionID, join.salt, COOKIE)), j);
    assert.ok(sameDigest(acc.digest, joinAcceptDigest(join.digest, COOKIE)), a);
  }
  assert.equal((decode('live_5_introduce_acceptor') as MessageIntroduce).maxMessageSize, 1048576);
});

test('TLS binding: the digest covers the colon-joined text followed by the raw SHA-1 of the certificate', () => {
  const der = unhex('3082010a02820101');
  const fp = tlsFingerprint(der);
  assert.equal(fp.length, 20);
  assert.equal(helloCertDigest('sa', 'si', 'c', fp), certDigestOf(fp, 'sa', 'si', 'c'));
  assert.equal(joinAcceptCertDigest('dj', 'sj', 'c', fp), certDigestOf(fp, 'dj', 'sj', 'c'));
  assert.notEqual(helloCertDigest('sa', 'si', 'c', fp), helloCertDigest('sa', 'si', 'c', tlsFingerprint(unhex('00'))));
  assert.match(makeSalt(), /^[0-9a-f]{64}$/);
  assert.match(makeConnectionID(), /^[0-9a-f]{32}$/);
  assert.equal(sameDigest('ab', 'abc'), false);
});

test('bad frames fail with a code: magic, version, size over the limit (checked from the header), not a handshake message', () => {
  const hello = unhex(vector(handshakeVectors, 'det_1_hello_initiator').hex);
  const bad = (bytes: Uint8Array, code: string, max?: number): void => {
    const c = new HandshakeCodec({ maxFrame: max });
    c.push(bytes);
    assert.throws(() => c.next(), { code }, code);
  };
  bad(Uint8Array.of(0x58), 'ERR_HANDSHAKE_FRAME');
  bad(Uint8Array.of(0x57, 2), 'ERR_HANDSHAKE_FRAME');
  bad(Uint8Array.of(0x57, 1, 0, 1, 0, 0), 'ERR_HANDSHAKE_TOO_LARGE');
  bad(hello, 'ERR_HANDSHAKE_TOO_LARGE', 100);
  bad(Uint8Array.of(0x57, 1, 0, 0, 0, 3, 0x8d, 0, 0), 'ERR_HANDSHAKE_MESSAGE');
  bad(Uint8Array.of(0x57, 1, 0, 0, 0, 2, 0x83, 0xff), 'ERR_HANDSHAKE_MESSAGE');
  const c = new HandshakeCodec({ maxFrame: 100 });
  assert.throws(() => c.encode(decode('det_3_introduce_initiator') as MessageIntroduce), {
    code: 'ERR_HANDSHAKE_TOO_LARGE',
  });
  assert.throws(() => new HandshakeCodec({ maxFrame: 0 }), { code: 'ERR_HANDSHAKE_TOO_LARGE' });
});
