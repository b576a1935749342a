// The in-host private frame (net/inhost/private_frame.ts): two ergo-ts nodes joined by a real
// in-host link (shared-memory rings and a MessagePort; both nodes in this thread) negotiate it
// in the handshake when both announce it, and everything still works over it: sends to a PID
// and a name (in order, many senders and targets), calls both ways, important delivery, links
// and exits, monitors and downs, events. A node with the frame switched off (`frame: false`)
// talks ENP with a node that has it on, with the same results. And the frame's own edge cases:
// a message taken back after encoding takes its sender/target definitions with it, and records
// split at any byte between reads decode the same.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import {
  Event,
  MessageDownPID,
  type MessageEvent,
  MessageExitPID,
  ProcessID,
  type Atom,
  type Node,
  type Ref,
} from '../src/index.js';
import { InHostTransport } from '../src/net/inhost/transport.js';
import { PrivateFrameEncoder, PrivateFrameReader } from '../src/net/inhost/private_frame.js';
import { EventFanOut } from '../src/gen/network.js';
import type { ControlBatchEntry } from '../src/net/proto/control_batch.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpEncoder } from '../src/net/proto/encoder.js';
import { PacketType } from '../src/net/proto/packet.js';
import type { EnpPacket } from '../src/net/proto/packet.js';
import type { NetworkImpl } from '../src/net/network/network.js';
import { seen, watcher } from './dist_helpers.js';
import { nodeName, probe, quietNode, within } from './helpers.js';

/** Two nodes joined in-host; `frameA`/`frameB`: whether each announces the private frame. */
async function pair(
  t: { after(fn: () => Promise<void>): void },
  frameA: boolean,
  frameB: boolean,
): Promise<{ a: Node; b: Node }> {
  const net = { cookie: 'frame', acceptors: [], registrar: null };
  const a = await quietNode({ network: net }, undefined, nodeName('fa'));
  const b = await quietNode({ network: net }, undefined, nodeName('fb'));
  t.after(async () => {
    await a.stop().catch(() => undefined);
    await b.stop().catch(() => undefined);
  });
  const { port1, port2 } = new MessageChannel();
  const ta = new InHostTransport({ ringSize: 64 * 1024, frame: frameA });
  const tb = new InHostTransport({ ringSize: 64 * 1024, frame: frameB });
  ta.setPeer(b.name, port1);
  tb.setPeer(a.name, port2);
  (a.network() as NetworkImpl).attachInHost(ta);
  (b.network() as NetworkImpl).attachInHost(tb);
  return { a, b };
}

const is =
  <T>(c: new (...a: never[]) => T) =>
  (m: unknown): m is T =>
    m instanceof c;

/** Everything a cluster does across the link; returns nothing, asserts all. */
async function traffic(a: Node, b: Node): Promise<void> {
  // A registered echo on b (answers calls, sends messages back) and a counter of messages.
  const got: unknown[] = [];
  await b.spawnRegister(
    'echo',
    probe(
      (m, from, self) => {
        got.push(m);
        if (typeof m === 'object' && m !== null && 'back' in m) self.send(from, (m as { back: unknown }).back);
      },
      (req) => ({ echo: req }),
    ),
  );
  const echo = new ProcessID('echo' as Atom, b.name);
  const w = await watcher(a);
  // Sends to a name and calls, several values, both directions (the reply comes back over the frame).
  const values = [1, 'two', { three: [3] }, new Uint8Array([4, 4]), -5.5, 2 ** 60];
  for (const v of values) assert.deepEqual(await w.run((self) => self.call(echo, v)), { echo: v });
  // An error response (an ENP packet inside the frame's stream).
  await assert.rejects(
    w.run((self) => self.call(new ProcessID('nobody' as Atom, b.name), 1)),
    (e: Error & { code?: string }) => e.code === 'ERR_PROCESS_UNKNOWN',
  );
  // A stream from several senders to a name and to a PID keeps each sender's order.
  const N = 300;
  const senders = await Promise.all([watcher(a), watcher(a), watcher(a)]);
  const sink = await watcher(b);
  await Promise.all(
    senders.map((s, k) =>
      s.run((self) => {
        for (let i = 0; i < N; i++) {
          self.send(echo, { k, i });
          self.send(sink.pid, { k, i });
        }
      }),
    ),
  );
  await within(sink.inbox.count(3 * N), 'the stream to a PID');
  for (let k = 0; k < 3; k++) {
    const mine = sink.inbox.items.filter((s) => (s.message as { k: number }).k === k);
    assert.deepEqual(
      mine.map((s) => (s.message as { i: number }).i),
      Array.from({ length: N }, (_, i) => i),
    );
    assert.ok(
      mine.every((s) => s.from.equals(senders[k]!.pid)),
      'the sender PID is rebuilt right',
    );
  }
  // A message back from b to a (b's sender, a's watcher as target).
  await w.run((self) => self.send(echo, { back: 'hello' }));
  assert.equal((await seen(w.inbox, (m): m is string => m === 'hello', 'reply message')) as string, 'hello');
  // Important delivery: acknowledged.
  await w.run((self) => self.sendImportant(echo, 'important'));
  // Calls the other way, to a PID on a.
  const calc = await a.spawn(probe(undefined, (req: unknown) => (req as number) * 2));
  const bw = await watcher(b);
  assert.equal(await bw.run((self) => self.call(calc, 21)), 42);
  // Monitor and link across the link: down and exit arrive.
  const victim1 = await b.spawn(probe());
  const victim2 = await b.spawn(probe());
  await w.run((self) => {
    self.monitor(victim1);
    return self.link(victim2);
  });
  b.kill(victim1);
  b.kill(victim2);
  const down = await seen(w.inbox, is(MessageDownPID), 'down');
  assert.ok(down.pid.equals(victim1));
  const exit = await seen(w.inbox, is(MessageExitPID), 'exit');
  assert.ok(exit.pid.equals(victim2));
  // Events: a producer on b, a subscriber on a.
  const producer = await watcher(b);
  let token: Ref | undefined;
  await producer.run((self) => void (token = self.registerEvent('news', {})));
  const ev = new Event('news' as Atom, b.name);
  const sub = await watcher(a);
  await sub.run((self) => self.monitorEvent(ev));
  await producer.run((self) => {
    for (let i = 0; i < 5; i++) self.sendEvent('news', token!, `e${i}`);
  });
  const events = await within(sub.inbox.count(5), 'events');
  assert.deepEqual(
    events.map((s) => (s.message as MessageEvent).message),
    ['e0', 'e1', 'e2', 'e3', 'e4'],
  );
  assert.ok(got.length >= 3 * N, 'the stream to the name arrived');
}

function frameOf(n: Node, peer: string): boolean | undefined {
  return n
    .network()
    .node(peer as Atom)
    .info().inHostFrame;
}

test('in-host private frame: negotiated when both nodes announce it; sends, calls, links, monitors, events work over it', async (t) => {
  const { a, b } = await pair(t, true, true);
  await traffic(a, b);
  assert.equal(frameOf(a, b.name), true, 'a uses the private frame');
  assert.equal(frameOf(b, a.name), true, 'b uses the private frame');
  assert.equal(a.network().node(b.name).info().networkFlags.inHostFrame, true);
});

test('in-host private frame: a node with it switched off talks ENP with a node that has it on', async (t) => {
  const { a, b } = await pair(t, true, false);
  await traffic(a, b);
  assert.equal(frameOf(a, b.name), false);
  assert.equal(frameOf(b, a.name), false);
  assert.equal(a.network().node(b.name).info().networkFlags.inHostFrame, undefined, 'b did not announce it');
  assert.equal(b.network().node(a.name).info().networkFlags.inHostFrame, true, 'a did');
});

/** Decodes `bytes` fed in pieces of `step` bytes; returns the packets as plain objects. */
function readAll(
  bytes: Uint8Array,
  step: number,
): { type: number; from: unknown; to: unknown; name: string; payload: unknown }[] {
  const r = new PrivateFrameReader({}, 0);
  const out: { type: number; from: unknown; to: unknown; name: string; payload: unknown }[] = [];
  r.attach({
    packet: (p: EnpPacket) => {
      out.push({ type: p.type, from: p.fromID, to: p.toID, name: p.name, payload: p.payload });
      return true;
    },
    bad: (e) => assert.fail(e),
  });
  for (let i = 0; i < bytes.length; i += step) {
    r.push(bytes.subarray(i, Math.min(bytes.length, i + step)));
    while (r.next()) assert.fail('no ENP packet was written');
  }
  return out;
}

const OPTS = { priority: 0, important: false, messageID: 0, keepNetworkOrder: true, compression: null };

test('in-host private frame: records split at any byte decode the same; a message taken back takes its definitions', () => {
  const enc = new PrivateFrameEncoder({});
  enc.sendProcessID(7, 'sink', OPTS, 'a');
  enc.sendPID(7, 9, OPTS, 42);
  const mark = enc.pending;
  enc.sendPID(8, 10, OPTS, 'taken back'); // new sender and target slots
  enc.truncate(mark);
  enc.sendPID(11, 12, OPTS, 'b'); // must reuse the slots taken back, not skip them
  enc.sendProcessID(8, 'sink', OPTS, 'c');
  const bytes = Buffer.from(enc.peek()!);
  const whole = readAll(bytes, bytes.length);
  assert.deepEqual(
    whole.map((p) => [p.from, p.to, p.name, p.payload]),
    [
      [7, 0, 'sink', 'a'],
      [7, 9, '', 42],
      [11, 12, '', 'b'],
      [8, 0, 'sink', 'c'],
    ],
  );
  for (const step of [1, 2, 3, 5, 7, 13]) assert.deepEqual(readAll(bytes, step), whole, `split every ${step} bytes`);
});

test('in-host private frame: an unknown sender slot is a fatal framing error', () => {
  const enc = new PrivateFrameEncoder({});
  enc.sendPID(1, 2, OPTS, 'x');
  const bytes = Buffer.from(enc.peek()!);
  // Drop the two definitions (15 bytes each): the message refers to slots never defined.
  const r = new PrivateFrameReader({}, 0);
  r.attach({ packet: () => true, bad: () => undefined });
  r.push(bytes.subarray(30));
  assert.throws(
    () => r.next(),
    (e: Error & { code?: string }) => e.code === 'ERR_ENP_FRAME',
  );
});

test('in-host private frame with event and control batches on the link: records, batches and shared events keep the stream order', () => {
  const first = new EnpEncoder({}); // the publish's first link: encodes the shared event
  const enc = new PrivateFrameEncoder({});
  const publish = (m: string): void => {
    const shared = new EventFanOut();
    first.sendEventBatch(3, 'news', 1n, OPTS, m, shared);
    enc.sendEventBatch(3, 'news', 1n, OPTS, m, shared); // only noted here: copied in later
  };
  enc.batchMonitorPID(0, 7, 2000, [1, 1, 1]);
  enc.sendPID(7, 9, OPTS, 'r1');
  enc.batchMonitorPID(0, 7, 2001, [1, 1, 2]);
  publish('e1');
  enc.sendPID(7, 9, OPTS, 'r2');
  publish('e2');
  enc.batchMonitorPID(0, 7, 2002, [1, 1, 3]);
  enc.sendPID(7, 9, OPTS, 'r3');
  const bytes = Buffer.from(enc.flush()!);
  const got: unknown[] = [];
  const r = new PrivateFrameReader({}, 0);
  r.attach({
    packet: (p: EnpPacket) => (got.push(p.payload), true),
    bad: (e) => assert.fail(e),
  });
  const enp = new EnpDecoder();
  r.push(bytes);
  while (r.next()) {
    const p = enp.decode(r.bytes, r.start, r.end);
    if (p.type === PacketType.ControlBatch)
      got.push((p.payload as ControlBatchEntry[]).map((e) => `monitor ${String(e.b)}`));
    else if (p.type === PacketType.EventBatch) got.push(p.batchPayloads.slice(0, p.batchCount));
    else assert.fail(`packet type ${p.type}`);
  }
  assert.deepEqual(got, [['monitor 2000'], 'r1', ['monitor 2001'], ['e1'], 'r2', ['e2'], ['monitor 2002'], 'r3']);
});

test('in-host private frame: integer payloads read without the decoder are the values the decoder gives', () => {
  const values: unknown[] = [0, 1, -1, 255, 65536, 2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 3, -(2 ** 52) - 7];
  values.push(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2n ** 62n, -(2n ** 63n), 0.5, -0);
  const enc = new PrivateFrameEncoder({});
  for (const v of values) enc.sendPID(7, 9, OPTS, v);
  const bytes = Buffer.from(enc.peek()!);
  const got = readAll(bytes, bytes.length).map((p) => p.payload);
  // What ENP's own decoder makes of the same values (the reference).
  const ref = new EnpEncoder({});
  for (const v of values) ref.sendPID(7, 9, OPTS, v);
  const dec = new EnpDecoder({});
  const refBytes = Buffer.from(ref.peek()!);
  const want: unknown[] = [];
  for (let at = 0; at < refBytes.length;) {
    const n = refBytes.readUInt32BE(at + 2);
    want.push(dec.decode(refBytes, at, at + n).payload);
    at += n;
  }
  assert.deepEqual(got, want);
  assert.equal(typeof got[values.indexOf(2n ** 62n)], 'bigint', 'beyond 2^53: a bigint, as decode gives');
});
