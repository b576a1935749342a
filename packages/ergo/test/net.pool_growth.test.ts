// A connection's pool sized by its traffic (issue 64): between two ergo-ts nodes that both send
// the ergo-ts link frames (`ergoFrames`), the dialler joins one link, and the rest of the pool the
// acceptor offered once the connection carries GROW_PACKETS packets within GROW_WINDOW_MS. A link
// joined while messages flow must not reorder them: each older link carries a switch frame
// before packets move to the new one, and the peer reads the new link only once every older link
// brought its switch. A peer without the frames (a Go node; here a node with the flag off) gets
// the whole pool before the connection is used, as before.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { eventually } from '@ergo-ts/test-support';
import { Actor, ProcessID, type Atom, type Node, type PID } from '../src/index.js';
import { NetworkFlags } from '../src/net/index.js';
import { DEFAULT_POOL_SIZE } from '../src/net/handshake/index.js';
import type { EnpConnection } from '../src/net/proto/connection.js';
import { GROW_PACKETS } from '../src/net/proto/link_pool.js';
import { netPair } from './net_helpers.js';

class Echo extends Actor {
  override handleCall(_from: PID, _ref: unknown, request: unknown): unknown {
    return request;
  }
}

/** Counts what arrives and remembers the first message out of order. */
class Sequence extends Actor {
  static got = 0;
  static disorder: string | null = null;
  override handleMessage(_from: PID, m: unknown): void {
    if (m !== Sequence.got && Sequence.disorder === null)
      Sequence.disorder = `got ${String(m)} after ${Sequence.got - 1}`;
    Sequence.got++;
  }
}

function links(node: Node, peer: string): number {
  return node.network().node(peer).info().poolSize;
}

test('an ergo-ts pair starts on one link and joins the offered pool once the traffic pays, in order', async (t) => {
  const { a, b } = await netPair(t);
  await b.spawnRegister('echo', () => new Echo());
  await b.spawnRegister('seq', () => new Sequence());
  assert.equal(await a.call(new ProcessID('echo' as Atom, b.name), 'hi'), 'hi');
  assert.equal(links(a, b.name), 1, 'the dialler joined one link for a call');
  assert.equal(links(b, a.name), 1, 'the acceptor has that one link');
  // A burst of sends from one process to one target: one order key, whose packets move to a
  // joined link mid-stream.
  const seq = new ProcessID('seq' as Atom, b.name);
  const total = GROW_PACKETS * 8;
  let sent = 0;
  while (sent < total) {
    for (let i = 0; i < 256 && sent < total; i++) a.send(seq, sent++);
    await new Promise<void>((r) => setImmediate(r));
  }
  await eventually(() => Sequence.got === total, `all ${total} messages received`, { timeoutMs: 60_000 });
  assert.equal(Sequence.disorder, null, 'the messages arrived in the order they were sent');
  await eventually(() => links(a, b.name) === DEFAULT_POOL_SIZE, 'the dialler grew the pool to the offer');
  await eventually(() => links(b, a.name) === DEFAULT_POOL_SIZE, 'the acceptor has every link');
  // The dialler's answer frame on each joined link releases it on the acceptor's side.
  const accepted = (b.network() as unknown as { connections: Map<string, EnpConnection> }).connections.get(a.name)!;
  await eventually(() => accepted.links.every((l) => !l.held && !l.holding), 'every joined link read and sent on');
  // The grown pool carries calls both ways.
  await a.spawnRegister('echo', () => new Echo());
  for (let i = 0; i < 30; i++) {
    assert.equal(await a.call(new ProcessID('echo' as Atom, b.name), i), i);
    assert.equal(await b.call(new ProcessID('echo' as Atom, a.name), i), i);
  }
});

test('a light connection keeps one link', async (t) => {
  const { a, b } = await netPair(t);
  await b.spawnRegister('echo', () => new Echo());
  const echo = new ProcessID('echo' as Atom, b.name);
  // Calls one at a time: far below the rate that pays for more links.
  for (let i = 0; i < 200; i++) assert.equal(await a.call(echo, i), i);
  assert.equal(links(a, b.name), 1);
  assert.equal(links(b, a.name), 1);
});

test('without the link frames the dialler joins the whole pool at once (as with Go)', async (t) => {
  const off = Object.assign(NetworkFlags.defaults(), { ergoFrames: false });
  const { a, b } = await netPair(t, { flags: off });
  await b.spawnRegister('echo', () => new Echo());
  assert.equal(await a.call(new ProcessID('echo' as Atom, b.name), 'hi'), 'hi');
  assert.equal(links(a, b.name), DEFAULT_POOL_SIZE);
  await eventually(() => links(b, a.name) === DEFAULT_POOL_SIZE, 'the acceptor has every link');
});
