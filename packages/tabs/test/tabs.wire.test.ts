// The tab frame codec (wire.ts, Uint8Array only, so it runs in a browser) against ergo-ts' own EDF
// codec (ergo-ts/net, on Buffer): for every kind a frame carries, the bytes are the ones the EDF
// encoder writes between ergo-ts nodes, each side decodes the other's bytes to the same value, and
// what it does not carry (class instances, functions, cycles, registered types) is a coded
// ERR_TAB_VALUE naming the path, for encoding and for decoding. The head of a frame refused
// undecoded is read without its message.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Alias, CallFailure, ErrTimeout, Event, PID, ProcessID, Ref } from 'ergo-ts';
import { decode, EdfEncoder, Go, int32, registerStruct, uint16 } from 'ergo-ts/net';

import { encodeFrame, frameHead, gatewayOfTab, Op, plainSend, tabNodeName } from '../src/frame.js';
import { decodeValue, encodeValue } from '../src/wire.js';

const edfJs = new EdfEncoder({ jsValues: true });

const values: [string, unknown][] = [
  ['null', null],
  ['undefined', undefined],
  ['true', true],
  ['int', 42],
  ['negative int', -5_000_000_000],
  ['-0', -0],
  ['float', 1.5],
  ['NaN', NaN],
  ['Infinity', -Infinity],
  ['bigint', -(2n ** 80n) + 3n],
  ['bigint 0', 0n],
  ['bigint timestamp', 1_700_000_000_123_456_789n],
  ['bigint 2^64-1', -(2n ** 64n - 1n)],
  ['bigint 2^64', 2n ** 64n],
  ['bigint 255', 255n],
  ['bigint 2^48 - 1', 2n ** 48n - 1n],
  ['bigint 2^48', -(2n ** 48n)],
  ['bigint 2^56 + 1', 2n ** 56n + 1n],
  ['bigint 2^63', 2n ** 63n],
  ['string', 'héllo, ✓'],
  ['long string', 'x'.repeat(30_000) + 'é'],
  ['64 ASCII units, then one more', 'a'.repeat(64) + 'é'],
  ['a short string with a 4-byte character', 'ok \u{1F600}'],
  ['a string led by U+FEFF (not a byte-order mark to drop)', '\uFEFFabc'],
  ['a long string led by U+FEFF', '\uFEFF' + 'é'.repeat(30_000)],
  ['binary', Uint8Array.of(0, 1, 255)],
  ['empty binary', new Uint8Array(0)],
  ['array', [1, 'two', [3, null], undefined]],
  [
    'map',
    new Map<unknown, unknown>([
      ['a', 1],
      [2, ['b']],
    ]),
  ],
  ['object', { text: 'hi', n: 1, nested: { ok: true, list: [1, 2] } }],
  ['null-prototype object', Object.assign(Object.create(null) as object, { a: 1 })],
  ['set', new Set([1, 'a'])],
  ['date', new Date(1_700_000_000_123)],
  ['PID', new PID('gw@web1', 1003, 1700000000)],
  ['ProcessID', new ProcessID('board', 'gw@web1')],
  ['Ref', new Ref('gw@web1', 1700000000, [1, 2, 3])],
  ['Alias', new Alias('tab-00000k3x9f2a1c-gw@web1', 1700000000, [4, 5, 6])],
  ['Event', new Event('board.changed', 'gw@web1')],
  ['CallFailure', new CallFailure({ reason: 'full', free: 0 })],
  [
    'a frame',
    [
      2,
      'tab-000000a0000000-gw@h',
      'gw@h',
      7,
      0,
      new PID('tab-000000a0000000-gw@h', 1001, 1),
      new ProcessID('b', 'gw@h'),
      new Ref('tab-000000a0000000-gw@h', 1, [1, 2, 3]),
      { x: [1] },
    ],
  ],
];

test('every carried kind: the bytes EDF writes between ergo-ts nodes, and both codecs read each other', () => {
  for (const [what, v] of values) {
    // In a list: EDF refuses a nil message at the top.
    const mine = encodeValue([v]);
    assert.deepEqual(mine, edfJs.encode([v]), `${what}: the same bytes as ergo-ts/net's EDF`);
    assert.deepEqual(decodeValue(mine), decode(mine), `${what}: decoded as EDF decodes it`);
    assert.deepEqual(decodeValue(mine), [v], `${what}: round trip`);
  }
});

test('an error travels as its text, a sentinel comes back as the sentinel itself', () => {
  const bytes = encodeValue([ErrTimeout.with('the board did not answer'), new Error('disk full')]);
  assert.deepEqual(bytes, edfJs.encode([ErrTimeout.with('the board did not answer'), new Error('disk full')]));
  const [a, b] = decodeValue(bytes) as [Error, Error];
  assert.equal(a, ErrTimeout);
  assert.equal(b.message, 'disk full');
});

test('what EDF writes with Go types (numbers of every width, atoms) is read as numbers and strings', () => {
  const go = new EdfEncoder();
  assert.deepEqual(decodeValue(go.encode([int32(-7), uint16(65535), 2n ** 63n])), [-7, 65535, 2n ** 63n]);
  const obj = go.encode({ a: 1 }); // Go mode: map[string]any
  assert.deepEqual(decodeValue(obj), new Map([['a', 1]]));
});

test('kinds not carried are refused with ERR_TAB_VALUE naming the path, and nothing half-written leaks', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  assert.throws(() => encodeValue({ user: { at: [0, new Point(1, 2)] } }), {
    code: 'ERR_TAB_VALUE',
    message: /at \.user\.at\[1\]: a Point instance cannot be sent/,
  });
  assert.throws(() => encodeValue([() => 1]), { code: 'ERR_TAB_VALUE', message: /at \[0\]: a function/ });
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assert.throws(() => encodeValue(cyclic), { code: 'ERR_TAB_VALUE', message: /nesting deeper than 64/ });
  // The writer is reusable after a refusal: the next value encodes whole.
  assert.deepEqual(decodeValue(encodeValue(['after'])), ['after']);
});

test('bytes that are no carried value: truncated, a registered type, a typed slice, bad UTF-8, a lying count', () => {
  const good = encodeValue(['hello', 1]);
  assert.throws(() => decodeValue(good.subarray(0, good.length - 3)), { code: 'ERR_TAB_VALUE', message: /truncated/ });
  const Point = registerStruct('#example.com/tabs/Point', { X: Go.int64, Y: Go.int64 });
  assert.throws(() => decodeValue(new EdfEncoder().encode(Point.of({ X: 1, Y: 2 }))), {
    code: 'ERR_TAB_VALUE',
    message: /tag 0x83/,
  });
  assert.throws(() => decodeValue(Uint8Array.of(0x82, 0, 2, 0x9d, 0x94, 0x9d, 0, 0, 0, 0)), {
    code: 'ERR_TAB_VALUE',
    message: /typed slice or map/,
  });
  assert.throws(() => decodeValue(Uint8Array.of(0x8d, 0, 2, 0xc3, 0x28)), { code: 'ERR_TAB_VALUE' });
  assert.throws(() => decodeValue(Uint8Array.of(0x82, 0, 2, 0x9d, 0x84, 0x9d, 0xff, 0xff, 0xff, 0xff)), {
    code: 'ERR_TAB_VALUE',
    message: /past the frame's end/,
  });
});

test('a tab node name carries its gateway, whatever its alive part, with no dot (Erlang dials it)', () => {
  for (const gw of ['gw@web1', 'tab-gw_1-x@h.example.com', 'a@b']) {
    const n = tabNodeName('00000k3x9f2a1c', gw);
    assert.equal(gatewayOfTab(n), gw);
    assert.doesNotMatch(n.slice(0, n.indexOf('@')), /\./);
  }
  assert.equal(gatewayOfTab('gw@web1'), undefined);
  assert.equal(gatewayOfTab('tab-k3x9-gw@web1'), undefined);
  assert.throws(() => tabNodeName('k3x9', 'gw@web1'), { code: 'ERR_INCORRECT' });
  assert.throws(() => tabNodeName('00000k3x9f2a1c', 'gw'), { code: 'ERR_INCORRECT' });
});

test("a refused frame's head: op, nodes, request id and a call's caller and Ref, never its message", () => {
  const from = new PID('tab-00000k3x9f2a1c-gw@web1', 7, 1);
  const to = new ProcessID('board', 'gw@web1');
  const ref = new Ref('tab-00000k3x9f2a1c-gw@web1', 1, [1, 2, 3]);
  // 1 MiB of message or request, past what the head reads.
  const big = 'm'.repeat(1 << 20);
  const call = frameHead(encodeFrame([Op.Call, from.node, 'gw@web1', 0, 0, from, to, ref, big]));
  assert.deepEqual(call, [Op.Call, from.node, 'gw@web1', 0, 0, from, to, ref]);
  const send = frameHead(encodeFrame([Op.Send, from.node, 'gw@web1', 9, 0, from, to, big]));
  assert.deepEqual(send, [Op.Send, from.node, 'gw@web1', 9]);
  // No routed frame's head: null (the refusal then names no request).
  assert.equal(frameHead(encodeValue(new Map([[1, 2]]))), null);
  assert.equal(frameHead(encodeValue(['not an op'])), null);
  assert.equal(frameHead(Uint8Array.of(1, 2, 3)), null);
  // A head longer than any node name allows is not read past its first 4 KiB.
  assert.equal(frameHead(encodeFrame([Op.Send, 'x'.repeat(5000), 'gw@web1', 9])), null);
});

test('a plain send is told from its bytes alone: op Send and request id 0, whatever its names and message', () => {
  const from = new PID('tab-00000k3x9f2a1c-gw@web1', 7, 1);
  const to = new ProcessID('board', 'gw@web1');
  const ref = new Ref(from.node, 1, [1, 2, 3]);
  const send = (src: string, dst: string, reqId: number, m: unknown): Uint8Array =>
    encodeFrame([Op.Send, src, dst, reqId, 0, from, to, m]);
  assert.equal(plainSend(send(from.node, 'gw@web1', 0, 'm'.repeat(70_000))), true);
  assert.equal(plainSend(send('é'.repeat(100), 'n'.repeat(255), 0, { a: [1] })), true, 'names of any length');
  // What someone waits for, or another op: not plain.
  assert.equal(plainSend(send(from.node, 'gw@web1', 9, 'm')), false, 'an important send');
  assert.equal(plainSend(send(from.node, 'gw@web1', 256, 'm')), false, 'a request id in a higher byte');
  assert.equal(plainSend(encodeFrame([Op.Call, from.node, 'gw@web1', 0, 0, from, to, ref, 'r'])), false);
  assert.equal(plainSend(encodeFrame([Op.Response, from.node, 'gw@web1', 0, 0, from, to, ref, true, 1])), false);
  // Bytes that stop short, or lie about a name's length: not plain (frameHead then reads them).
  const whole = send(from.node, 'gw@web1', 0, 'm');
  for (const cut of [5, 20, 40, 60]) assert.equal(plainSend(whole.subarray(0, cut)), false, `cut at ${cut}`);
  const lying = whole.slice();
  // The destination's length (u16 7 before 'gw@web1') made 0xff07.
  const at = lying.findIndex((b, i) => b === 0 && lying[i + 1] === 7 && lying[i + 2] === 0x67 && lying[i + 3] === 0x77);
  assert.ok(at > 0);
  lying[at] = 0xff;
  assert.equal(plainSend(lying), false, 'a length past the end');
  assert.equal(plainSend(Uint8Array.of(1, 2, 3)), false);
});
