// The embedded registrar (ESRD:R1) between ergo-ts nodes, on real loopback sockets and a free
// port per test (never 4499): the first node serves, later ones register as clients, names are
// unique per host, resolving goes over UDP (or memory on the server), and when the serving node
// goes (also killed, in another OS process) a client takes over and the others re-register.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createEmbeddedRegistrar, EmbeddedRegistrar, EmbeddedResolver } from '../src/net/registrar/index.js';
import { freePort, localNode, routesOn } from './registrar_helpers.js';

// Registering is not the subject of a timeout except where a test says so: the default 3 s register
// deadline (on both ends) is short for a loaded machine, so these registrars get a long one.
const REGISTER_TIMEOUT = 10_000;

test('first node serves, the second registers as a client; both resolve each other; duplicates are refused', async () => {
  const port = await freePort();
  const a = await localNode('rega@localhost');
  const b = await localNode('regb@localhost');
  const ra = createEmbeddedRegistrar({ port, registerTimeout: REGISTER_TIMEOUT });
  const rb = new EmbeddedRegistrar({ port, registerTimeout: REGISTER_TIMEOUT });
  const dup = new EmbeddedRegistrar({ port, registerTimeout: REGISTER_TIMEOUT });
  try {
    await ra.register(a.reg, routesOn(15001));
    assert.equal(ra.role(), 'server');
    assert.equal(ra.info().embeddedServer, true);
    const seen = once(ra, 'registered');
    await rb.register(b.reg, routesOn(15002));
    assert.equal(rb.role(), 'client');
    assert.equal(rb.info().embeddedServer, false);
    assert.deepEqual(await seen, ['regb@localhost']);
    assert.deepEqual((await ra.nodes()).sort(), ['rega@localhost', 'regb@localhost']);
    await assert.rejects(rb.nodes(), { code: 'ERR_UNSUPPORTED' });

    // The client resolves over UDP, the server from memory; the host stays empty (the name's host).
    const [viaUdp] = await rb.resolver().resolve('rega@localhost');
    assert.equal(viaUdp!.port, 15001);
    assert.equal(viaUdp!.host, '');
    assert.equal(viaUdp!.handshakeVersion.name, 'EHS');
    assert.equal((await ra.resolver().resolve('regb@localhost'))[0]!.port, 15002);
    await assert.rejects(rb.resolver().resolve('nobody@localhost'), { code: 'ERR_NO_ROUTE' });
    await assert.rejects(ra.resolver().resolve('nobody@localhost'), { code: 'ERR_NO_ROUTE' });
    await assert.rejects(ra.resolver().resolve('no-at-sign'), { code: 'ERR_INCORRECT' });

    // A duplicate name (the server's own, or a client's) gets ERR_TAKEN: the node must not start.
    await assert.rejects(dup.register(a.reg, routesOn(15003)), { code: 'ERR_TAKEN' });
    await assert.rejects(dup.register(b.reg, routesOn(15003)), { code: 'ERR_TAKEN' });
    await assert.rejects(ra.register(a.reg, routesOn(15001)), { code: 'ERR_NOT_ALLOWED' });

    // A client leaving unregisters its name.
    const gone = once(ra, 'unregistered');
    rb.terminate();
    assert.deepEqual(await gone, ['regb@localhost']);
    await assert.rejects(ra.resolver().resolve('regb@localhost'), { code: 'ERR_NO_ROUTE' });
  } finally {
    for (const r of [ra, rb, dup]) r.terminate();
    await a.node.stop();
    await b.node.stop();
  }
});

test('when the serving node goes, a client takes over and the other clients re-register with it', async () => {
  const port = await freePort();
  const nodes = await Promise.all(['tka@localhost', 'tkb@localhost', 'tkc@localhost'].map(localNode));
  const opts = { port, retryInterval: 100, registerTimeout: REGISTER_TIMEOUT };
  const server = new EmbeddedRegistrar(opts);
  const taker = new EmbeddedRegistrar(opts);
  const follower = new EmbeddedRegistrar({ ...opts, disableServer: true });
  try {
    await server.register(nodes[0]!.reg, routesOn(16001));
    await taker.register(nodes[1]!.reg, routesOn(16002));
    await follower.register(nodes[2]!.reg, routesOn(16003));
    assert.equal(taker.role(), 'client');
    assert.equal(follower.role(), 'client');

    const tookOver = once(taker, 'role');
    const followerBack = once(follower, 'role');
    server.terminate();
    assert.deepEqual(await tookOver, ['server']);
    assert.deepEqual(await followerBack, ['client']);
    // The follower may register before or after the taker's 'role' event; the table converges.
    assert.deepEqual((await taker.nodes()).sort(), ['tkb@localhost', 'tkc@localhost']);
    assert.equal((await follower.resolver().resolve('tkb@localhost'))[0]!.port, 16002);
    await assert.rejects(follower.resolver().resolve('tka@localhost'), { code: 'ERR_NO_ROUTE' });
    assert.ok(
      nodes[1]!.logs.some((l) => l.includes('lost the connection to the registrar server')),
      nodes[1]!.logs.join(''),
    );
  } finally {
    for (const r of [server, taker, follower]) r.terminate();
    for (const n of nodes) await n.node.stop();
  }
});

test('client-only mode without a server, a foreign program on the port, bad options', async () => {
  const port = await freePort();
  const n = await localNode('lone@localhost');
  try {
    await assert.rejects(new EmbeddedRegistrar({ port, disableServer: true }).register(n.reg, routesOn(17001)), {
      code: 'ERR_NO_CONNECTION',
    });

    // Something that accepts TCP on the port but never answers: registration times out (the
    // UDP side is free, but the TCP bind fails, so this node must be a client).
    const foreign = net.createServer((s) => s.on('error', () => {}));
    foreign.listen(port, '127.0.0.1');
    await once(foreign, 'listening');
    try {
      const r = new EmbeddedRegistrar({ port, registerTimeout: 200 });
      await assert.rejects(r.register(n.reg, routesOn(17001)), { code: 'ERR_TIMEOUT' });
      assert.equal(r.role(), 'none');
    } finally {
      foreign.close();
    }

    assert.throws(() => new EmbeddedRegistrar({ port: 0 }), { code: 'ERR_INCORRECT' });
    assert.throws(() => new EmbeddedRegistrar({ port: 70000 }), { code: 'ERR_INCORRECT' });
    assert.throws(() => new EmbeddedRegistrar({ registerTimeout: 0.5 }), { code: 'ERR_INCORRECT' });
    await assert.rejects(new EmbeddedRegistrar({ port }).register(n.reg, routesOn(0)), { code: 'ERR_INCORRECT' });
    const r = new EmbeddedRegistrar({ port });
    r.terminate();
    await assert.rejects(r.register(n.reg, routesOn(17001)), { code: 'ERR_NOT_ALLOWED' });
    await assert.rejects(r.registerProxy('x@y'), { code: 'ERR_UNSUPPORTED' });
    await assert.rejects(r.resolver().resolveApplication('app'), { code: 'ERR_UNSUPPORTED' });
    await assert.rejects(r.config('a'), { code: 'ERR_UNSUPPORTED' });
    assert.deepEqual(r.version(), { name: 'ESRD', release: 'R1', license: 'MIT' });
  } finally {
    await n.node.stop();
  }
});

test("with the default options a client waits 3 s for its register reply: a serving node that answers in 1.2 s (past Ergo's 1 s) registers it", async () => {
  // The serving node is reached through a proxy on the client's port that holds every reply for
  // 1.2 s, as a loaded host's serving node answers late; the TCP bind of that port fails, so the
  // client registers there as a client.
  const serverPort = await freePort();
  const clientPort = await freePort();
  const a = await localNode('slowsrv@localhost');
  const b = await localNode('slowcli@localhost');
  const ra = createEmbeddedRegistrar({ port: serverPort, registerTimeout: REGISTER_TIMEOUT });
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect({ port: serverPort, host: '127.0.0.1' });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
    }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => setTimeout(() => client.write(d), 1200));
    client.on('close', () => upstream.destroy());
  });
  proxy.listen(clientPort, '127.0.0.1');
  await once(proxy, 'listening');
  try {
    await ra.register(a.reg, routesOn(18001));
    const rb = new EmbeddedRegistrar({ port: clientPort });
    await rb.register(b.reg, routesOn(18002));
    assert.equal(rb.role(), 'client');
    rb.terminate();
  } finally {
    ra.terminate();
    for (const s of sockets) s.destroy();
    proxy.close();
    await a.node.stop();
    await b.node.stop();
  }
});

test('a resolver with nobody on the port fails with ERR_REGISTRAR_UNAVAILABLE (the connected socket hears the refusal, as Go)', async () => {
  const port = await freePort();
  const resolver = new EmbeddedResolver({ port, resolveTimeout: 5000 });
  await assert.rejects(resolver.resolve('x@127.0.0.1'), {
    code: 'ERR_REGISTRAR_UNAVAILABLE',
    message: /ECONNREFUSED/,
  });
});

test('a resolve whose datagram is lost is asked again: a relay that drops the first two requests still gets an answer', async () => {
  // The registrar serves on `port`; the resolver asks a UDP relay on `relayPort`, which drops the
  // first two requests (a full receive buffer while many nodes ask at once) and relays the rest.
  const port = await freePort();
  const relayPort = await freePort();
  const a = await localNode('lossy@localhost');
  const ra = createEmbeddedRegistrar({ port, registerTimeout: REGISTER_TIMEOUT });
  const relay = dgram.createSocket('udp4');
  let requests = 0;
  relay.on('message', (msg, from) => {
    requests += 1;
    if (requests <= 2) return;
    const up = dgram.createSocket('udp4');
    up.on('message', (reply) => {
      relay.send(reply, from.port, from.address);
      up.close();
    });
    up.send(msg, port, '127.0.0.1');
  });
  relay.bind(relayPort, '127.0.0.1');
  await once(relay, 'listening');
  try {
    await ra.register(a.reg, routesOn(19001));
    const resolver = new EmbeddedResolver({ port: relayPort, resolveTimeout: 30_000 });
    const [route] = await resolver.resolve('lossy@localhost');
    assert.equal(route?.port, 19001);
    assert.ok(requests >= 3, `asked again after two were lost (${requests} requests)`);
  } finally {
    relay.close();
    ra.terminate();
    await a.node.stop();
  }
});

test('a serving node in another OS process is killed with SIGKILL: the client here takes over', async () => {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./registrar_child.js', import.meta.url)), 'crash@localhost', String(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const n = await localNode('survivor@localhost');
  const survivor = new EmbeddedRegistrar({ port, retryInterval: 100, registerTimeout: REGISTER_TIMEOUT });
  try {
    const [line] = (await once(readline.createInterface({ input: child.stdout }), 'line')) as [string];
    assert.deepEqual(JSON.parse(line), { role: 'server' });
    await survivor.register(n.reg, routesOn(18002));
    assert.equal(survivor.role(), 'client');
    assert.equal((await survivor.resolver().resolve('crash@localhost'))[0]!.port, 18001);

    const tookOver = once(survivor, 'role');
    child.kill('SIGKILL');
    assert.deepEqual(await tookOver, ['server']);
    assert.deepEqual(await survivor.nodes(), ['survivor@localhost']);
    await assert.rejects(survivor.resolver().resolve('crash@localhost'), { code: 'ERR_NO_ROUTE' });
  } finally {
    child.kill('SIGKILL');
    survivor.terminate();
    await n.node.stop();
  }
});

test("'localhost' is looked up once per process (resolving over UDP, dialling); other names every time", async () => {
  // The module the lookup reads at each call (process.getBuiltinModule's object is the one it loads).
  const dns = process.getBuiltinModule('node:dns');
  const real = dns.lookup;
  const asked: string[] = [];
  dns.lookup = ((host: string, ...rest: unknown[]) => {
    asked.push(host);
    return (real as (...a: unknown[]) => unknown)(host, ...rest);
  }) as typeof dns.lookup;
  const port = await freePort();
  const a = await localNode('lookupa@localhost');
  const b = await localNode('lookupb@localhost');
  const ra = createEmbeddedRegistrar({ port, registerTimeout: REGISTER_TIMEOUT });
  const rb = new EmbeddedRegistrar({ port, registerTimeout: REGISTER_TIMEOUT });
  try {
    await ra.register(a.reg, routesOn(15101));
    await rb.register(b.reg, routesOn(15102));
    // The answers are kept for the process, so earlier tests of this file may have asked already:
    // at most one lookup of 'localhost' for each question, however often it is asked.
    const localhostAsked = (): number => asked.filter((h) => h === 'localhost').length;
    const atStart = localhostAsked();
    // b, a client, asks the server over UDP at 'localhost' each time.
    for (let i = 0; i < 3; i++) assert.equal((await rb.resolver().resolve('lookupa@localhost'))[0]!.port, 15101);
    assert.ok(localhostAsked() - atStart <= 1, `3 resolves: ${asked.slice(atStart).join(', ')}`);
    const { cachedLookup } = await import('../src/lib/localhost_lookup.js');
    const lookup = (host: string, o: unknown): Promise<unknown> =>
      new Promise((ok, fail) => cachedLookup(host, o, (e, address) => (e === null ? ok(address) : fail(e))));
    const beforeAll = localhostAsked();
    const all = await lookup('localhost', { all: true });
    assert.deepEqual(await lookup('localhost', { all: true }), all, 'the same answer again');
    assert.notEqual(await lookup('localhost', { all: true }), all, 'a copy: the caller owns it');
    assert.ok(localhostAsked() - beforeAll <= 1, 'three questions, at most one lookup');
    const before = asked.length;
    await lookup('127.0.0.1', { all: true });
    await lookup('127.0.0.1', { all: true });
    assert.deepEqual(asked.slice(before), ['127.0.0.1', '127.0.0.1'], 'any other name every time');
  } finally {
    dns.lookup = real;
    ra.terminate();
    rb.terminate();
    await a.node.stop();
    await b.node.stop();
  }
});
