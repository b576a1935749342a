// The control batch packet (231, net/proto/control_batch.ts) at the codec level: entries written
// in a row share one packet and decode back in order; any other packet in between starts a new
// batch (stream order is kept); the peer's MaxMessageSize moves an entry that does not fit into a
// packet of its own; an entry that cannot be encoded leaves the batch as it was; spawn options
// with the same bytes decode to one object (not when they carry args); bad entries are refused.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EventFanOut } from '../src/gen/network.js';
import { PID } from '../src/gen/pid.js';
import type { Atom } from '../src/gen/atom.js';
import { ProcessOptionsExtra } from '../src/net/edf/framework.js';
import { BatchEntry, type ControlBatchEntry } from '../src/net/proto/control_batch.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpEncoder, type EnpMessageOptions } from '../src/net/proto/encoder.js';
import { PacketType } from '../src/net/proto/packet.js';
import { EnpFrameReader } from '../src/net/proto/stream.js';

const o: EnpMessageOptions = { priority: 0, important: false, messageID: 0, keepNetworkOrder: true };

/** Every packet of a flushed buffer: its type and (for batches) its entries. */
function packets(out: Buffer): { type: number; entries: ControlBatchEntry[]; payload: unknown }[] {
  const r = new EnpFrameReader();
  const d = new EnpDecoder();
  r.push(out);
  const got: { type: number; entries: ControlBatchEntry[]; payload: unknown }[] = [];
  while (r.next()) {
    const p = d.decode(r.bytes, r.start, r.end);
    const batch = p.type === PacketType.ControlBatch;
    got.push({
      type: p.type,
      entries: batch ? (p.payload as ControlBatchEntry[]) : [],
      payload: batch ? null : p.payload,
    });
  }
  return got;
}

test('entries in a row share one packet; another packet in between starts a new batch', () => {
  const enc = new EnpEncoder();
  for (let i = 0; i < 100; i++) enc.batchMonitorPID(0, 1000, 2000 + i, [7, i, 9]);
  enc.batchDemonitorPID(0, 1000, 2000);
  enc.sendPID(1, 2, o, 'between');
  enc.batchResult(0, [5, 6, 7], null);
  enc.batchResult(0, [5, 6, 8], 4242);
  assert.equal(enc.pendingPackets, 3);
  const got = packets(enc.flush()!);
  assert.deepEqual(
    got.map((p) => p.type),
    [PacketType.ControlBatch, PacketType.SendPID, PacketType.ControlBatch],
  );
  const first = got[0]!.entries;
  assert.equal(first.length, 101);
  for (let i = 0; i < 100; i++) {
    const e = first[i]!;
    assert.equal(e.kind, BatchEntry.MonitorPID);
    assert.equal(e.a, 1000);
    assert.equal(e.b, 2000 + i);
    assert.deepEqual([...e.ref], [7, i, 9]);
  }
  assert.equal(first[100]!.kind, BatchEntry.DemonitorPID);
  assert.equal(got[1]!.payload, 'between');
  const [ok, spawned] = got[2]!.entries;
  assert.equal(ok!.kind, BatchEntry.ResultOK);
  assert.deepEqual([...ok!.ref], [5, 6, 7]);
  assert.equal(spawned!.kind, BatchEntry.ResultPID);
  assert.equal(spawned!.a, 4242);
  // After a flush the next entry starts a new packet.
  enc.batchResult(0, [1, 2, 3], null);
  assert.equal(enc.pendingPackets, 1);
});

test("an entry that does not fit the peer's MaxMessageSize moves to a packet of its own", () => {
  const enc = new EnpEncoder({ peerMaxMessageSize: 8 + 41 * 3 });
  for (let i = 0; i < 7; i++) enc.batchMonitorPID(0, 1, 100 + i, [1, i, 0]);
  const got = packets(enc.flush()!);
  assert.deepEqual(
    got.map((p) => p.entries.length),
    [3, 3, 1],
  );
  assert.deepEqual(
    got.flatMap((p) => p.entries.map((e) => e.b)),
    [100, 101, 102, 103, 104, 105, 106],
  );
  // One entry larger than the limit on its own: ERR_TOO_LARGE, nothing written.
  const small = new EnpEncoder({ peerMaxMessageSize: 20 });
  assert.throws(() => small.batchMonitorPID(0, 1, 2, [1, 2, 3]), { code: 'ERR_TOO_LARGE' });
  assert.equal(small.pending, 0);
});

test('an entry that cannot be encoded leaves the batch as it was', () => {
  const enc = new EnpEncoder();
  enc.batchMonitorPID(0, 1, 2, [1, 2, 3]);
  const before = enc.pending;
  assert.throws(() => enc.batchMonitorPID(0, -1, 2, [1, 2, 3]), { code: 'ERR_ENP_ENCODE' });
  assert.equal(enc.pending, before);
  enc.batchMonitorPID(0, 1, 3, [1, 2, 4]);
  const got = packets(enc.flush()!);
  assert.equal(got.length, 1);
  assert.deepEqual(
    got[0]!.entries.map((e) => e.b),
    [2, 3],
  );
});

test('spawn entries: name, ref and options; identical option bytes decode to one object, args do not', () => {
  const parent = new PID('a@localhost' as Atom, 1001, 7);
  const enc = new EnpEncoder();
  const plain = (): ProcessOptionsExtra => new ProcessOptionsExtra({ parentPID: parent, parentLeader: parent });
  enc.batchSpawn(0, [1, 0, 0], 'worker', plain());
  enc.batchSpawn(0, [2, 0, 0], 'worker', plain());
  enc.batchSpawn(0, [3, 0, 0], 'other', new ProcessOptionsExtra({ parentPID: parent, args: ['x', 1] }));
  enc.batchSpawn(0, [4, 0, 0], 'other', new ProcessOptionsExtra({ parentPID: parent, args: ['x', 1] }));
  const [batch] = packets(enc.flush()!);
  const e = batch!.entries;
  assert.deepEqual(
    e.map((x) => [x.kind, x.name, Number(x.ref[0])]),
    [
      [BatchEntry.Spawn, 'worker', 1],
      [BatchEntry.Spawn, 'worker', 2],
      [BatchEntry.Spawn, 'other', 3],
      [BatchEntry.Spawn, 'other', 4],
    ],
  );
  assert.ok(e[0]!.options!.parentPID.equals(parent));
  assert.equal(e[0]!.options, e[1]!.options);
  assert.deepEqual(e[2]!.options!.args, ['x', 1]);
  assert.notEqual(e[2]!.options, e[3]!.options);
});

test("the options' bytes a spawn keeps are its own: packets written after it do not change them", () => {
  const parent = new PID('a@localhost' as Atom, 1001, 7);
  const enc = new EnpEncoder();
  const kept = enc.batchSpawn(0, [1, 0, 0], 'worker', new ProcessOptionsExtra({ parentPID: parent }), true)!;
  const copy = Uint8Array.from(kept);
  // The packet goes out and the encoder's buffer is reused for the next ones (peek/release, as
  // a link writes when the socket takes it all at once).
  assert.ok(enc.peek() !== undefined);
  enc.release(false);
  enc.sendPID(1, 2, o, 'x'.repeat(kept.length + 64));
  assert.deepEqual(kept, copy, 'the kept options were overwritten by the next packet');
  // A spawn from those bytes still decodes to the options.
  enc.release(false);
  enc.batchSpawn(0, [2, 0, 0], 'worker', kept);
  const [batch] = packets(enc.flush()!);
  assert.ok(batch!.entries[0]!.options!.parentPID.equals(parent));
});

test('a bad entry is refused with ERR_ENP_MALFORMED', () => {
  const d = new EnpDecoder();
  const bad = (body: number[]): Uint8Array => {
    const b = new Uint8Array(8 + body.length);
    b.set([0x4e, 0x01, 0, 0, 0, 8 + body.length, 0, PacketType.ControlBatch]);
    b.set(body, 8);
    return b;
  };
  assert.throws(() => d.decode(bad([99])), { code: 'ERR_ENP_MALFORMED' });
  assert.throws(() => d.decode(bad([BatchEntry.MonitorPID, 0, 0, 0])), { code: 'ERR_ENP_MALFORMED' });
});

test('control and event batches on one link keep the stream order, also with events taken from a shared batch', () => {
  const a = new EnpEncoder();
  const b = new EnpEncoder();
  const publish = (m: string): void => {
    const shared = new EventFanOut();
    a.sendEventBatch(3, 'news', 1n, o, m, shared);
    b.sendEventBatch(3, 'news', 1n, o, m, shared); // b only notes the event: a encoded it
  };
  b.batchMonitorPID(0, 1000, 2000, [1, 1, 1]);
  publish('e1');
  b.batchMonitorPID(0, 1000, 2001, [1, 1, 2]);
  b.batchMonitorPID(0, 1000, 2002, [1, 1, 3]);
  publish('e2');
  publish('e3');
  b.batchDemonitorPID(0, 1000, 2000);
  const shape = packets(b.flush()!).map((p) =>
    p.type === PacketType.ControlBatch ? p.entries.map((e) => Number(e.b)) : p.type,
  );
  assert.deepEqual(shape, [[2000], PacketType.EventBatch, [2001, 2002], PacketType.EventBatch, [2000]]);
  const events = new EnpFrameReader();
  events.push(b.flush() ?? Buffer.alloc(0));
  assert.equal(events.next(), false, 'nothing left behind');
});
