// Golden bytes of the inspector protocol types: what Go Ergo writes for these values, derived by
// hand from the Go struct definitions (app/system/inspect/message.go and gen, Ergo 3.2) and the
// EDF rules of WIRE.md §1 (a registered struct is `83 u16 len name` then each field's body in
// declaration order: int/int64 8 bytes, atom `u16 len` + bytes, PID atom+u64+i64, Event
// atom(node)+atom(name), unregistered slice `9d u32 count`, map `9f u32 count`, error `u16 len`
// + text or `ffff` for nil). TS must encode exactly these bytes and decode them back.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  Event,
  LogLevel,
  MessageInspectLogNode,
  MessageInspectProcessState,
  PID,
  RequestDoKill,
  RequestInspectLog,
  RequestInspectNode,
  RequestInspectProcessList,
  ResponseDoKill,
  ResponseDoSend,
  ResponseInspectProcess,
  type Atom,
} from '../src/index.js';
import { decode, encode } from '../src/net/index.js';
import { hex, unhex } from './edf.fixtures.js';

const PKG = '#ergo.services/ergo/app/system/inspect/';

/** `83 u16 len name` of the registered type `name`. */
function header(name: string): string {
  const full = PKG + name;
  return '83' + full.length.toString(16).padStart(4, '0') + Buffer.from(full).toString('hex');
}
const u64 = (n: number | bigint): string => BigInt.asUintN(64, BigInt(n)).toString(16).padStart(16, '0');
const atom = (s: string): string => s.length.toString(16).padStart(4, '0') + Buffer.from(s).toString('hex');
const str = atom;

const vectors: { name: string; value: unknown; hex: string }[] = [
  // struct{} — the name only.
  { name: 'RequestInspectNode', value: new RequestInspectNode(), hex: header('RequestInspectNode') },
  // {Start int; Limit int}
  {
    name: 'RequestInspectProcessList',
    value: new RequestInspectProcessList({ start: 1000, limit: 500 }),
    hex: header('RequestInspectProcessList') + u64(1000) + u64(500),
  },
  // {Event gen.Event}: node first, then name.
  {
    name: 'ResponseInspectProcess',
    value: new ResponseInspectProcess({ event: new Event('inspect_process_x' as Atom, 'go@localhost' as Atom) }),
    hex: header('ResponseInspectProcess') + atom('go@localhost') + atom('inspect_process_x'),
  },
  // {PID gen.PID}: node, u64 id, i64 creation.
  {
    name: 'RequestDoKill',
    value: new RequestDoKill({ pid: new PID('go@localhost' as Atom, 1005, 1700000000) }),
    hex: header('RequestDoKill') + atom('go@localhost') + u64(1005) + u64(1700000000),
  },
  // {Levels []gen.LogLevel}: an unregistered slice of a named int.
  {
    name: 'RequestInspectLog',
    value: new RequestInspectLog({ levels: [LogLevel.Info, LogLevel.Error] }),
    hex: header('RequestInspectLog') + '9d00000002' + u64(1) + u64(3),
  },
  // {Node Atom; Creation int64; Timestamp int64; Level LogLevel; Message string}
  {
    name: 'MessageInspectLogNode',
    value: new MessageInspectLogNode({
      node: 'a@b' as Atom,
      creation: 7,
      timestamp: 1700000000123456789n,
      level: LogLevel.Warning,
      message: 'hi',
    }),
    hex: header('MessageInspectLogNode') + atom('a@b') + u64(7) + u64(1700000000123456789n) + u64(2) + str('hi'),
  },
  // {Node Atom; PID gen.PID; State map[string]string}
  {
    name: 'MessageInspectProcessState',
    value: new MessageInspectProcessState({
      node: 'a@b' as Atom,
      pid: new PID('a@b' as Atom, 1001, 1),
      state: new Map([['k', 'v']]),
    }),
    hex:
      header('MessageInspectProcessState') +
      atom('a@b') +
      atom('a@b') +
      u64(1001) +
      u64(1) +
      '9f00000001' +
      str('k') +
      str('v'),
  },
  // {Error error}: nil is ffff; an error travels as its text.
  { name: 'ResponseDoSend (nil error)', value: new ResponseDoSend(), hex: header('ResponseDoSend') + 'ffff' },
  {
    name: 'ResponseDoKill (error)',
    value: new ResponseDoKill({ error: new Error('unknown process') }),
    hex: header('ResponseDoKill') + str('unknown process'),
  },
];

for (const v of vectors) {
  test(`inspect golden bytes: ${v.name}`, () => {
    assert.equal(hex(encode(v.value)), v.hex, 'TS encodes what Go writes');
    const back = decode(unhex(v.hex)) as object;
    assert.equal(back.constructor, (v.value as object).constructor, 'decodes to the TS class');
    assert.equal(hex(encode(back)), v.hex, 're-encodes to the same bytes');
  });
}
