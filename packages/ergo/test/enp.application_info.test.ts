// RemoteNode.applicationInfo (Ergo 3.2.0) on the wire, as golden bytes. The ergo-peer binary
// predates 3.2.0, so the Go form is pinned here by hand from the 3.2.0 type definitions:
//   net/proto:  type MessageApplicationInfo struct { Name gen.Atom; Ref gen.Ref }, sent as
//               packet 199 (order 0) and answered by MessageResult{Error, Result, Ref} whose
//               Result is a gen.ApplicationInfo (a zero one beside an error);
//   gen:        type ApplicationInfo struct { Name Atom; Weight int; Tags []Atom;
//               Map map[string]Atom; Description string; Version Version; Env map[Env]any;
//               Depends ApplicationDepends; Mode ApplicationMode; State ApplicationState;
//               Parent Atom; Uptime int64; Group []PID }, ApplicationState an int32.
// Each segment below is built from WIRE.md §1 body rules (the same rules the captured
// `application_start` / `in_spawn__reply` vectors of a real Go node follow), not from our encoder.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { PID } from '../src/gen/pid.js';
import { Ref } from '../src/gen/ref.js';
import type { ApplicationInfo } from '../src/gen/application.js';
import type { Atom } from '../src/gen/atom.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpEncoder } from '../src/net/proto/encoder.js';
import { MessageApplicationInfo, MessageResult } from '../src/net/proto/messages.js';
import { fromWireApplicationInfo, toWireApplicationInfo } from '../src/net/proto/application_info.js';
import { WireApplicationInfo } from '../src/net/edf/framework.js';
import { controlResultRouteOf, controlRouteOf } from '../src/net/proto/order.js';
import { PacketType } from '../src/net/proto/packet.js';
import { hex } from './edf.fixtures.js';

const text = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const u32 = (n: number): string => n.toString(16).padStart(8, '0');
const u64 = (n: number): string => n.toString(16).padStart(16, '0');
/** atom / string body: u16 length + bytes. */
const str = (s: string): string => u16(Buffer.byteLength(s)) + text(s);
/** A registered type tag by name: 0x83 u16 n name. */
const reg = (name: string): string => '83' + str(name);
/** Packet 199 framing around an EDF payload (magic 78, version 1, length, order 0). */
const packet = (payload: string): string => '4e01' + u32(8 + payload.length / 2) + '00' + 'c7' + payload;

const CREATION = 0x6553f100;
const REF = new Ref('a@localhost' as Atom, CREATION, [0x26f12, 0x5e68, 0]);
/** Ref body: atom(node) i64 creation, then the three ids. */
const REF_HEX = str('a@localhost') + u64(CREATION) + u64(0x26f12) + u64(0x5e68) + u64(0);

const INFO: ApplicationInfo = {
  name: 'myapp' as Atom,
  weight: 3,
  description: 'd',
  version: { name: 'myapp', release: '1.0', commit: '', license: '' },
  env: {},
  depends: { applications: ['dep' as Atom], network: true },
  mode: 1,
  state: 2,
  parent: 'b@localhost' as Atom,
  uptime: 7,
  group: [new PID('a@localhost' as Atom, 1001, CREATION)],
  tags: ['blue'],
  map: { api: 'api_server' as Atom },
};
const INFO_HEX =
  str('myapp') + // Name Atom
  u64(3) + // Weight int
  '9d' +
  u32(1) +
  str('blue') + // Tags []Atom (unregistered slice)
  '9f' +
  u32(1) +
  str('api') +
  str('api_server') + // Map map[string]Atom
  str('d') + // Description string
  str('myapp') +
  str('1.0') +
  str('') +
  str('') + // Version{Name, Release, Commit, License}
  'ff' + // Env map[Env]any: nil
  '9d' +
  u32(1) +
  str('dep') +
  '01' + // Depends{Applications []Atom, Network bool}
  u64(1) + // Mode ApplicationMode (int)
  u32(2) + // State ApplicationState (int32)
  str('b@localhost') + // Parent Atom
  u64(7) + // Uptime int64
  '9d' +
  u32(1) +
  str('a@localhost') +
  u64(1001) +
  u64(CREATION); // Group []PID

test('MessageApplicationInfo request: the Go 3.2.0 bytes, both ways', () => {
  const want = packet(reg('#ergo.services/ergo/net/proto/MessageApplicationInfo') + str('myapp') + REF_HEX);
  const enc = new EnpEncoder();
  const request = new MessageApplicationInfo({ name: 'myapp', ref: REF });
  enc.sendControl(controlRouteOf(request), request);
  assert.equal(hex(enc.flush()!), want);
  const p = new EnpDecoder().decode(Buffer.from(want, 'hex'));
  assert.equal(p.type, PacketType.Control);
  assert.ok(p.payload instanceof MessageApplicationInfo);
  assert.equal(p.payload.name, 'myapp');
  assert.ok(p.payload.ref.equals(REF));
});

test('MessageResult carrying a gen.ApplicationInfo: the Go 3.2.0 bytes, both ways', () => {
  const want = packet(
    reg('#ergo.services/ergo/net/proto/MessageResult') +
      'ffff' + // Error: nil
      reg('#ergo.services/ergo/gen/ApplicationInfo') + // Result any: a registered struct
      INFO_HEX +
      REF_HEX,
  );
  const request = new MessageApplicationInfo({ name: 'myapp', ref: REF });
  const enc = new EnpEncoder();
  enc.sendControl(
    controlResultRouteOf(request),
    new MessageResult({ error: null, result: toWireApplicationInfo(INFO), ref: REF }),
  );
  assert.equal(hex(enc.flush()!), want);
  const p = new EnpDecoder().decode(Buffer.from(want, 'hex'));
  assert.ok(p.payload instanceof MessageResult);
  assert.equal(p.payload.error, null);
  assert.deepEqual(fromWireApplicationInfo(p.payload.result, 'a@localhost'), INFO);
});

test('an error answer carries a zero gen.ApplicationInfo, as Go sends it', () => {
  const zero = str('') + u64(0) + 'ff' + 'ff' + str('') + str('') + str('') + str('') + str('') + 'ff' + 'ff' + '00';
  const want = packet(
    reg('#ergo.services/ergo/net/proto/MessageResult') +
      str('unknown application') +
      reg('#ergo.services/ergo/gen/ApplicationInfo') +
      zero +
      u64(0) + // Mode
      u32(0) + // State
      str('') + // Parent
      u64(0) + // Uptime
      'ff' + // Group nil
      REF_HEX,
  );
  const p = new EnpDecoder().decode(Buffer.from(want, 'hex'));
  assert.ok(p.payload instanceof MessageResult);
  assert.equal(p.payload.error?.message, 'unknown application');
  assert.ok(p.payload.result instanceof WireApplicationInfo);
  const enc = new EnpEncoder();
  enc.sendControl(0, new MessageResult({ error: p.payload.error, result: new WireApplicationInfo(), ref: REF }));
  assert.equal(hex(enc.flush()!), want);
  assert.throws(() => fromWireApplicationInfo('x', 'a@localhost'), { code: 'ERR_MALFORMED' });
});
