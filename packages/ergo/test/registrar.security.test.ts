// The embedded registrar against forged and incorrect packets (issue 19 items 2 and 8): a resolve
// reply from any address or port but the registrar's is ignored (a connected UDP socket, as Go),
// so a forged reply cannot point the node at an attacker or strip TLS from a route; and a
// registration without routes is refused with ERR_INCORRECT, as Go's registrar does.

import { strict as assert } from 'node:assert';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';

import type { Route } from '../src/gen/network.js';
import {
  createEmbeddedRegistrar,
  EmbeddedRegistrar,
  EmbeddedResolver,
  type MessageRegisterReply,
  MessageRegisterRoutes,
  MessageResolveReply,
  toWireRoute,
} from '../src/net/registrar/index.js';
import { RegistrarCodec, RegistrarPacketType } from '../src/net/registrar/packet.js';
import { within } from './lifecycle_helpers.js';
import { freePort, localNode, routesOn } from './registrar_helpers.js';

function route(port: number, tls: boolean, host = ''): Route {
  return {
    host,
    port,
    tls,
    handshakeVersion: { name: 'EHS', release: 'R1', license: 'MIT' },
    protoVersion: { name: 'ENP', release: 'R1', license: 'MIT' },
  };
}

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

test('a forged resolve reply from another port is ignored: the registrar answer wins (no dial to the attacker, no TLS downgrade)', async () => {
  const codec = new RegistrarCodec();
  const registrar = await bound();
  const attacker = await bound();
  let forgedSent = false;
  try {
    registrar.on('message', (_msg, rinfo) => {
      // The attacker sees the request's source port and answers first, from its own port.
      const forged = codec.encode(
        new MessageResolveReply({ routes: [toWireRoute(route(6666, false, '127.0.0.1'))], error: null }),
      );
      attacker.send(forged, rinfo.port, rinfo.address, () => {
        forgedSent = true;
        // The forged datagram is queued at the resolver before the true reply leaves.
        const real = codec.encode(new MessageResolveReply({ routes: [toWireRoute(route(7777, true))], error: null }));
        registrar.send(real, rinfo.port, rinfo.address);
      });
    });
    const resolver = new EmbeddedResolver({ port: registrar.address().port, resolveTimeout: 5000 });
    const routes = await within(resolver.resolve('victim@127.0.0.1' as never), 'resolve');
    assert.ok(forgedSent, 'the forged reply was sent first');
    assert.equal(routes.length, 1);
    assert.equal(routes[0]!.port, 7777, 'the route comes from the registrar, not the attacker');
    assert.equal(routes[0]!.tls, true, 'TLS is not stripped');
  } finally {
    registrar.close();
    attacker.close();
  }
});

test('a forged reply alone is never accepted: the resolve times out instead', async () => {
  const codec = new RegistrarCodec();
  const registrar = await bound();
  const attacker = await bound();
  try {
    registrar.on('message', (_msg, rinfo) => {
      const forged = codec.encode(
        new MessageResolveReply({ routes: [toWireRoute(route(6666, false, '127.0.0.1'))], error: null }),
      );
      attacker.send(forged, rinfo.port, rinfo.address);
    });
    const resolver = new EmbeddedResolver({ port: registrar.address().port, resolveTimeout: 300 });
    await assert.rejects(resolver.resolve('victim@127.0.0.1' as never), { code: 'ERR_REGISTRAR_UNAVAILABLE' });
  } finally {
    registrar.close();
    attacker.close();
  }
});

test('resolving through a real embedded registrar still works over the connected socket', async () => {
  const port = await freePort();
  const a = await localNode('secra@localhost');
  const ra = createEmbeddedRegistrar({ port });
  try {
    await ra.register(a.reg, routesOn(15101));
    // A resolve deadline a loaded machine cannot miss (the default 3 s is not the subject here).
    const rb = new EmbeddedRegistrar({ port, resolveTimeout: 15_000 });
    assert.equal((await rb.resolver().resolve('secra@localhost' as never))[0]!.port, 15101);
    rb.terminate();
  } finally {
    ra.terminate();
    await a.node.stop();
  }
});

test('the embedded registrar refuses a registration with nil or empty routes with ERR_INCORRECT (as Go)', async () => {
  const port = await freePort();
  const a = await localNode('secsrv@localhost');
  const server = createEmbeddedRegistrar({ port });
  const codec = new RegistrarCodec();
  try {
    await server.register(a.reg, routesOn(15201));
    assert.equal(server.role(), 'server');
    for (const routes of [null, []]) {
      const s = net.connect({ port, host: '127.0.0.1' });
      await once(s, 'connect');
      s.write(codec.encode(new MessageRegisterRoutes({ node: 'ghost@localhost', routes })));
      const [chunk] = (await within(once(s, 'data'), 'register reply')) as [Buffer];
      const reply = codec.decode(chunk, RegistrarPacketType.RegisterReply) as MessageRegisterReply;
      assert.ok(reply.error !== null, `routes ${JSON.stringify(routes)} accepted`);
      assert.equal(reply.error.message, 'incorrect value or argument');
      await within(once(s, 'close'), 'the registrar closes the refused connection');
      assert.deepEqual(await server.nodes(), ['secsrv@localhost'], 'nothing was registered');
    }
  } finally {
    server.terminate();
    await a.node.stop();
  }
});

test('a node without routes (hidden mode) neither serves nor registers, as Go; it still resolves', async () => {
  const port = await freePort();
  const a = await localNode('sechid@localhost');
  const b = await localNode('secvis@localhost');
  const hidden = new EmbeddedRegistrar({ port, resolveTimeout: 15_000 });
  const visible = createEmbeddedRegistrar({ port });
  try {
    await hidden.register(a.reg, { routes: [], applicationRoutes: [], proxies: [] });
    assert.equal(hidden.role(), 'none');
    await visible.register(b.reg, routesOn(15301));
    assert.equal(visible.role(), 'server', 'the port was left free');
    assert.deepEqual(await visible.nodes(), ['secvis@localhost']);
    assert.equal((await hidden.resolver().resolve('secvis@localhost' as never))[0]!.port, 15301);
  } finally {
    hidden.terminate();
    visible.terminate();
    await a.node.stop();
    await b.node.stop();
  }
});
