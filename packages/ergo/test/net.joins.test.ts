// Pool links a peer joins to a connection this node accepted (WIRE §2.3, §3.8).
//
// - A Join for a connection this node does not have is refused before the Accept
//   (ERR_HANDSHAKE_REFUSED): the initiator learns it from the handshake. Before, the join
//   completed and the link was closed at once; an initiator re-dialling lost links did that again
//   and again (tens of thousands of "join … refused" lines after a same-name restart).
// - A joined link is not sent on until the peer's first packet on it: the peer's side of the
//   join can still fail after the Accept went out (a handshake step that timed out on a lossy
//   network), and it then closes the socket, losing what this side wrote on it meanwhile (a
//   call's reply, once, at 5 % loss). An ergo-ts initiator sends one packet on each link it joins.
//
// The peer here is this test, speaking the protocol with the project's own handshake and
// encoder on real sockets, so it can hold a joined link silent.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import net from 'node:net';

import { Actor, ProcessID, type Atom, type Node } from '../src/index.js';
import { NetworkFlags, WireError } from '../src/net/index.js';
import { joinHandshake, startHandshake, type HandshakeOptions } from '../src/net/handshake/handshake.js';
import type { EnpConnection } from '../src/net/proto/connection.js';
import { EnpEncoder } from '../src/net/proto/encoder.js';
import { eventually } from '@ergo-ts/test-support';
import { probe, Inbox, within } from './helpers.js';
import { netNode, netPair, portOf } from './net_helpers.js';

const COOKIE = 'joins';

/** Counts the ENP frames that arrive on a socket (8-byte header, total length at offset 2). */
class FrameCounter {
  frames = 0;
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  constructor(socket: net.Socket, tail: Uint8Array) {
    this.#take(Buffer.from(tail));
    socket.on('data', (chunk: Buffer) => this.#take(chunk));
    socket.resume(); // the handshake leaves it paused
  }

  #take(chunk: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 8) {
      const len = this.#buf.readUInt32BE(2);
      if (this.#buf.length < len) break;
      this.#buf = this.#buf.subarray(len);
      this.frames++;
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once `check` holds (checked on every arrival). */
  until(check: () => boolean, what: string): Promise<void> {
    const wait = new Promise<void>((resolve) => {
      const look = (): void => {
        if (check()) resolve();
        else this.#waiters.push(look);
      };
      look();
    });
    return within(wait, what, 20_000);
  }
}

/** Sends `n` to `to` whenever told, from its own PID (each sender is its own pool key). */
class Sender extends Actor {
  override handleMessage(_from: unknown, m: unknown): void {
    const { to, n } = m as { to: ProcessID; n: number };
    this.send(to, n);
  }
}

function options(name: string): HandshakeOptions {
  // A raw peer without the ergo-ts link frames (as a Go node): the node reads its joined links at once.
  const flags = Object.assign(NetworkFlags.defaults(), { ergoFrames: false });
  return { node: name, cookie: COOKIE, creation: 7, flags, timeout: 60_000 };
}

async function dial(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  await once(s, 'connect');
  return s;
}

async function rawPeer(node: Node, name: string): Promise<{ main: net.Socket; id: string; tail: Uint8Array }> {
  const main = await dial(portOf(node));
  const hs = await startHandshake(main, options(name), node.name);
  // The acceptor registers the connection once our final Accept is read.
  await eventually(
    () =>
      node
        .network()
        .nodes()
        .includes(name as Atom),
    'the connection registered',
    {
      timeoutMs: 20_000,
      intervalMs: 5,
    },
  );
  return { main, id: hs.connectionID, tail: hs.tail };
}

test('a Join for a connection this node does not have is refused before the Accept', async (t) => {
  const node = await netNode('joinacc', { cookie: COOKIE });
  t.after(() => node.stop());
  const name = `rawj${process.pid}@localhost`;
  const { main } = await rawPeer(node, name);
  t.after(() => void main.destroy());

  for (const [who, id] of [
    [name, 'no-such-connection-id'],
    [`other${process.pid}@localhost`, 'no-such-connection-id'],
  ] as const) {
    const s = await dial(portOf(node));
    await assert.rejects(joinHandshake(s, options(who), id, node.name), (e: unknown) => {
      assert.ok(e instanceof WireError, String(e));
      assert.equal(e.code, 'ERR_HANDSHAKE_REFUSED');
      return true;
    });
    s.destroy();
  }
});

test('a joined link carries nothing until the peer sends on it; then it is used', async (t) => {
  const node = await netNode('joinheld', { cookie: COOKIE });
  t.after(() => node.stop());
  const inbox = new Inbox();
  await node.spawnRegister('sink', probe(inbox.push));
  const name = `rawh${process.pid}@localhost`;
  const { main, id, tail } = await rawPeer(node, name);
  const joined = await dial(portOf(node));
  const j = await joinHandshake(joined, options(name), id, node.name);
  t.after(() => {
    main.destroy();
    joined.destroy();
  });
  const onMain = new FrameCounter(main, tail);
  const onJoined = new FrameCounter(joined, j.tail);

  // Sixteen senders (sixteen pool keys): everything goes on the main link while the joined one is held.
  const senders = await Promise.all(Array.from({ length: 16 }, () => node.spawn(Sender, {})));
  const to = new ProcessID('somebody' as Atom, name as Atom);
  const sendAll = (n: number): void => {
    for (const s of senders) node.send(s, { to, n });
  };
  sendAll(1);
  await onMain.until(() => onMain.frames + onJoined.frames >= 16, 'the first sixteen messages');
  assert.equal(onJoined.frames, 0, 'nothing written on a joined link the peer has not used');

  // The peer's first packet on the joined link: a message to `sink`.
  const enc = new EnpEncoder();
  enc.sendProcessID(1001, 'sink', { priority: 0, important: false, messageID: 0, keepNetworkOrder: true }, 'hello');
  joined.write(enc.flush()!);
  await within(inbox.count(1), 'the message on the joined link', 20_000);
  // From now on the link is sent on like any other.
  for (let round = 2; onJoined.frames === 0; round++) {
    sendAll(round);
    await onMain.until(() => onMain.frames + onJoined.frames >= 16 * round, `round ${round}`);
    assert.ok(round < 50, 'the released link carries some of the messages');
  }
});

test('between ergo-ts nodes every joined link is sent on at once (the initiator confirms each)', async (t) => {
  // Without the link frames, so the pool is joined at once and confirmed with the cache update (the
  // frames' confirmation: net.pool_growth.test.ts).
  const flags = Object.assign(NetworkFlags.defaults(), { ergoFrames: false });
  const { a, b } = await netPair(t, { cookie: COOKIE, flags }, { cookie: COOKIE });
  await b.spawnRegister(
    'echo',
    probe(undefined, (r) => r),
  );
  assert.equal(await a.call(new ProcessID('echo' as Atom, b.name), 'up'), 'up');
  // The acceptor's side of the connection (internals: the test reads link state directly).
  const conn = (b.network() as unknown as { connections: Map<Atom, EnpConnection> }).connections.get(a.name)!;
  assert.ok(conn.links.length > 1, `a pool of links (${conn.links.length})`);
  await eventually(() => conn.links.every((l) => !l.held), 'every joined link released', {
    timeoutMs: 20_000,
    intervalMs: 10,
  });
});
