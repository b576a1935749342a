// How a link writes: what a task sends leaves in one write straight from the encoder's buffer,
// and a write the socket has to queue (more than the kernel takes at once) keeps its bytes while
// the next batch is encoded — two nodes in one OS process over loopback TCP.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Actor, ProcessID, type PID } from '../src/index.js';
import { netPair } from './net_helpers.js';

const BLOCK = 32 * 1024;
const PER_BATCH = 300;
const BATCHES = 3;

/** A block whose every byte depends on its sequence number and position. */
function block(seq: number): Uint8Array {
  const b = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) b[i] = (seq * 31 + i * 7) & 0xff;
  return b;
}

class Collector extends Actor {
  readonly seen: number[] = [];
  bad = 0;
  done: (() => void) | null = null;
  override handleMessage(_from: PID, message: unknown): void {
    const [seq, bytes] = message as [number, Uint8Array];
    const want = block(seq);
    if (bytes.length !== want.length || !Buffer.from(bytes).equals(Buffer.from(want))) this.bad++;
    this.seen.push(seq);
    if (this.seen.length === PER_BATCH * BATCHES) this.done?.();
  }
}

/** Sends a batch of PER_BATCH blocks in one handler (one task, one write) per "batch" message. */
class Burst extends Actor {
  next = 0;
  override handleMessage(_from: PID, message: unknown): void {
    const to = message as ProcessID;
    for (let i = 0; i < PER_BATCH; i++) {
      const seq = this.next++;
      this.send(to, [seq, block(seq)]);
    }
  }
}

test('batches larger than the socket takes at once arrive whole and in order', async (t) => {
  // Both nodes share this thread, so the peer reads nothing while a batch is sent: a batch is
  // above the default peerBufferLimit (it would be refused, net.backpressure.test.ts), and this
  // test is about the writes, so the limit is raised past the three batches.
  const { a, b } = await netPair(t, { peerBufferLimit: 64 * 1024 * 1024 });
  let collector: Collector | null = null;
  await b.spawnRegister('collector', () => (collector = new Collector()));
  const c = collector! as Collector;
  const finished = new Promise<void>((resolve) => (c.done = resolve));
  await a.network().getNode(b.name);
  const burst = await a.spawn(() => new Burst());
  const to = new ProcessID('collector' as never, b.name);
  // Each batch is ~10 MB, sent from its own task: the socket queues most of a batch, and the next
  // one is encoded (the next turn, before the receiving node reads) while those bytes still wait.
  for (let i = 0; i < BATCHES; i++) {
    a.send(burst, to);
    await new Promise((r) => setImmediate(r));
  }
  await finished;
  assert.equal(c.bad, 0, 'every block arrived intact');
  assert.deepEqual(
    c.seen,
    Array.from({ length: PER_BATCH * BATCHES }, (_, i) => i),
  );
});
