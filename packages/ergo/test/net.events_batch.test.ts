// ergo-ts event batches (ENP packet 230): between two ergo-ts nodes that both announce the
// `eventBatch` flag, the events one publisher sends in one turn travel several per packet. The
// packet must decode to the same events in order, close when anything else is written on the
// link, respect the peer's MaxMessageSize, share its bytes between the links of one publish, and
// take back a refused event cleanly. Across OS processes: a publisher node in a child process
// reaches two ergo-ts subscriber nodes with batches on, one that switched them off and a Go Ergo
// node (plain event packets), each with every event in order.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EventFanOut } from '../src/gen/network.js';
import { ErrTooLarge } from '../src/gen/errors.js';
import { Event, type Atom, type MessageEvent, type Node } from '../src/index.js';
import { NetworkFlags } from '../src/net/edf/framework.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EVENT_BATCH_MAX, EnpEncoder, type EnpMessageOptions } from '../src/net/proto/encoder.js';
import { PacketType, type EnpPacket } from '../src/net/proto/packet.js';
import { within } from './helpers.js';
import { parentFor, startChild, startGoPeer, watcher } from './dist_helpers.js';

const o: EnpMessageOptions = { priority: 0, important: false, messageID: 0, keepNetworkOrder: true };
const TS = 1_790_000_000_123_456_789n;

interface Decoded {
  type: number;
  name: string;
  fromID: number | bigint;
  length: number;
  payloads: unknown[];
  stamps: (number | bigint)[];
  payload: unknown;
}

/** Every packet of `bytes` (a flushed buffer), decoded in order. */
function packets(bytes: Buffer, dec = new EnpDecoder()): Decoded[] {
  const out: Decoded[] = [];
  for (let at = 0; at < bytes.length;) {
    const len = bytes.readUInt32BE(at + 2);
    const p: EnpPacket = dec.decode(bytes, at, at + len);
    out.push({
      type: p.type,
      name: p.name,
      fromID: p.fromID,
      length: len,
      payloads: p.batchPayloads.slice(0, p.batchCount),
      stamps: Array.from({ length: p.batchCount }, (_, i) => p.batchStamp(i)),
      payload: p.payload,
    });
    at += len;
  }
  return out;
}

test('the events of one publisher and event name written in a row share one batch packet', () => {
  const enc = new EnpEncoder({ jsValues: true });
  const msgs = ['a', { n: 1 }, [1, 2, 3], 'x'.repeat(300)];
  msgs.forEach((m, i) => enc.sendEventBatch(7, 'news', TS + BigInt(i), o, m, undefined));
  assert.equal(enc.pendingPackets, 1);
  const [p, ...rest] = packets(enc.flush()!);
  assert.equal(rest.length, 0);
  assert.equal(p!.type, PacketType.EventBatch);
  assert.equal(p!.name, 'news');
  assert.equal(p!.fromID, 7);
  assert.deepEqual(p!.payloads, msgs);
  assert.deepEqual(
    p!.stamps,
    msgs.map((_, i) => TS + BigInt(i)),
  );
});

test('anything else written on the link, another sender, name or priority starts a new batch', () => {
  const enc = new EnpEncoder();
  enc.sendEventBatch(7, 'news', TS, o, 'e1', undefined);
  enc.sendEventBatch(7, 'news', TS, o, 'e2', undefined);
  enc.sendPID(7, 9, o, 'between');
  enc.sendEventBatch(7, 'news', TS, o, 'e3', undefined);
  enc.sendEventBatch(8, 'news', TS, o, 'e4', undefined);
  enc.sendEventBatch(8, 'sport', TS, o, 'e5', undefined);
  enc.sendEventBatch(8, 'sport', TS, { ...o, priority: 1 }, 'e6', undefined);
  const ps = packets(enc.flush()!);
  assert.deepEqual(
    ps.map((p) => (p.type === PacketType.EventBatch ? p.payloads : p.payload)),
    [['e1', 'e2'], 'between', ['e3'], ['e4'], ['e5'], ['e6']],
  );
  // After a flush nothing is open: the next event starts a packet of its own.
  enc.sendEventBatch(8, 'sport', TS, o, 'e7', undefined);
  assert.deepEqual(packets(enc.flush()!)[0]!.payloads, ['e7']);
});

test('the links of one publish share the event bytes, and each link batches them as if alone', () => {
  const a = new EnpEncoder({ jsValues: true });
  const b = new EnpEncoder({ jsValues: true });
  const alone = new EnpEncoder({ jsValues: true });
  for (let i = 0; i < 5; i++) {
    const shared = new EventFanOut();
    const m = { i, text: 'p'.repeat(90) };
    a.sendEventBatch(3, 'news', TS, o, m, shared);
    b.sendEventBatch(3, 'news', TS, o, m, shared);
    alone.sendEventBatch(3, 'news', TS, o, m, undefined);
    assert.equal(shared.batchIndex, i, 'the event was encoded once, into the shared batch');
  }
  const want = alone.flush()!;
  assert.deepEqual(a.flush(), want);
  assert.deepEqual(b.flush(), want);
  assert.equal(packets(want)[0]!.payloads.length, 5);
});

test('shared events larger than the arena’s rest are encoded aside and copied, and every link gets them whole', () => {
  // Events are encoded straight into the shared batch's arena; one that does not fit in what is
  // left of it is encoded in the encoder's own buffer and copied to a larger arena instead.
  const a = new EnpEncoder({ jsValues: true });
  const b = new EnpEncoder({ jsValues: true });
  const sizes = [100, 300_000, 50, 700_000, 900_000, 10, 2_500_000, 20];
  const msgs = sizes.map((n, i) => `${i}:${'z'.repeat(n)}`);
  const got: unknown[][] = [[], []];
  msgs.forEach((m, i) => {
    const shared = new EventFanOut();
    a.sendEventBatch(3, 'big', TS + BigInt(i), o, m, shared);
    b.sendEventBatch(3, 'big', TS + BigInt(i), o, m, shared);
    // Flushed now and then, so later events start new shared batches in a used arena.
    if (i % 3 === 2) [a, b].forEach((e, k) => got[k]!.push(...packets(e.flush()!).flatMap((p) => p.payloads)));
  });
  [a, b].forEach((e, k) => got[k]!.push(...packets(e.flush()!).flatMap((p) => p.payloads)));
  assert.deepEqual(got[0], msgs);
  assert.deepEqual(got[1], msgs);
});

test('links sharing a batch write it when anything else goes on the link, and skip no event', () => {
  const [a, b, c] = [new EnpEncoder(), new EnpEncoder(), new EnpEncoder()];
  const publish = (m: string, links: EnpEncoder[]): void => {
    const shared = new EventFanOut();
    for (const l of links) l.sendEventBatch(5, 'news', TS, o, m, shared);
  };
  publish('e1', [a, b, c]);
  publish('e2', [a, b, c]);
  const pending = b.pending;
  assert.ok(pending > 0, 'events taken but not copied yet count as pending');
  b.sendPID(5, 9, o, 'after e2'); // b copies its batch in first: order kept
  publish('e3', [a, c]); // b is not a subscriber of this one
  publish('e4', [a, b, c]);
  const mark = c.pending;
  publish('e5', [a, c]);
  c.truncate(mark); // c refused e5 (as a full peer queue would)
  publish('e6', [b, c]);
  const shape = (e: EnpEncoder): unknown[] =>
    packets(e.flush()!).map((p) => (p.type === PacketType.EventBatch ? p.payloads : p.payload));
  assert.deepEqual(shape(a), [['e1', 'e2', 'e3', 'e4', 'e5']]);
  // A gap in the shared batch (e5 is not b's) ends a link's run: a packet per run.
  assert.deepEqual(shape(b), [['e1', 'e2'], 'after e2', ['e4'], ['e6']]);
  assert.deepEqual(shape(c), [['e1', 'e2', 'e3', 'e4'], ['e6']]);
});

test('batches stay under the peer’s MaxMessageSize and EVENT_BATCH_MAX; a lone event over the limit is refused', () => {
  const enc = new EnpEncoder({ peerMaxMessageSize: 300 });
  const m = 'y'.repeat(100);
  for (let i = 0; i < 7; i++) enc.sendEventBatch(1, 'news', TS, o, m, undefined);
  const ps = packets(enc.flush()!);
  assert.ok(ps.length > 1);
  assert.ok(ps.every((p) => p.length <= 300));
  assert.equal(
    ps.reduce((n, p) => n + p.payloads.length, 0),
    7,
  );
  enc.sendEventBatch(1, 'news', TS, o, m, undefined);
  const before = enc.pending;
  assert.throws(
    () => enc.sendEventBatch(1, 'news', TS, o, 'z'.repeat(400), undefined),
    (e) => ErrTooLarge.is(e),
  );
  assert.equal(enc.pending, before, 'nothing appended');
  enc.sendEventBatch(1, 'news', TS, o, 'after', undefined);
  assert.deepEqual(packets(enc.flush()!)[0]!.payloads, [m, 'after']);

  const big = new EnpEncoder();
  const n = Math.ceil((3 * EVENT_BATCH_MAX) / 110);
  for (let i = 0; i < n; i++) big.sendEventBatch(1, 'news', TS, o, m, undefined);
  const bs = packets(big.flush()!);
  assert.ok(bs.length >= 3);
  assert.ok(bs.every((p) => p.length < EVENT_BATCH_MAX + 200));
  assert.equal(
    bs.reduce((k, p) => k + p.payloads.length, 0),
    n,
  );
});

test('an event taken back (truncate) leaves the batch valid; an unencodable one leaves nothing', () => {
  const enc = new EnpEncoder();
  enc.sendEventBatch(1, 'news', TS, o, 'one', undefined);
  const mark = enc.pending;
  enc.sendEventBatch(1, 'news', TS, o, 'two', undefined);
  enc.truncate(mark);
  enc.sendEventBatch(1, 'news', TS, o, 'three', undefined);
  assert.throws(() => enc.sendEventBatch(1, 'news', TS, o, () => 0, undefined));
  enc.sendEventBatch(1, 'news', TS, o, 'four', undefined);
  const ps = packets(enc.flush()!);
  assert.equal(ps.length, 1);
  assert.deepEqual(ps[0]!.payloads, ['one', 'three', 'four']);
});

test('encoders with per-link caches send plain event packets', () => {
  const enc = new EnpEncoder({ atomCache: new Map([['news', 300]]) });
  enc.sendEventBatch(1, 'news', TS, o, 'a', new EventFanOut());
  enc.sendEventBatch(1, 'news', TS, o, 'b', undefined);
  const ps = packets(enc.flush()!, new EnpDecoder({ atomCache: new Map([[300, 'news']]) }));
  assert.deepEqual(
    ps.map((p) => [p.type, p.payload]),
    [
      [PacketType.EventCached, 'a'],
      [PacketType.EventCached, 'b'],
    ],
  );
});

test('a malformed batch is refused with ERR_ENP_MALFORMED', () => {
  const enc = new EnpEncoder();
  enc.sendEventBatch(1, 'news', TS, o, 'abc', undefined);
  const b = enc.flush()!;
  // Claim a longer last event than the packet holds.
  b.writeUInt32BE(0xffff, b.length - 6 - 4);
  assert.throws(
    () => new EnpDecoder().decode(b),
    (e: unknown) => (e as { code?: string }).code === 'ERR_ENP_MALFORMED',
  );
});

test('events across OS processes: batches to ergo-ts subscribers, plain packets to one that is off and to Go', async (t) => {
  const child = await startChild(`batchpub${process.pid}@localhost`);
  t.after(() => child.kill());
  const subs: Node[] = [];
  for (const [prefix, on] of [
    ['bs1', true],
    ['bs2', true],
    ['bsoff', false],
  ] as const) {
    const flags = on ? undefined : { ...NetworkFlags.defaults(), eventBatch: false };
    subs.push(await parentFor(t, prefix, child, flags === undefined ? {} : { flags }));
  }
  const ev = new Event('child_events' as Atom, child.name as Atom);
  const watchers = [];
  for (const n of subs) {
    const w = await watcher(n);
    await w.run((self) => self.monitorEvent(ev));
    watchers.push(w);
  }
  for (const n of subs) {
    const f = n.network().node(child.name).info().networkFlags;
    assert.equal(f.eventBatch, true, 'the publisher announces event batches');
  }
  const go = await startGoPeer(t, 'batchgo');
  let mark = 0;
  if (go !== undefined) {
    const r = await go.cmd('route_add', {
      match: child.name.replace(/[.$]/g, '\\$&'),
      host: '127.0.0.1',
      port: child.port,
    });
    assert.equal(r.kind, 'result');
    const sub = await go.cmd('subscribe', { node: child.name, event: 'child_events' });
    assert.equal(sub.kind, 'result');
    mark = go.mark();
  }
  const out = Array.from({ length: 300 }, (_, i) => `m${i}-${'p'.repeat(90)}`);
  // Three turns of 100 events each: each turn is one batch per ergo-ts node with batches on.
  for (let k = 0; k < 3; k++)
    await child.cmd('events', { req: { op: 'burst', msgs: out.slice(k * 100, k * 100 + 100) } });
  for (const w of watchers) {
    const got = await within(w.inbox.count(out.length), 'events on an ergo-ts subscriber node', 20_000);
    assert.deepEqual(
      got.map((s) => (s.message as MessageEvent).message),
      out,
    );
    assert.ok(got.every((s) => (s.message as MessageEvent).event.equals(ev)));
  }
  // Every event counted once on arrival, batched or not.
  for (const n of subs) assert.ok(n.network().node(child.name).info().messagesIn >= out.length);
  if (go !== undefined) {
    await go.waitFor((l) => l.kind === 'event' && l.msg === out[out.length - 1], { since: mark, timeout: 20_000 });
    assert.deepEqual(
      go.lines
        .slice(mark)
        .filter((l) => l.kind === 'event')
        .map((l) => l.msg),
      out,
    );
  }
});
