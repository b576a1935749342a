// TCP meta processes with real sockets on port 0 and Node's own net/tls clients (issue 11;
// ERGO-API meta rows TCP server/client/messages/chunking; §5.17 t016 TestServer and TestClient):
// round-robin pools, echo, every chunking mode with frames split across reads and several in one
// read, maxLength, 10 000 connect/disconnect cycles without leaks, back-pressure on a slow reader,
// TLS with a swappable certificate.

import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import { once } from 'node:events';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { describe, test } from 'node:test';

import { MessageDownAlias, type Alias, type Node, type PID } from '../src/index.js';
import {
  createCertManager,
  createTCPConnection,
  createTCPServer,
  MessageTCP,
  MessageTCPConnect,
  MessageTCPDisconnect,
  type ChunkOptions,
  type TCPServerOptions,
} from '../src/meta/index.js';
import {
  Capture,
  deferred,
  exec,
  guardUnhandled,
  Hold,
  spawnTest,
  testNode,
  uniq,
  within,
  type Hooks,
} from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { eventually } from '@ergo-ts/test-support';
import { activeHandles, closed, connect, haveOpenSSL, makeCert, readBytes } from './meta_helpers.js';

guardUnhandled();

/** Echoes every MessageTCP back to its connection; monitors each connection meta. */
const echo: Hooks = {
  message: (a, _from, m) => {
    if (m instanceof MessageTCPConnect) a.monitor(m.id);
    if (m instanceof MessageTCP) a.send(m.id!, new MessageTCP(undefined, m.data));
  },
};

/** Spawns a TCP server meta from inside `owner`; returns its alias and port. */
async function serve(node: Node, owner: PID, options: TCPServerOptions = {}): Promise<{ id: Alias; port: number }> {
  return exec(node, owner, async (a) => {
    const server = await createTCPServer({ host: '127.0.0.1', port: 0, ...options });
    return { id: a.spawnMeta(server), port: server.address().port };
  });
}

describe('meta TCP', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('t016 TestServer: pool members get connections round-robin, Connect then Disconnect; no pool → the spawner; echo', async () => {
    const n1 = uniq('h1');
    const n2 = uniq('h2');
    const order: string[] = [];
    const connected: { tag: string; message: MessageTCPConnect }[] = [];
    let arrived = deferred<void>();
    const tagged = (tag: string): Hooks => ({
      message: (a, from, m) => {
        if (m instanceof MessageTCPConnect) {
          order.push(tag);
          connected.push({ tag, message: m });
          arrived.resolve();
        }
        echo.message!(a, from, m);
      },
    });
    const h1 = await spawnTest(node, { name: n1, hooks: tagged('h1') });
    const h2 = await spawnTest(node, { name: n2, hooks: tagged('h2') });
    const owner = await spawnTest(node);
    const { port } = await serve(node, owner.pid, { processPool: [n1, n2] });
    const clients: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      arrived = deferred<void>();
      const c = await connect(port);
      clients.push(c);
      await within(arrived.promise, `connection ${i}`);
      const last = connected[connected.length - 1]!.message;
      assert.equal(last.remoteAddr.port, c.localPort);
      assert.equal(last.localAddr.port, port);
    }
    assert.deepEqual(order, ['h1', 'h2', 'h1', 'h2']);
    for (const c of clients) {
      c.write('ping');
      assert.equal((await readBytes(c, 4)).toString(), 'ping');
    }
    for (const c of clients) c.end();
    await h1.inbox.message(MessageTCPDisconnect);
    await h1.inbox.message(MessageTCPDisconnect);
    await h2.inbox.message(MessageTCPDisconnect);
    await h2.inbox.message(MessageTCPDisconnect);

    const self = await spawnTest(node, { hooks: echo });
    const { port: p2 } = await serve(node, self.pid);
    const c = await connect(p2);
    const { message } = await self.inbox.message(MessageTCPConnect);
    c.write('direct');
    assert.equal((await readBytes(c, 6)).toString(), 'direct');
    c.destroy();
    const { message: bye } = await self.inbox.message(MessageTCPDisconnect);
    assert.ok(bye.id.equals(message.id));
  });

  test('t016 TestClient: createTCPConnection talks to a server; sendExitMeta on the client ends both sides', async () => {
    const server = await spawnTest(node, { hooks: echo });
    const { port } = await serve(node, server.pid);
    const client = await spawnTest(node);
    const conn = await exec(node, client.pid, async (a) =>
      a.spawnMeta(await createTCPConnection({ host: '127.0.0.1', port })),
    );
    const { message: cc } = await client.inbox.message(MessageTCPConnect);
    assert.ok(cc.id.equals(conn));
    assert.equal(cc.remoteAddr.port, port);
    await server.inbox.message(MessageTCPConnect);
    await exec(node, client.pid, (a) => a.send(conn, new MessageTCP(undefined, Buffer.from('hello server'))));
    const { message: back } = await client.inbox.message(MessageTCP);
    assert.equal(Buffer.from(back.data).toString(), 'hello server');
    assert.ok(back.id!.equals(conn));
    await exec(node, client.pid, (a) => a.sendExitMeta(conn, new Error('done')));
    await client.inbox.message(MessageTCPDisconnect);
    await server.inbox.message(MessageTCPDisconnect);
    await assert.rejects(createTCPConnection({ host: '127.0.0.1', port: 1 }), /ECONNREFUSED/);
  });

  const modes: [string, ChunkOptions, (body: Buffer) => Buffer][] = [
    ['fixed length 4', { enable: true, fixedLength: 4 }, (b) => b],
    [
      '1-byte length at offset 1 of a 2-byte header',
      { enable: true, headerSize: 2, headerLengthPosition: 1, headerLengthSize: 1 },
      (b) => Buffer.concat([Buffer.from([0x7e, b.length]), b]),
    ],
    [
      '2-byte length including the header',
      { enable: true, headerSize: 2, headerLengthSize: 2, headerLengthIncludesHeader: true },
      (b) => Buffer.concat([Buffer.from([0, b.length + 2]), b]),
    ],
    [
      '4-byte length',
      { enable: true, headerSize: 4, headerLengthSize: 4, maxLength: 1 << 20 },
      (b) => {
        const h = Buffer.alloc(4);
        h.writeUInt32BE(b.length);
        return Buffer.concat([h, b]);
      },
    ],
  ];
  for (const [name, chunk, frame] of modes) {
    test(`chunked echo, ${name}: a frame split across reads, several frames in one read`, async () => {
      const h = await spawnTest(node, { hooks: echo });
      const { port } = await serve(node, h.pid, { readChunk: chunk });
      const c = await connect(port);
      c.setNoDelay(true);
      await h.inbox.message(MessageTCPConnect);
      const frames = [frame(Buffer.from('abcd')), frame(Buffer.from('efgh')), frame(Buffer.from('ijkl'))];
      // The first frame in two writes with a round trip in between, the other two in one write.
      c.write(frames[0]!.subarray(0, 3));
      await new Promise((r) => setTimeout(r, 20));
      c.write(frames[0]!.subarray(3));
      c.write(Buffer.concat([frames[1]!, frames[2]!]));
      const got: string[] = [];
      for (let i = 0; i < 3; i++)
        got.push(Buffer.from((await h.inbox.message(MessageTCP)).message.data).toString('hex'));
      assert.deepEqual(
        got,
        frames.map((f) => f.toString('hex')),
      );
      const all = Buffer.concat(frames);
      assert.deepEqual(await readBytes(c, all.length), all);
      c.destroy();
      await h.inbox.message(MessageTCPDisconnect);
    });
  }

  test('maxLength: a longer frame closes the connection; the meta ends with ERR_TOO_LARGE', async () => {
    const h = await spawnTest(node, { hooks: echo });
    const { port } = await serve(node, h.pid, {
      readChunk: { enable: true, headerSize: 2, headerLengthSize: 2, maxLength: 100 },
    });
    const c = await connect(port);
    const { message } = await h.inbox.message(MessageTCPConnect);
    c.write(Buffer.from([0x10, 0x00, 1, 2, 3]));
    await closed(c);
    await h.inbox.message(MessageTCPDisconnect);
    const { message: down } = await h.inbox.message(MessageDownAlias);
    assert.ok(down.alias.equals(message.id));
    assert.equal((down.reason as { code?: string }).code, 'ERR_TOO_LARGE');
  });

  test('10 000 connect/disconnect cycles leave no metas, sockets or handles behind', async () => {
    const cycles = 10_000;
    let connects = 0;
    let disconnects = 0;
    const allGone = deferred<void>();
    const h = await spawnTest(node, {
      hooks: {
        message: (_a, _f, m) => {
          if (m instanceof MessageTCPConnect) connects++;
          if (m instanceof MessageTCPDisconnect && ++disconnects === cycles) allGone.resolve();
        },
      },
    });
    const { port } = await serve(node, h.pid);
    const before = activeHandles('TCPSocketWrap');
    const batch = 50;
    for (let i = 0; i < cycles; i += batch) {
      await Promise.all(
        Array.from({ length: batch }, async () => {
          const c = await connect(port);
          c.end();
          await closed(c);
        }),
      );
    }
    await within(allGone.promise, `${cycles} disconnects`, 120_000);
    assert.equal(connects, cycles);
    assert.equal(node.processInfo(h.pid).metas.length, 1, 'only the server meta is left');
    await eventually(() => activeHandles('TCPSocketWrap') <= before, 'sockets closed');
    assert.ok(activeHandles('TCPSocketWrap') <= before);
  });

  test('back-pressure: a slow reader pauses the socket; its mailbox stays bounded; nothing is lost', async () => {
    const release = deferred<void>();
    let bytes = 0;
    const h = await spawnTest(node, {
      hooks: {
        message: (_a, _f, m) => {
          if (m instanceof MessageTCP) bytes += m.data.length;
        },
      },
    });
    const limit = 16;
    const readBufferSize = 1024;
    const { port } = await serve(node, h.pid, { readQueueLimit: limit, readBufferSize });
    const c = await connect(port);
    const { message } = await h.inbox.message(MessageTCPConnect);
    // The reader is busy: everything that arrives waits in its mailbox.
    node.send(h.pid, new Hold(release.promise));
    const total = 8 << 20;
    const flushed = new Promise<void>((resolve) => c.write(Buffer.alloc(total, 1), () => resolve()));
    await eventually(async () => (await node.inspectMeta(message.id)).paused === 'true', 'the connection pauses');
    const info = await node.inspectMeta(message.id);
    const queued = node.processInfo(h.pid).mailboxQueues.main;
    // Bounded: the limit plus what one read (at most 64 KiB) adds before the check.
    assert.ok(queued <= limit + 65536 / readBufferSize, `mailbox holds ${queued}`);
    assert.ok(Number(info['bytes in']) < total, 'the rest waits in the kernel and the writer, not in memory');
    assert.ok(c.writableLength > 0 || Number(info['bytes in']) < total);
    release.resolve();
    await within(flushed, 'the writer finishes once the reader caught up', 20_000);
    await eventually(() => bytes === total, `all ${total} bytes delivered`);
    assert.ok(Number((await node.inspectMeta(message.id)).pauses) >= 1);
    c.destroy();
    await h.inbox.message(MessageTCPDisconnect);
  });

  test('ending the server closes the listener only; ending the parent closes its connections', async () => {
    const owner = await spawnTest(node, { hooks: echo });
    const { id, port } = await serve(node, owner.pid);
    const c = await connect(port);
    await owner.inbox.message(MessageTCPConnect);
    await exec(node, owner.pid, (a) => a.sendExitMeta(id, new Error('stop listening')));
    await eventually(() => node.processInfo(owner.pid).metas.length === 1, 'server meta gone');
    await assert.rejects(connect(port), /ECONNREFUSED/);
    c.write('still here');
    assert.equal((await readBytes(c, 10)).toString(), 'still here');
    node.sendExit(owner.pid, new Error('owner gone'));
    await closed(c);
  });

  test(
    'TLS with a certificate manager; update() swaps the certificate for new connections',
    { skip: !haveOpenSSL() && !process.env.CI && 'openssl is not installed' },
    async () => {
      const first = makeCert();
      const second = makeCert();
      const cm = createCertManager(first);
      const h = await spawnTest(node, { hooks: echo });
      const { port } = await serve(node, h.pid, { certManager: cm });
      const fingerprint = (pem: string): string => new crypto.X509Certificate(pem).fingerprint256;
      const dial = async (): Promise<tls.TLSSocket> => {
        const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
        await once(s, 'secureConnect');
        return s;
      };
      const a = await dial();
      assert.equal(a.getPeerX509Certificate()!.fingerprint256, fingerprint(first.cert));
      a.write('secret');
      assert.equal((await readBytes(a as unknown as net.Socket, 6)).toString(), 'secret');
      cm.update(second);
      const b = await dial();
      assert.equal(b.getPeerX509Certificate()!.fingerprint256, fingerprint(second.cert));
      a.destroy();
      b.destroy();

      // The meta client side, trusting the first certificate as its CA.
      const client = await spawnTest(node);
      cm.update(first);
      const conn = await exec(node, client.pid, async (x) =>
        x.spawnMeta(await createTCPConnection({ host: 'localhost', port, tls: true, ca: first.cert })),
      );
      await client.inbox.message(MessageTCPConnect);
      await exec(node, client.pid, (x) => x.send(conn, new MessageTCP(undefined, Buffer.from('over tls'))));
      assert.equal(Buffer.from((await client.inbox.message(MessageTCP)).message.data).toString(), 'over tls');
      await exec(node, client.pid, (x) => x.sendExitMeta(conn, new Error('bye')));
      await client.inbox.message(MessageTCPDisconnect);
    },
  );

  test('the reason a connection closes is logged with the meta as source; stopping the node closes servers and connections', async () => {
    const capture = new Capture();
    const own = await testNode({ log: { defaultLogger: { output: capture.output } } });
    const h = await spawnTest(own, { hooks: echo });
    const { port } = await serve(own, h.pid, { readChunk: { enable: true, fixedLength: 2, maxLength: 1 } });
    const big = await serve(own, h.pid, {
      readChunk: { enable: true, headerSize: 1, headerLengthSize: 1, maxLength: 4 },
    });
    const c = await connect(big.port);
    const { message } = await h.inbox.message(MessageTCPConnect);
    c.write(Buffer.from([9]));
    await closed(c);
    await h.inbox.message(MessageTCPDisconnect);
    await eventually(() => capture.text().includes('exceeds the limit (maxLength 4)'), 'the reason is logged');
    assert.ok(
      capture.lines.some((l) => l.includes(message.id.toString()) && l.includes('exceeds the limit')),
      capture.text(),
    );
    const open = await connect(port);
    await h.inbox.message(MessageTCPConnect);
    await own.stop();
    await closed(open);
    await assert.rejects(connect(port), /ECONNREFUSED/);
  });

  test('bad options are refused with ERR_INCORRECT; a busy port with the listen error', async () => {
    await assert.rejects(createTCPServer({ port: 70000 }), { code: 'ERR_INCORRECT' });
    await assert.rejects(createTCPServer({ readChunk: { enable: true } }), { code: 'ERR_INCORRECT' });
    await assert.rejects(createTCPServer({ readBufferSize: 0 }), { code: 'ERR_INCORRECT' });
    await assert.rejects(createTCPServer({ writeBufferKeepAlive: Buffer.from([0]) }), { code: 'ERR_INCORRECT' });
    await assert.rejects(createTCPConnection({ host: '', port: 1 }), { code: 'ERR_INCORRECT' });
    const s = await createTCPServer({ host: '127.0.0.1' });
    await assert.rejects(createTCPServer({ host: '127.0.0.1', port: s.address().port }), { code: 'EADDRINUSE' });
    s.close();
  });
});
