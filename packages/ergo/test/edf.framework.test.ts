// The framework's wire types against frames captured from Go Ergo: handshake messages, ENP
// control messages (also with the caches a real Go node announced) and registrar messages
// decode to the framework classes and re-encode to the same bytes.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrIncorrect, ErrProcessUnknown, ErrTaken, ErrUnknown, TerminateReasonPanic } from '../src/gen/errors.js';
import { Event } from '../src/gen/event.js';
import { MessageEvent } from '../src/gen/messages.js';
import { PID } from '../src/gen/pid.js';
import { ProcessID } from '../src/gen/processid.js';
import { Ref } from '../src/gen/ref.js';
import {
  EdfDecoder,
  EdfEncoder,
  FrameworkTypeName,
  Go,
  MessageAccept,
  MessageApplicationStart,
  MessageHello,
  MessageIntroduce,
  MessageJoin,
  MessageLinkPID,
  MessageMonitorProcessID,
  MessageRegisterReply,
  MessageRegisterRoutes,
  MessageResolveReply,
  MessageResult,
  MessageSpawn,
  NetworkFlags,
  ProcessOptionsExtra,
  Route,
  WireVersion,
  defaultRegistry,
} from '../src/net/index.js';
import { hex, loadVectors, unhex } from './edf.fixtures.js';

interface Frame {
  name: string;
  hex: string;
  fields?: Record<string, unknown> & { payload_hex?: string };
}

const handshake = loadVectors<Frame>('handshake.json');
const enp = loadVectors<Frame>('enp.json');
const registrar = loadVectors<Frame>('registrar.json');
const frame = (list: Frame[], name: string): Frame => {
  const f = list.find((x) => x.name === name);
  assert.ok(f, `vector ${name}`);
  return f;
};

/** Handshake frames: `57 01 u32 len` then one EDF value. */
function handshakePayload(f: Frame): Uint8Array {
  const b = unhex(f.hex);
  assert.equal(b[0], 0x57);
  assert.equal(new DataView(b.buffer).getUint32(2), b.length - 6);
  return b.subarray(6);
}

test('deterministic handshake frames decode to the framework classes and re-encode identically', () => {
  const names = handshake.filter((f) => f.name.startsWith('det_')).map((f) => f.name);
  assert.equal(names.length, 8);
  for (const name of names) {
    const payload = handshakePayload(frame(handshake, name));
    const v = new EdfDecoder({ exact: true }).decode(payload);
    assert.equal(hex(new EdfEncoder().encode(v)), hex(payload), name);
  }
  const hello = new EdfDecoder().decode(handshakePayload(frame(handshake, 'det_1_hello_initiator')));
  assert.ok(hello instanceof MessageHello);
  assert.equal(hello.salt, '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
  assert.equal(hello.digest, 'bffee2da39a0ab82c168f642152867202fd9ddf36785d7dd753ccb8b57d404c1');

  const intro = new EdfDecoder().decode(handshakePayload(frame(handshake, 'det_3_introduce_initiator')));
  assert.ok(intro instanceof MessageIntroduce);
  assert.equal(intro.node, 'a@localhost');
  assert.deepStrictEqual(intro.version, new WireVersion({ name: 'MyApp', release: '1.0', license: 'MIT' }));
  assert.equal(intro.flags.mask(), 0x67);
  assert.equal(intro.creation, 1700000000);
  assert.deepStrictEqual(intro.atomCache, new Map([[256, 'a@localhost']]));
  assert.deepStrictEqual(intro.regCache, new Map([[4096, FrameworkTypeName.Env]]));
  assert.equal(intro.errCache?.get(32768), ErrIncorrect, 'error texts map to the sentinels');

  const accept = new EdfDecoder().decode(handshakePayload(frame(handshake, 'det_4_accept_acceptor')));
  assert.deepStrictEqual(
    accept,
    new MessageAccept({ id: '0123456789abcdef0123456789abcdef', poolSize: 3, poolDSN: ['127.0.0.1:11144'] }),
  );
  const join = new EdfDecoder().decode(handshakePayload(frame(handshake, 'det_7_join')));
  assert.ok(
    join instanceof MessageJoin &&
      join.node === 'a@localhost' &&
      join.connectionID === '0123456789abcdef0123456789abcdef',
  );
});

test('building the handshake messages from classes gives Go’s bytes', () => {
  const intro = new MessageIntroduce({
    node: 'a@localhost',
    version: new WireVersion({ name: 'MyApp', release: '1.0', license: 'MIT' }),
    flags: NetworkFlags.defaults(),
    creation: 1700000000,
    atomCache: new Map([[256, 'a@localhost']]),
    regCache: new Map([[4096, FrameworkTypeName.Env]]),
    errCache: new Map([[32768, ErrIncorrect]]),
    digest: 'b535a09ff8422504a436aa561cf4de805f94db07e97266b7061dbc2fa23fda75',
  });
  assert.equal(
    hex(new EdfEncoder().encode(intro)),
    hex(handshakePayload(frame(handshake, 'det_3_introduce_initiator'))),
  );
  const final = new MessageAccept();
  assert.equal(hex(new EdfEncoder().encode(final)), hex(handshakePayload(frame(handshake, 'det_6_accept_initiator'))));
});

test('live Introduce from a Go node: 132 type-cache entries and the 15 framework errors', () => {
  for (const name of ['live_3_introduce_initiator', 'live_5_introduce_acceptor', 'node_conn0_01_MessageIntroduce']) {
    const payload = handshakePayload(frame(handshake, name));
    const intro = new EdfDecoder().decode(payload);
    assert.ok(intro instanceof MessageIntroduce, name);
    assert.ok((intro.regCache?.size ?? 0) >= 130);
    assert.equal(intro.regCache?.get(4195), '#ergo.services/ergo/net/proto/MessageLinkPID');
    assert.equal(intro.errCache?.size, 15);
    assert.equal(intro.errCache?.get(32768), ErrIncorrect);
    assert.equal(intro.errCache?.get(32782), TerminateReasonPanic);
    assert.equal(hex(new EdfEncoder().encode(new EdfDecoder({ exact: true }).decode(payload))), hex(payload), name);
  }
});

test('ENP control payloads (type 199) decode and re-encode identically', () => {
  const control = enp.filter((f) =>
    /^(un)?link_|^(de)?monitor_|^spawn$|^application_start$|^in_.*(link|monitor|spawn).*$/.test(f.name),
  );
  assert.ok(control.length >= 18);
  for (const f of control) {
    const payload = unhex(f.fields!.payload_hex!);
    const v = new EdfDecoder({ exact: true }).decode(payload);
    assert.equal(hex(new EdfEncoder().encode(v)), hex(payload), f.name);
  }
  const link = new EdfDecoder().decode(unhex(frame(enp, 'link_pid').fields!.payload_hex!));
  assert.ok(link instanceof MessageLinkPID);
  assert.deepStrictEqual(link.source, new PID('a@localhost', 1001, 1700000000));
  assert.deepStrictEqual(link.target, new PID('b@localhost', 2002, 1700000001));
  assert.deepStrictEqual(link.ref, new Ref('a@localhost', 1700000000, [0x26f01, 0x5e68, 0]));

  const spawn = new EdfDecoder().decode(unhex(frame(enp, 'spawn').fields!.payload_hex!));
  assert.ok(spawn instanceof MessageSpawn && spawn.options instanceof ProcessOptionsExtra);
  assert.equal(spawn.name, 'myproc');
  assert.equal(spawn.options.register, 'reg1');
  assert.equal(spawn.options.parentLogLevel, 1);
  assert.deepStrictEqual(spawn.options.args, ['arg', 1]);
  assert.deepStrictEqual(spawn.options.parentPID, new PID('a@localhost', 1, 1700000000));

  const app = new EdfDecoder().decode(unhex(frame(enp, 'application_start').fields!.payload_hex!));
  assert.ok(app instanceof MessageApplicationStart);
  assert.equal(app.mode, 3);
  assert.equal(app.options.coreLogLevel, 1);

  const reply = new EdfDecoder().decode(unhex(frame(enp, 'in_monitor_processid_fail__reply').fields!.payload_hex!));
  assert.ok(reply instanceof MessageResult);
  assert.equal(reply.error, ErrProcessUnknown, 'a Go error text decodes to our sentinel object');
  assert.equal(reply.result, null);
});

test('control messages built from classes encode as Go encodes them', () => {
  const mon = new EdfDecoder().decode(unhex(frame(enp, 'monitor_processid').fields!.payload_hex!));
  assert.ok(mon instanceof MessageMonitorProcessID);
  const rebuilt = new MessageMonitorProcessID({
    source: mon.source,
    target: new ProcessID(mon.target.name, mon.target.node),
    ref: mon.ref,
  });
  assert.equal(hex(new EdfEncoder().encode(rebuilt)), frame(enp, 'monitor_processid').fields!.payload_hex);
});

test('payloads with the caches a Go node announced (cached connection, live capture)', () => {
  // cached_link_pid: a@localhost=300, b@localhost=303, MessageLinkPID=0x1063.
  const cached = unhex(frame(enp, 'cached_link_pid').fields!.payload_hex!);
  const dc = {
    atomCache: new Map([
      [300, 'a@localhost'],
      [303, 'b@localhost'],
    ]),
    typeCache: new Map([[0x1063, '#ergo.services/ergo/net/proto/MessageLinkPID']]),
  };
  const link = new EdfDecoder(dc).decode(cached);
  assert.ok(link instanceof MessageLinkPID);
  assert.deepStrictEqual(link.target, new PID('b@localhost', 2002, 1700000001));
  const ec = {
    atomCache: new Map([...dc.atomCache].map(([k, v]) => [v, k] as [string, number])),
    typeCache: new Map([['#ergo.services/ergo/net/proto/MessageLinkPID', 0x1063]]),
  };
  assert.equal(hex(new EdfEncoder(ec).encode(link)), hex(cached));

  // Live capture: both nodes in one Go process: atoms 256=b@localhost, 257=a@localhost; the type
  // cache is the one announced in the node's Introduce.
  const intro = new EdfDecoder().decode(handshakePayload(frame(handshake, 'node_conn0_01_MessageIntroduce')));
  assert.ok(intro instanceof MessageIntroduce && intro.regCache !== null);
  const errCache = new Map([...intro.errCache!].map(([k, v]) => [k, v!] as [number, Error]));
  const live = new EdfDecoder({
    atomCache: new Map([
      [256, 'b@localhost'],
      [257, 'a@localhost'],
    ]),
    typeCache: intro.regCache,
    errorCache: errCache,
  });
  const result = live.decode(unhex(frame(enp, 'live_12_monitor_event_conn1_btoa_Any').fields!.payload_hex!));
  assert.ok(result instanceof MessageResult);
  assert.equal(result.error, null);
  assert.equal(result.result, null, 'typed []gen.MessageEvent(nil)');
  assert.equal(result.ref.node, 'a@localhost');
  const spawn = live.decode(unhex(frame(enp, 'live_14_remote_spawn_conn2_atob_Any').fields!.payload_hex!));
  assert.ok(spawn instanceof MessageSpawn);
  assert.equal(spawn.name, 'remote_worker');
  assert.deepStrictEqual(spawn.options.args, ['arg1', 2]);
});

test('the LinkEvent/MonitorEvent result is a typed []gen.MessageEvent even when empty', () => {
  const me = defaultRegistry.type(FrameworkTypeName.MessageEvent)!;
  const events = Go.slice(me);
  const ref = new Ref('a@localhost', 1, [1, 2, 3]);
  const empty = new EdfEncoder({ typeCache: new Map([[FrameworkTypeName.MessageEvent, 0x102a]]) }).encode(
    new MessageResult({ result: events.of(null), ref }),
  );
  assert.match(hex(empty), /ffff8200049d83102aff/);
  const one = new MessageEvent(new Event('prices', 'a@localhost'), 5n, 'tick');
  const bytes = new EdfEncoder().encode(new MessageResult({ result: events.of([one]), ref }));
  const back = new EdfDecoder().decode(bytes) as MessageResult;
  assert.deepStrictEqual(back.result, [one]);
});

test('registrar messages decode and re-encode identically', () => {
  for (const f of registrar) {
    const b = unhex(f.hex);
    assert.equal(b[0], 1);
    const payload = b.subarray(4);
    assert.equal(new DataView(b.buffer).getUint16(2), payload.length, f.name);
    const v = new EdfDecoder({ exact: true }).decode(payload);
    assert.equal(hex(new EdfEncoder().encode(v)), hex(payload), f.name);
  }
  const reg = new EdfDecoder().decode(unhex(frame(registrar, 'register_request').hex).subarray(4));
  assert.ok(reg instanceof MessageRegisterRoutes);
  assert.equal(reg.node, 'demo@127.0.0.1');
  assert.ok(reg.routes !== null && reg.routes[0] instanceof Route);
  assert.equal(reg.routes[0].port, 0x3a98);
  assert.deepStrictEqual(
    reg.routes[0].handshakeVersion,
    new WireVersion({ name: 'EHS', release: 'R1', license: 'MIT' }),
  );
  const taken = new EdfDecoder().decode(unhex(frame(registrar, 'register_reply_taken').hex).subarray(4));
  assert.ok(taken instanceof MessageRegisterReply && taken.error === ErrTaken);
  const unknown = new EdfDecoder().decode(unhex(frame(registrar, 'resolve_reply_unknown').hex).subarray(4));
  assert.ok(unknown instanceof MessageResolveReply && unknown.routes === null && unknown.error === ErrUnknown);
});

test('NetworkFlags: mask and back; Enable=0 ignores every other bit', () => {
  assert.equal(NetworkFlags.defaults().mask(), 0x67);
  assert.deepStrictEqual(NetworkFlags.fromMask(0x67), NetworkFlags.defaults());
  assert.deepStrictEqual(NetworkFlags.fromMask(0x66), new NetworkFlags());
  assert.equal(new NetworkFlags({ enableImportantDelivery: true }).mask(), 0);
  const bytes = new EdfEncoder().encode(NetworkFlags.fromMask(0x7f));
  assert.match(hex(bytes), /00000008000000000000007f$/);
  // A short custom body is refused with a codec error.
  const bad = unhex(hex(bytes).replace(/00000008000000000000007f$/, '000000017f'));
  assert.throws(() => new EdfDecoder().decode(bad), { code: 'ERR_EDF_DECODE' });
});
