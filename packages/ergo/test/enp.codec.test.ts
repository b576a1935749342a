// The ENP encoder and decoder beyond the vectors: batching into one buffer, all-or-nothing
// packets (a failing payload leaves the buffer as it was), the peer's size limit after
// compression, 64-bit ids, response codes, cached names, and every malformed packet refused
// with its code.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrProcessMailboxFull, ErrProcessTerminated, ErrProcessUnknown, ErrTimeout } from '../src/gen/errors.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpEncoder, responseCodeOf, type EnpMessageOptions } from '../src/net/proto/encoder.js';
import { PacketType, ResponseCode } from '../src/net/proto/packet.js';
import { EnpFrameReader } from '../src/net/proto/stream.js';
import { exitRouteOf, mod255, orderOf, poolKeyOf, routeOf } from '../src/net/proto/order.js';

const o: EnpMessageOptions = { priority: 1, important: false, messageID: 0, keepNetworkOrder: true };

test('packets accumulate in one buffer and come out in one flush, in order', () => {
  const enc = new EnpEncoder();
  for (let i = 0; i < 1000; i++) enc.sendPID(1001, 2002 + i, o, i);
  assert.equal(enc.pendingPackets, 1000);
  const out = enc.flush()!;
  assert.equal(enc.pending, 0);
  assert.equal(enc.flush(), undefined);
  const r = new EnpFrameReader();
  const d = new EnpDecoder();
  r.push(out);
  let n = 0;
  while (r.next()) {
    const p = d.decode(r.bytes, r.start, r.end);
    assert.equal(p.payload, n);
    assert.equal(p.toID, 2002 + n);
    assert.equal(p.priority, 1);
    n++;
  }
  assert.equal(n, 1000);
});

test('a packet whose payload cannot be encoded leaves nothing behind', () => {
  const enc = new EnpEncoder();
  enc.sendPID(1, 2, o, 'kept');
  const before = enc.pending;
  class Unregistered {}
  assert.throws(() => enc.sendPID(1, 2, o, new Unregistered()), { code: 'ERR_EDF_UNREGISTERED' });
  assert.throws(() => enc.sendProcessID(1, 'x'.repeat(256), o, 1), { code: 'ERR_ENP_ENCODE' });
  assert.throws(() => enc.sendPID(-1, 2, o, 1), { code: 'ERR_ENP_ENCODE' });
  assert.throws(() => enc.sendPID(1.5, 2, o, 1), { code: 'ERR_ENP_ENCODE' });
  assert.throws(() => enc.callAlias(1, [1, 2n ** 64n, 3], [1, 2, 3], o, 1), { code: 'ERR_ENP_ENCODE' });
  assert.throws(() => enc.sendPID(1, 2, o, null), { code: 'ERR_EDF_ENCODE' });
  assert.equal(enc.pending, before);
  assert.equal(enc.pendingPackets, 1);
  assert.equal(new EnpDecoder().decode(enc.flush()!).payload, 'kept');
});

test("the peer's MaxMessageSize applies to the final packet, after compression", () => {
  const enc = new EnpEncoder({ peerMaxMessageSize: 200 });
  const big = 'a'.repeat(1000);
  assert.throws(() => enc.sendPID(1, 2, o, big), { code: 'ERR_TOO_LARGE' });
  assert.equal(enc.pending, 0);
  enc.sendPID(1, 2, { ...o, compression: { enable: true, type: 'gzip', threshold: 64 } }, big);
  assert.ok(enc.pending <= 200);
  assert.equal(new EnpDecoder().decode(enc.flush()!).payload, big);
  assert.throws(() => new EnpEncoder({ peerMaxMessageSize: -1 }), { code: 'ERR_ENP_ENCODE' });
});

test('ids beyond 2^53 travel as bigint both ways; important sends carry the message id', () => {
  const enc = new EnpEncoder();
  const big = 2n ** 64n - 1n;
  enc.sendAlias(big, [big, 2n ** 60n, 3], { ...o, important: true, messageID: big }, 'x');
  const p = new EnpDecoder().decode(enc.flush()!);
  assert.equal(p.fromID, big);
  assert.equal(p.messageID, big);
  assert.deepEqual(p.alias, [big, 2n ** 60n, 3]);
  assert.equal(p.important, true);
  assert.equal(p.order, Number(2n ** 60n % 255n));
});

test('response codes: Ergo’s three process errors have codes, other errors travel as EDF, nil is 0', () => {
  assert.equal(responseCodeOf(null), ResponseCode.OK);
  assert.equal(responseCodeOf(ErrProcessUnknown.with('x')), ResponseCode.ProcessUnknown);
  assert.equal(responseCodeOf(ErrProcessMailboxFull), ResponseCode.MailboxFull);
  assert.equal(responseCodeOf(ErrProcessTerminated), ResponseCode.Terminated);
  assert.equal(responseCodeOf(ErrTimeout), ResponseCode.Error);
  const enc = new EnpEncoder();
  const d = new EnpDecoder();
  enc.sendResponseError(1, 2, [3, 4, 5], o, ErrTimeout);
  const p = d.decode(enc.flush()!);
  assert.equal(p.code, 255);
  assert.equal(p.reason, ErrTimeout);
  enc.sendResponseError(1, 2, [3, 4, 5], o, ErrProcessTerminated);
  const q = d.decode(enc.flush()!);
  assert.equal(q.code, 3);
  assert.equal(q.reason, null);
});

test('cached target names: encoded by this side’s atom cache, decoded by the peer’s', () => {
  const enc = new EnpEncoder({ atomCache: new Map([['worker', 300]]) });
  enc.sendProcessID(1, 'worker', o, 1);
  enc.sendProcessID(1, 'other', o, 2);
  enc.sendTerminateEvent('worker', new Error('gone'));
  const out = enc.flush()!;
  const r = new EnpFrameReader();
  r.push(out);
  const d = new EnpDecoder({ atomCache: new Map([[300, 'worker']]) });
  const types: number[] = [];
  while (r.next()) {
    const p = d.decode(r.bytes, r.start, r.end);
    types.push(p.type);
    assert.ok(p.name === 'worker' || p.name === 'other');
  }
  assert.deepEqual(types, [PacketType.SendNameCached, PacketType.SendName, PacketType.TerminateEventCached]);
  r.push(out);
  assert.ok(r.next());
  assert.throws(() => new EnpDecoder().decode(r.bytes, r.start, r.end), { code: 'ERR_ENP_MALFORMED' });
});

test('uncached target names decode to the right string when one repeats, changes or differs in one byte', () => {
  const names = [
    'recv',
    'recv',
    'recw',
    'recv',
    'échoé',
    'échoé',
    'a',
    '',
    'recv',
    'x'.repeat(255),
    'x'.repeat(254) + 'y',
  ];
  const enc = new EnpEncoder();
  for (const name of names) enc.sendProcessID(1, name, o, 0);
  const r = new EnpFrameReader();
  r.push(enc.flush()!);
  const d = new EnpDecoder();
  const got: string[] = [];
  while (r.next()) got.push(d.decode(r.bytes, r.start, r.end).name);
  assert.deepEqual(got, names);
});

test('order bytes and pool keys: id % 255, multiples of 255 unordered, off without keepNetworkOrder', () => {
  assert.equal(mod255(2002), 217);
  assert.equal(mod255(510), 0);
  assert.equal(mod255(2n ** 64n - 1n), Number((2n ** 64n - 1n) % 255n));
  const r = routeOf(1001, 2002, true);
  assert.equal(poolKeyOf(r), 1001 % 255);
  assert.equal(orderOf(r), 217);
  assert.equal(routeOf(1001, 2002, false), 0);
  assert.equal(orderOf(exitRouteOf(1, 2002)), 217);
});

test('malformed packets are refused with their codes (the link continues)', () => {
  const d = new EnpDecoder();
  const pkt = (type: number, body: number[]): Uint8Array => {
    const b = new Uint8Array(8 + body.length);
    b.set([0x4e, 1], 0);
    new DataView(b.buffer).setUint32(2, b.length);
    b[7] = type;
    b.set(body, 8);
    return b;
  };
  for (const t of [
    101, 102, 103, 104, 105, 106, 107, 121, 122, 123, 124, 129, 130, 181, 182, 183, 184, 185, 186, 199, 200,
  ]) {
    assert.throws(() => d.decode(pkt(t, [])), { code: 'ERR_ENP_MALFORMED' }, `type ${t}`);
  }
  assert.throws(() => d.decode(pkt(99, [1, 2, 3])), { code: 'ERR_ENP_UNKNOWN_TYPE' });
  assert.throws(() => d.decode(pkt(201, [1, 2, 3])), { code: 'ERR_ENP_UNKNOWN_TYPE' });
  assert.throws(
    () => d.decode(pkt(102, [...new Array(17).fill(0), 200, 0x8d, 0, 0])),
    { code: 'ERR_ENP_MALFORMED' },
    'name past the end',
  );
  assert.throws(
    () => d.decode(pkt(130, [...new Array(41).fill(0), 7])),
    { code: 'ERR_ENP_MALFORMED' },
    'response code',
  );
  assert.throws(() => d.decode(pkt(101, [...new Array(25).fill(0), 0x83, 0, 1])), { code: 'ERR_ENP_PAYLOAD' });
  assert.throws(
    () => d.decode(pkt(107, [...new Array(17).fill(0), 0x8d, 0, 0])),
    { code: 'ERR_ENP_MALFORMED' },
    'exit reason not an error',
  );
  assert.throws(() => d.decode(pkt(199, [0x8d, 0, 0])), { code: 'ERR_ENP_MALFORMED' }, 'control not a struct');
  const ok = pkt(101, [...new Array(25).fill(0), 0x91, 1]);
  assert.equal(d.decode(ok).payload, true);
  assert.throws(() => d.decode(ok, 0, ok.length - 1), { code: 'ERR_ENP_FRAME' }, 'length field mismatch');
  assert.throws(() => d.decode(ok.subarray(0, 5)), { code: 'ERR_ENP_FRAME' });
});

test('event timestamps decode exactly, both halves, past 2^53 and negative', () => {
  const enc = new EnpEncoder();
  const base = 1_795_000_000_123_456_000n; // past 2^53: a bigint on the wire and after decoding
  const stamps = [base, base, base + 1000n, base + (1n << 32n) + 1000n, base + (1n << 32n) + 1000n, 5n, -7n, 5n];
  for (const t of stamps) enc.sendEvent(42, 'ticks', t, o, 'x');
  const r = new EnpFrameReader();
  const d = new EnpDecoder();
  r.push(enc.flush()!);
  const got: bigint[] = [];
  while (r.next()) got.push(BigInt(d.decode(r.bytes, r.start, r.end).timestamp));
  assert.deepEqual(got, stamps);
});

test('a string payload decodes as the general decoder does, limits and truncation included', () => {
  const enc = new EnpEncoder();
  const long = 'é'.repeat(40) + 'x'.repeat(300);
  for (const s of ['', 'short', long]) enc.sendEvent(1, 'ev', 1n, o, s);
  const r = new EnpFrameReader();
  r.push(enc.flush()!);
  const d = new EnpDecoder();
  const got: unknown[] = [];
  const packets: Uint8Array[] = [];
  while (r.next()) {
    packets.push(Uint8Array.from(r.bytes.subarray(r.start, r.end)));
    got.push(d.decode(r.bytes, r.start, r.end).payload);
  }
  assert.deepEqual(got, ['', 'short', long]);
  // Over this side's string limit: refused with the EDF code as the cause.
  const strict = new EnpDecoder({ limits: { maxStringBytes: 100 } });
  assert.throws(
    () => strict.decode(packets[2]!),
    (e: Error & { code?: string; cause?: { code?: string } }) =>
      e.code === 'ERR_ENP_PAYLOAD' && e.cause?.code === 'ERR_EDF_STRING_TOO_LONG',
  );
  assert.equal(strict.decode(packets[1]!).payload, 'short');
  // A string whose length runs past the packet: refused, not read beyond it.
  const cut = packets[1]!.slice(0, packets[1]!.length - 1); // a copy (a plain Uint8Array)
  new DataView(cut.buffer).setUint32(2, cut.length);
  assert.throws(() => d.decode(cut), { code: 'ERR_ENP_PAYLOAD' });
});
