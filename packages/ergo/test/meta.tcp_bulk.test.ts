// TCP meta with bulk data (issue 24 §2): 8 connections × 64 KiB writes echoed byte-exact through
// a TCP server meta and an echo actor while the clients honour back-pressure; a write the kernel
// takes at once costs no wait, one it refuses waits for 'drain'; a full 64 KiB read is one
// MessageTCP.

import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import * as net from 'node:net';
import { describe, test } from 'node:test';

import type { Node, PID } from '../src/index.js';
import {
  createTCPServer,
  DEFAULT_TCP_READ_BUFFER_SIZE,
  MessageTCP,
  MessageTCPConnect,
  TCPConnection,
} from '../src/meta/index.js';
import { ByteSplitter } from '../src/meta/reader.js';
import { exec, guardUnhandled, spawnTest, within, type Hooks } from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { connect } from './meta_helpers.js';

guardUnhandled();

const BLOCK = 64 * 1024;

/** Byte `i` of connection `c`'s stream: differs between connections and along the stream. */
function pattern(c: number, offset: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (offset + i + c * 31) % 251;
  return b;
}

const echo: Hooks = {
  message: (a, _from, m) => {
    if (m instanceof MessageTCP) a.send(m.id!, new MessageTCP(undefined, m.data));
  },
};

describe('meta TCP, bulk data', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('8 connections × 64 KiB writes come back byte-exact, the clients honouring back-pressure', async () => {
    const h = await spawnTest(node, { hooks: echo });
    const port = await exec(node, h.pid, async (a) => {
      const server = await createTCPServer({ host: '127.0.0.1', port: 0 });
      a.spawnMeta(server);
      return server.address().port;
    });
    const PER = 48 * BLOCK; // 3 MiB per connection
    const one = async (c: number): Promise<void> => {
      const s = await connect(port);
      const got: Buffer[] = [];
      let n = 0;
      const all = new Promise<void>((resolve) =>
        s.on('data', (d: Buffer) => {
          got.push(d);
          if ((n += d.length) >= PER) resolve();
        }),
      );
      for (let off = 0; off < PER; off += BLOCK) if (!s.write(pattern(c, off, BLOCK))) await once(s, 'drain');
      await within(all, `echo of connection ${c}`, 30_000);
      s.destroy();
      assert.equal(n, PER, `connection ${c}: no extra bytes`);
      assert.ok(Buffer.concat(got).equals(pattern(c, 0, PER)), `connection ${c}: bytes and order kept`);
    };
    await Promise.all(Array.from({ length: 8 }, (_, c) => one(c)));
  });

  test('a write the kernel takes at once returns without a wait; a refused one waits for drain', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const client = await connect((server.address() as net.AddressInfo).port);
    const [sock] = (await accepted) as [net.Socket];
    const conn = new TCPConnection(sock, {}, undefined);
    const from = {} as PID;
    const received: Buffer[] = [];
    let bytes = 0;
    client.on('data', (d: Buffer) => {
      received.push(d);
      bytes += d.length;
    });
    try {
      // 64 KiB is over the socket's high-water mark, but the kernel takes it: no Promise.
      assert.equal(conn.handleMessage(from, new MessageTCP(undefined, pattern(0, 0, BLOCK))), undefined);
      await within(new Promise<void>((r) => client.once('data', () => r())), 'first block');
      // A peer that stops reading: the kernel buffers fill, then a write waits for 'drain'.
      client.pause();
      let off = BLOCK;
      let waited: unknown;
      for (let i = 0; i < 10_000 && waited === undefined; i++, off += BLOCK)
        waited = conn.handleMessage(from, new MessageTCP(undefined, pattern(0, off, BLOCK)));
      assert.ok(waited instanceof Promise, 'a write the kernel refused returns a Promise');
      // It ends with the socket's 'drain', not before. (Not "still pending a turn later": the
      // kernel may take the rest on its own — loopback buffers grow — and a loaded machine's next
      // turn can already see that drain: this failed once beside two CPU hogs.)
      let drained = false;
      sock.once('drain', () => (drained = true));
      let drainedFirst: boolean | undefined;
      void waited.then(() => (drainedFirst = drained));
      client.resume();
      await within(waited, 'drain after the peer read');
      assert.equal(drainedFirst, true, "the refused write's Promise ended with the socket's 'drain'");
      await within(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (bytes >= off) resolve();
            else client.once('data', check);
          };
          check();
        }),
        'every byte',
      );
      assert.ok(Buffer.concat(received).equals(pattern(0, 0, off)), 'bytes and order kept');
    } finally {
      client.destroy();
      conn.close();
      server.close();
    }
  });

  test('a full 64 KiB read is one MessageTCP', () => {
    assert.equal(DEFAULT_TCP_READ_BUFFER_SIZE, 65536);
    const pieces: Buffer[] = [];
    new ByteSplitter(DEFAULT_TCP_READ_BUFFER_SIZE, undefined).push(Buffer.alloc(65536), (p) => pieces.push(p));
    assert.equal(pieces.length, 1);
  });

  test('MessageTCPConnect first, and a 64 KiB block written by the process arrives whole', async () => {
    const seen: unknown[] = [];
    const h = await spawnTest(node, {
      hooks: {
        message: (a, from, m) => {
          seen.push(m);
          if (m instanceof MessageTCPConnect) a.send(m.id, new MessageTCP(undefined, pattern(5, 0, BLOCK)));
          echo.message!(a, from, m);
        },
      },
    });
    const port = await exec(node, h.pid, async (a) => {
      const server = await createTCPServer({ host: '127.0.0.1', port: 0 });
      a.spawnMeta(server);
      return server.address().port;
    });
    const s = await connect(port);
    const got: Buffer[] = [];
    let n = 0;
    await within(
      new Promise<void>((resolve) =>
        s.on('data', (d: Buffer) => {
          got.push(d);
          if ((n += d.length) >= BLOCK) resolve();
        }),
      ),
      'the block',
    );
    s.destroy();
    assert.ok(seen[0] instanceof MessageTCPConnect);
    assert.ok(Buffer.concat(got).equals(pattern(5, 0, BLOCK)));
  });
});
