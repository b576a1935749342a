// ergo-ts and Go Ergo nodes on one host share one embedded registrar (ESRD:R1) whichever started
// first, with the real Go peer (`ergo-peer`) in its own OS process and a free registrar port per
// test. Go resolving a TS name is proven by Go dialling the registered route: a listener there
// receives Go's handshake (magic 0x57). Takeover is shown both ways: TS takes over from a Go server
// that stops, and a Go client takes over from a TS server that goes.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { EmbeddedRegistrar } from '../src/net/registrar/index.js';
import { Peer, requirePeer } from '@ergo-ts/test-support';
import { freePort, localNode, routesOn, Witness } from './registrar_helpers.js';

const HANDSHAKE_MAGIC = 0x57;

/**
 * Reply deadlines long enough for a loaded machine: the defaults (register 1 s, resolve 3 s, as
 * Go) would fail a registration or a resolve whose reply is merely late, and no test here is
 * about them.
 */
const PATIENT = { registerTimeout: 15_000, resolveTimeout: 15_000 };

/** Go resolves `name` through the registrar and dials it: the witness sees its handshake. */
async function goDials(go: Peer, name: string, witness: Witness): Promise<void> {
  const answer = go.cmd('connect', { node: name }, 30_000);
  const first = await witness.firstBytes;
  assert.equal(first[0], HANDSHAKE_MAGIC, `Go dialled ${name} with a handshake frame`);
  // The witness is no Ergo node, so the connect itself fails; it still must answer.
  assert.equal((await answer).kind, 'error');
}

test('a TS registrar server: Go clients register, resolve TS names, and cannot take a TS name', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const port = await freePort();
  const ts = await localNode('tssrv@localhost');
  const witness = await Witness.start();
  const registrar = new EmbeddedRegistrar({ port, ...PATIENT });
  let go: Peer | undefined;
  try {
    await registrar.register(ts.reg, routesOn(witness.port));
    assert.equal(registrar.role(), 'server');
    const goRegistered = once(registrar, 'registered');
    go = await Peer.start(bin, ['-name', 'goclient@localhost', '-registrar-port', String(port)]);
    assert.deepEqual(await goRegistered, ['goclient@localhost']);
    assert.equal((go.ready.registrar as { embedded_server: boolean }).embedded_server, false);

    const [route] = await registrar.resolver().resolve('goclient@localhost');
    assert.equal(route!.port, go.ready.port);
    assert.equal(route!.protoVersion.name, 'ENP');

    await goDials(go, 'tssrv@localhost', witness);

    await assert.rejects(
      Peer.start(bin, ['-name', 'tssrv@localhost', '-registrar-port', String(port)]),
      /resource is taken/,
    );
  } finally {
    await go?.stop();
    registrar.terminate();
    witness.close();
    await ts.node.stop();
  }
});

test('a Go registrar server: TS clients register, resolve Go names over UDP, and cannot take a Go name', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const port = await freePort();
  const go = await Peer.start(bin, ['-name', 'goserver@localhost', '-registrar-port', String(port)]);
  const ts = await localNode('tsclient@localhost');
  const dupNode = await localNode('goserver@localhost');
  const witness = await Witness.start();
  const registrar = new EmbeddedRegistrar({ port, ...PATIENT });
  try {
    assert.equal((go.ready.registrar as { embedded_server: boolean }).embedded_server, true);
    await registrar.register(ts.reg, routesOn(witness.port));
    assert.equal(registrar.role(), 'client');

    const [route] = await registrar.resolver().resolve('goserver@localhost');
    assert.equal(route!.port, go.ready.port);
    assert.equal(route!.host, '');
    await assert.rejects(registrar.resolver().resolve('nobody@localhost'), { code: 'ERR_NO_ROUTE' });

    await goDials(go, 'tsclient@localhost', witness);

    await assert.rejects(new EmbeddedRegistrar({ port, ...PATIENT }).register(dupNode.reg, routesOn(15000)), {
      code: 'ERR_TAKEN',
    });
  } finally {
    registrar.terminate();
    witness.close();
    await go.stop();
    await ts.node.stop();
    await dupNode.node.stop();
  }
});

test('TS takes over from a Go server that stops; a Go client re-registers with the TS node', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const port = await freePort();
  const goServer = await Peer.start(bin, ['-name', 'gofirst@localhost', '-registrar-port', String(port)]);
  const ts = await localNode('tstaker@localhost');
  const witness = await Witness.start();
  const registrar = new EmbeddedRegistrar({ port, ...PATIENT });
  let goClient: Peer | undefined;
  try {
    await registrar.register(ts.reg, routesOn(witness.port));
    assert.equal(registrar.role(), 'client');
    goClient = await Peer.start(bin, [
      '-name',
      'gosecond@localhost',
      '-registrar-port',
      String(port),
      '-registrar-client-only',
    ]);

    const tookOver = once(registrar, 'role');
    const goBack = once(registrar, 'registered');
    await goServer.stop();
    assert.deepEqual(await tookOver, ['server']);
    assert.deepEqual(await goBack, ['gosecond@localhost']);
    assert.deepEqual((await registrar.nodes()).sort(), ['gosecond@localhost', 'tstaker@localhost']);
    await assert.rejects(registrar.resolver().resolve('gofirst@localhost'), { code: 'ERR_NO_ROUTE' });

    // The Go client now resolves TS names through the TS server (UDP).
    await goDials(goClient, 'tstaker@localhost', witness);
  } finally {
    await goClient?.stop();
    await goServer.stop();
    registrar.terminate();
    witness.close();
    await ts.node.stop();
  }
});

test('Go takes over from a TS server that goes; a TS client re-registers with the Go node', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const port = await freePort();
  const first = await localNode('tsfirst@localhost');
  const follower = await localNode('tsfollower@localhost');
  const witness = await Witness.start();
  const server = new EmbeddedRegistrar({ port, ...PATIENT });
  // Client-only, so that the Go node is the one that takes over.
  const client = new EmbeddedRegistrar({ port, disableServer: true, ...PATIENT });
  let go: Peer | undefined;
  try {
    await server.register(first.reg, routesOn(15000));
    const goRegistered = once(server, 'registered');
    go = await Peer.start(bin, ['-name', 'gotaker@localhost', '-registrar-port', String(port)]);
    await goRegistered;
    await client.register(follower.reg, routesOn(witness.port));

    const back = once(client, 'role');
    server.terminate();
    assert.deepEqual(await back, ['client']);

    const info = await go.cmd('info');
    const reg = (info.value as { network: { registrar: { embedded_server: boolean } } }).network.registrar;
    assert.equal(reg.embedded_server, true, JSON.stringify(reg));
    const [route] = await client.resolver().resolve('gotaker@localhost');
    assert.equal(route!.port, go.ready.port);
    assert.equal((await client.resolver().resolve('tsfollower@localhost'))[0]!.port, witness.port);
    await assert.rejects(client.resolver().resolve('tsfirst@localhost'), { code: 'ERR_NO_ROUTE' });

    // The Go server resolves the re-registered TS name from its own table.
    await goDials(go, 'tsfollower@localhost', witness);
  } finally {
    await go?.stop();
    server.terminate();
    client.terminate();
    witness.close();
    await first.node.stop();
    await follower.node.stop();
  }
});
