// One publish to subscribers on several nodes: the event's packet is encoded once per wire format
// (ENP with the ergo-ts JS-value extension, plain ENP for Go peers) and copied to the other links
// (EventFanOut). The copies must be the bytes each link would have encoded itself, the formats
// must never mix, the peer's MaxMessageSize still holds per link, and a real fan-out to two
// ergo-ts nodes and a Go Ergo node delivers every message, in order, to all three.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EventFanOut } from '../src/gen/network.js';
import { ErrTooLarge } from '../src/gen/errors.js';
import { type MessageEvent, Event, type Atom, type Node, type Ref } from '../src/index.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpEncoder, type EnpMessageOptions } from '../src/net/proto/encoder.js';
import { PacketType } from '../src/net/proto/packet.js';
import { within } from './helpers.js';
import { DIST_COOKIE, goName, startGoPeer, tsFor, watcher } from './dist_helpers.js';
import { netNode, portOf, routeTo } from './net_helpers.js';

const o: EnpMessageOptions = { priority: 0, important: false, messageID: 0, keepNetworkOrder: true };
const TS = 1_790_000_000_123_456_789n;

/** What `enc` encodes for one event on its own. */
function alone(jsValues: boolean, message: unknown): Buffer {
  const enc = new EnpEncoder({ jsValues });
  enc.sendEvent(1001, 'news', TS, o, message);
  return enc.flush()!;
}

test('a shared event packet is the bytes each link encodes alone, per wire format', () => {
  const message = { text: 'x'.repeat(100), n: 42 };
  const shared = new EventFanOut();
  const js = [new EnpEncoder({ jsValues: true }), new EnpEncoder({ jsValues: true })];
  const plain = [new EnpEncoder(), new EnpEncoder()];
  // Interleaved as a fan-out over mixed peers would call them.
  js[0]!.sendEventShared(1001, 'news', TS, o, message, shared);
  plain[0]!.sendEventShared(1001, 'news', TS, o, message, shared);
  js[1]!.sendEventShared(1001, 'news', TS, o, message, shared);
  plain[1]!.sendEventShared(1001, 'news', TS, o, message, shared);
  assert.equal(shared.packets.length, 2, 'one packet per wire format');
  for (const e of js) assert.deepEqual(e.flush(), alone(true, message));
  for (const e of plain) assert.deepEqual(e.flush(), alone(false, message));
  // The copies decode as the event they are (plain EDF has no JS objects: a map comes back).
  const p = new EnpDecoder().decode(alone(false, message));
  assert.equal(p.type, PacketType.Event);
  assert.equal(p.name, 'news');
  assert.equal(p.timestamp, TS);
  assert.deepEqual(p.payload, new Map(Object.entries(message)));
});

test('a shared packet over a link peer’s MaxMessageSize is refused on that link only, nothing appended', () => {
  const shared = new EventFanOut();
  const big = new EnpEncoder();
  const small = new EnpEncoder({ peerMaxMessageSize: 64 });
  big.sendEventShared(1, 'news', TS, o, 'y'.repeat(200), shared);
  small.sendPID(1, 2, o, 'kept');
  const before = small.pending;
  assert.throws(
    () => small.sendEventShared(1, 'news', TS, o, 'y'.repeat(200), shared),
    (e) => ErrTooLarge.is(e),
  );
  assert.equal(small.pending, before);
  assert.equal(small.pendingPackets, 1);
  assert.ok(big.pending > 200);
});

test('encoders with per-link caches never share: each encodes its own packet', () => {
  const shared = new EventFanOut();
  const cached = new EnpEncoder({ atomCache: new Map([['news', 300]]) });
  cached.sendEventShared(1, 'news', TS, o, 'z', shared);
  assert.equal(shared.packets.length, 0);
  const p = new EnpDecoder({ atomCache: new Map([[300, 'news']]) }).decode(cached.flush()!);
  assert.equal(p.type, PacketType.EventCached);
  assert.equal(p.name, 'news');
});

test('one publish reaches subscribers on two ergo-ts nodes and a Go node, every message in order', async (t) => {
  const go = await startGoPeer(t, 'fanout');
  if (go === undefined) return;
  const ts = await tsFor(t, 'tsfanout', go);
  const subs: Node[] = [];
  for (const prefix of ['fs1', 'fs2']) {
    const n = await netNode(prefix, {
      cookie: DIST_COOKIE,
      routes: [{ match: ts.name.replace(/[.$]/g, '\\$&'), route: routeTo(portOf(ts)) }],
    });
    t.after(() => n.stop().catch(() => undefined));
    subs.push(n);
  }
  const producer = await watcher(ts);
  let token: Ref | undefined;
  await producer.run((self) => void (token = self.registerEvent('fan', {})));
  const ev = new Event('fan' as Atom, ts.name);
  const watchers = [];
  for (const n of subs) {
    const w = await watcher(n);
    await w.run((self) => self.monitorEvent(ev));
    watchers.push(w);
  }
  const sub = await go.cmd('subscribe', { node: ts.name, event: 'fan' });
  assert.equal(sub.kind, 'result');
  const mark = go.mark();
  const out = Array.from({ length: 20 }, (_, i) => `m${i}-${'p'.repeat(90)}`);
  const before = ts.network().node(goName(go)).info().messagesOut;
  await producer.run((self) => {
    for (const m of out) self.sendEvent('fan', token!, m);
  });
  for (const w of watchers) {
    const got = await within(w.inbox.count(20), 'events on an ergo-ts subscriber node');
    assert.deepEqual(
      got.map((s) => (s.message as MessageEvent).message),
      out,
    );
    assert.ok(got.every((s) => (s.message as MessageEvent).event.equals(ev)));
  }
  await go.waitFor((l) => l.kind === 'event' && l.msg === out[19], { since: mark, timeout: 15_000 });
  assert.deepEqual(
    go.lines
      .slice(mark)
      .filter((l) => l.kind === 'event')
      .map((l) => l.msg),
    out,
  );
  assert.equal(ts.network().node(goName(go)).info().messagesOut - before, 20, 'one packet per publish to the Go node');
});
