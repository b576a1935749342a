// ESRD:R1 against a real Go Ergo node acting as the embedded registrar server (on a free port,
// not 4499, so nothing else on the machine is disturbed): an ergo-ts client registers its node
// over TCP and is accepted, a duplicate name is refused with Go's "resource is taken", and
// resolving over UDP returns the Go node's own acceptor and our registered route.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import dgram from 'node:dgram';
import net from 'node:net';
import { ErrTaken, ErrUnknown } from '../src/gen/errors.js';
import { Route, WireVersion } from '../src/net/index.js';
import {
  type MessageRegisterReply,
  MessageRegisterRoutes,
  type MessageResolveReply,
  MessageResolveRoutes,
} from '../src/net/registrar/messages.js';
import { RegistrarCodec, RegistrarPacketType } from '../src/net/registrar/packet.js';
import { eventually, Peer, requirePeer } from '@ergo-ts/test-support';
import { freePort } from './registrar_helpers.js';

const codec = new RegistrarCodec();

async function register(
  port: number,
  node: string,
  acceptorPort: number,
): Promise<{ reply: MessageRegisterReply; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const route = new Route({
    port: acceptorPort,
    handshakeVersion: new WireVersion({ name: 'EHS', release: 'R1', license: 'MIT' }),
    protoVersion: new WireVersion({ name: 'ENP', release: 'R1', license: 'MIT' }),
  });
  socket.write(codec.encode(new MessageRegisterRoutes({ node, routes: [route] })));
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return { reply: codec.decode(chunk, RegistrarPacketType.RegisterReply) as MessageRegisterReply, socket };
}

async function resolve(port: number, node: string): Promise<MessageResolveReply> {
  const udp = dgram.createSocket('udp4');
  try {
    udp.send(codec.encode(new MessageResolveRoutes({ node })), port, '127.0.0.1');
    const [msg] = (await once(udp, 'message')) as [Buffer];
    return codec.decode(msg, RegistrarPacketType.ResolveReply) as MessageResolveReply;
  } finally {
    udp.close();
  }
}

test('an ergo-ts registrar client registers with, and resolves through, a Go Ergo registrar server', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const port = await freePort();
  const go = await Peer.start(bin, ['-name', 'go5@localhost', '-registrar-port', String(port)]);
  const sockets: net.Socket[] = [];
  try {
    const reg = go.ready.registrar as { server: boolean; port: number };
    assert.equal(reg.port, port);

    const first = await register(port, 'ts9@localhost', 15000);
    sockets.push(first.socket);
    assert.equal(first.reply.error, null);
    const dup = await register(port, 'ts9@localhost', 15001);
    sockets.push(dup.socket);
    assert.ok(ErrTaken.is(dup.reply.error), String(dup.reply.error));

    const goRoutes = await resolve(port, 'go5@localhost');
    assert.equal(goRoutes.error, null);
    assert.equal(goRoutes.routes?.[0]?.port, go.ready.port);
    assert.equal(goRoutes.routes?.[0]?.handshakeVersion.name, 'EHS');
    const ours = await resolve(port, 'ts9@localhost');
    assert.deepEqual(
      ours.routes?.map((r) => r.port),
      [15000],
    );
    const none = await resolve(port, 'nobody@localhost');
    assert.equal(none.routes, null);
    assert.ok(ErrUnknown.is(none.error));

    // Closing the registration's TCP link unregisters the node (Ergo's rule).
    first.socket.destroy();
    await once(first.socket, 'close');
    // Go notices the close asynchronously: ask again until it has (the round under way at the
    // bound included, as before).
    const after = await eventually(
      async () => {
        const r = await resolve(port, 'ts9@localhost');
        if (r.routes !== null) throw new Error(`still resolves: ${JSON.stringify(r.routes)}`);
        return r;
      },
      'Go to drop the closed registration',
      { timeoutMs: 20_000, intervalMs: 20 },
    );
    assert.equal(after.routes, null);
  } finally {
    for (const s of sockets) s.destroy();
    await go.stop();
  }
});
