// Hostile bytes at a live acceptor: random handshake bytes and, after a valid handshake, random
// and mutated ENP frames. The node never crashes or hangs: the link is closed (framing broken) or
// the packet dropped, and the node keeps serving other connections.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { ProcessID } from '../src/index.js';
import { NetworkFlags } from '../src/net/index.js';
import { startHandshake } from '../src/net/handshake/handshake.js';
import { EnpEncoder } from '../src/net/proto/encoder.js';
import { probe, within } from './helpers.js';
import { netNode, netPair, portOf } from './net_helpers.js';

function closed(s: net.Socket): Promise<unknown> {
  return s.destroyed ? Promise.resolve() : once(s, 'close');
}

test('random handshake bytes and random/mutated ENP frames close the link, never the node', async (t) => {
  const target = await netNode('fuzzt', { cookie: 'fuzz' });
  t.after(() => target.stop());
  await target.spawnRegister(
    'echo',
    probe(undefined, (r) => r),
  );
  const port = portOf(target);
  // 1. Garbage instead of a handshake: the acceptor closes the socket.
  for (let i = 0; i < 20; i++) {
    const s = net.connect(port, '127.0.0.1');
    await once(s, 'connect');
    s.on('error', () => undefined);
    s.write(randomBytes(1 + Math.floor(Math.random() * 512)));
    await within(closed(s), 'garbage handshake closed', 5000);
  }
  // 2. A valid handshake, then ENP frames: random bodies with a valid header, mutated valid packets.
  const enc = new EnpEncoder();
  for (let i = 0; i < 30; i++) {
    const s = net.connect(port, '127.0.0.1');
    await once(s, 'connect');
    s.on('error', () => undefined);
    await startHandshake(s, {
      node: `fuzzer${i}@localhost`,
      cookie: 'fuzz',
      creation: 1,
      flags: NetworkFlags.defaults(),
      // This side waits as long as it takes a loaded machine to answer (Ergo's 1 s per read is
      // for real peers); the acceptor under test keeps its own default.
      timeout: 60_000,
    });
    s.resume();
    const frames: Buffer[] = [];
    for (let k = 0; k < 20; k++) {
      enc.sendProcessID(
        1001,
        'echo',
        { priority: 0, important: k % 2 === 0, messageID: k, keepNetworkOrder: true },
        { k, s: 'x'.repeat(k) },
      );
      const valid = enc.flush()!;
      const m = Buffer.from(valid);
      for (let j = 0; j < 1 + (k % 4); j++)
        m[8 + Math.floor(Math.random() * (m.length - 8))] = Math.floor(Math.random() * 256);
      frames.push(m);
      const body = randomBytes(Math.floor(Math.random() * 64));
      const h = Buffer.from([0x4e, 0x01, 0, 0, 0, 0, 0, 100 + Math.floor(Math.random() * 110)]);
      h.writeUInt32BE(8 + body.length, 2);
      frames.push(Buffer.concat([h, body]));
    }
    // Finally bytes that break the framing: the link must close.
    frames.push(Buffer.from([0x00, 0x13, 0x37]));
    s.write(Buffer.concat(frames));
    await within(closed(s), 'link closed on broken framing', 5000);
  }
  // The node still serves a real peer.
  const { a } = await netPair(t, { cookie: 'fuzz', routes: [] });
  a.network().addRoute(
    target.name,
    {
      route: {
        host: '127.0.0.1',
        port,
        tls: false,
        handshakeVersion: { name: '', release: '' },
        protoVersion: { name: '', release: '' },
      },
    },
    0,
  );
  assert.equal(await a.call(new ProcessID('echo' as never, target.name), 'alive'), 'alive');
  assert.ok(target.isAlive());
});
