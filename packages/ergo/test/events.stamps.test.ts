// Event timestamps without a bigint per event (issue 47): a publish stamps its MessageEvent in
// two 32-bit halves of Unix ns, the wire writes and reads the halves, and `timestamp` makes the
// bigint only when read. Checked here: the halves of µs × 1000 are exact across the range, an
// event made from a bigint and one made from halves agree, both survive the encoder and decoder
// (single event packets and ergo-ts event batches), and a published event carries the clock.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { inspect } from 'node:util';

import { Event, MessageEvent, type Atom } from '../src/index.js';
import { eventStamps, nowMicros, stampHi, stampLo } from '../src/gen/event_stamps.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpEncoder, type EnpMessageOptions } from '../src/net/proto/encoder.js';
import { EnpFrameReader } from '../src/net/proto/stream.js';
import { rng } from './seeded_rng.js';
import { noUnhandled, withNode } from './helpers.js';
import { exec, spawnTest } from './lifecycle_helpers.js';

noUnhandled();

const o: EnpMessageOptions = { priority: 1, important: false, messageID: 0, keepNetworkOrder: true };
const ev = new Event('ticks' as Atom, 'n@h' as Atom);

function fromHalves(hi: number, lo: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

test('the halves of µs × 1000 are exact (seeded sample, 2^32 boundaries, today, year 2200)', () => {
  const next = rng(47);
  const cases = [0, 1, 999, 4294967295, 4294967296, 4294967297, 1_795_000_000_123_456, 7_258_118_400_000_000];
  for (let i = 0; i < 2000; i++) cases.push(Math.floor(next() * 7_258_118_400_000_000));
  for (const us of cases) {
    const hi = stampHi(us);
    const lo = stampLo(us);
    assert.ok(Number.isInteger(hi) && hi >= 0 && hi < 2 ** 31, `hi of ${us}`);
    assert.ok(Number.isInteger(lo) && lo >= 0 && lo < 2 ** 32, `lo of ${us}`);
    assert.equal(fromHalves(hi, lo), BigInt(us) * 1000n, `µs ${us}`);
  }
});

test('an event from a bigint and one from halves give the same timestamp and the same halves', () => {
  for (const ns of [0n, 1n, -7n, 1_795_000_000_123_456_789n, (1n << 63n) - 1n, -(1n << 63n), 1n << 32n]) {
    const a = new MessageEvent(ev, ns, 'x');
    assert.equal(a.timestamp, ns);
    const b = eventStamps.make(ev, eventStamps.hi(a), eventStamps.lo(a), 'x');
    assert.equal(b.timestamp, ns);
    assert.equal(b.timestamp, b.timestamp, 'read twice: the same bigint');
    assert.equal(b.event, ev);
    assert.equal(b.message, 'x');
    assert.ok(b instanceof MessageEvent);
  }
});

test('util.inspect shows the timestamp beside the event and the message', () => {
  const m = eventStamps.make(ev, 0, 1000, { n: 1 });
  const shown = inspect(m);
  assert.match(shown, /^MessageEvent \{/);
  assert.match(shown, /timestamp: 1000n/);
  assert.match(shown, /message: \{ n: 1 \}/);
});

test('events written by the engine (halves) decode to the same timestamp, single and batched', () => {
  const us = nowMicros();
  const stamped = [0, 1, 1000, 4294967].map((d) => eventStamps.make(ev, stampHi(us + d), stampLo(us + d), d));
  const want = stamped.map((m) => BigInt(us + (m.message as number)) * 1000n);
  const enc = new EnpEncoder();
  for (const m of stamped) enc.sendEvent(42, 'ticks', m, o, m.message);
  for (const m of stamped) enc.sendEventBatch(42, 'ticks', m, o, m.message, undefined);
  const r = new EnpFrameReader();
  r.push(enc.flush()!);
  const d = new EnpDecoder();
  const single: bigint[] = [];
  const batched: bigint[] = [];
  while (r.next()) {
    const p = d.decode(r.bytes, r.start, r.end);
    if (p.batchCount > 0) for (let i = 0; i < p.batchCount; i++) batched.push(p.batchStamp(i));
    else single.push(p.timestamp);
  }
  assert.deepEqual(single, want);
  assert.deepEqual(batched, want);
});

test('a published event carries the wall clock in Unix ns, in whole microseconds', () =>
  withNode(async (node) => {
    const name = 'stamped';
    const producer = await spawnTest(node);
    const token = await exec(node, producer.pid, (a) => a.registerEvent(name, { buffer: 1 }));
    const before = BigInt(Date.now()) * 1_000_000n;
    await exec(node, producer.pid, (a) => a.sendEvent(name, token, 'one'));
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    const consumer = await spawnTest(node);
    const got = await exec(node, consumer.pid, (a) => a.linkEvent(new Event(name, node.name)));
    assert.equal(got.length, 1);
    const t = got[0]!.timestamp;
    // A 1 s allowance, as events.test.ts: the engine reads performance's clock, not Date's.
    assert.ok(t >= before - 1_000_000_000n && t <= after + 1_000_000_000n, `${t} is Unix ns of the send`);
    assert.equal(t % 1000n, 0n, 'a publish stamps whole microseconds');
  }));
