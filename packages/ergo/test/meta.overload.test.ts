// Meta processes under overload (issue 19 items 1 and 12): a TCP client that never reads must not
// make the node buffer without bound — an accepted connection's write queue is bounded by default
// and a full queue is refused to the writer with ERR_META_MAILBOX_FULL — and a TCP or web server
// listening on port 0 tells its bound port.

import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { describe, test } from 'node:test';

import { ErrIncorrect, type Alias, type Node } from '../src/index.js';
import {
  createTCPServer,
  createWebServer,
  DEFAULT_TCP_WRITE_QUEUE_LIMIT,
  MessageTCP,
  MessageTCPConnect,
  MessageTCPDisconnect,
  type TCPServerOptions,
} from '../src/meta/index.js';
import { exec, guardUnhandled, spawnTest, within } from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { connect, readBytes } from './meta_helpers.js';

guardUnhandled();

describe('meta overload', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  /** A writer process owning a TCP server on port 0, with one connected client. */
  async function setup(options: TCPServerOptions) {
    const writer = await spawnTest(node);
    const port = await exec(node, writer.pid, async (a) => {
      const server = await createTCPServer({ host: '127.0.0.1', port: 0, ...options });
      a.spawnMeta(server);
      return server.port;
    });
    const client = await connect(port);
    const { message } = await writer.inbox.message(MessageTCPConnect);
    return { writer, client, id: message.id };
  }

  test('a client that never reads: writes queue up to writeQueueLimit, then the writer gets ERR_META_MAILBOX_FULL', async () => {
    const limit = 8;
    const { writer, client, id } = await setup({ writeQueueLimit: limit });
    client.pause(); // never reads: the kernel buffers fill, then the socket's own buffer
    const chunk = new Uint8Array(64 * 1024).fill(7);
    let refused: unknown = null;
    let sent = 0;
    // Batches from the writer, with event-loop turns between them so the connection writes what
    // it can. Unbounded, this would never be refused (64 K batches × 64 KiB = 256 GiB offered).
    for (let batch = 0; batch < 4096 && refused === null; batch++) {
      const r = await exec(node, writer.pid, (a) => {
        for (let i = 0; i < 64; i++) {
          try {
            a.send(id, new MessageTCP(undefined, chunk));
          } catch (e) {
            return { err: e, n: i };
          }
        }
        return { err: null, n: 64 };
      });
      sent += r.n;
      refused = r.err;
    }
    assert.ok(refused !== null, `never refused after ${sent} writes of 64 KiB`);
    assert.equal((refused as { code?: string }).code, 'ERR_META_MAILBOX_FULL');
    const info = await exec(node, writer.pid, (a) => a.metaInfo(id));
    assert.equal(info.mailboxSize, limit);
    assert.ok(info.mailboxQueues.main <= limit, `queue holds ${info.mailboxQueues.main}`);
    // Back-pressure end to end: once the client reads, the queue drains and writes go through.
    const expected = sent * chunk.length;
    const all = readBytes(client, expected, `${sent} accepted writes`);
    client.resume();
    await within(all, 'the client reads everything accepted', 30_000);
    await exec(node, writer.pid, (a) => a.send(id, new MessageTCP(undefined, Uint8Array.of(1, 2, 3))));
    assert.deepEqual([...(await readBytes(client, 3))], [1, 2, 3]);
    client.destroy();
    await writer.inbox.message(MessageTCPDisconnect);
  });

  test('accepted connections are bounded by default (DEFAULT_TCP_WRITE_QUEUE_LIMIT); 0 keeps them unbounded', async () => {
    const a = await setup({});
    const info = await exec(node, a.writer.pid, (x) => x.metaInfo(a.id));
    assert.equal(DEFAULT_TCP_WRITE_QUEUE_LIMIT, 1024);
    assert.equal(info.mailboxSize, DEFAULT_TCP_WRITE_QUEUE_LIMIT);
    a.client.destroy();
    const b = await setup({ writeQueueLimit: 0 });
    assert.equal((await exec(node, b.writer.pid, (x) => x.metaInfo(b.id))).mailboxSize, 0);
    b.client.destroy();
    await a.writer.inbox.message(MessageTCPDisconnect);
    await b.writer.inbox.message(MessageTCPDisconnect);
  });

  test('a bad writeQueueLimit is refused with ERR_INCORRECT', async () => {
    for (const v of [-1, 1.5, '8'] as unknown[]) {
      await assert.rejects(createTCPServer({ port: 0, writeQueueLimit: v as number }), (e: Error) => {
        assert.ok(ErrIncorrect.is(e), String(e));
        assert.match(e.message, /writeQueueLimit/);
        return true;
      });
    }
  });

  test('port 0: a TCP server tells its bound port (server.port, address(), inspectMeta)', async () => {
    const owner = await spawnTest(node);
    const { id, port, address } = await exec(node, owner.pid, async (a) => {
      const server = await createTCPServer({ host: '127.0.0.1', port: 0 });
      return { id: a.spawnMeta(server), port: server.port, address: server.address().port };
    });
    assert.ok(port > 0);
    assert.equal(address, port);
    assert.equal((await node.inspectMeta(id as Alias)).port, String(port));
    const c = await connect(port);
    await owner.inbox.message(MessageTCPConnect);
    c.destroy();
  });

  test('port 0: a web server tells its bound port (server.port, server.url, inspectMeta)', async () => {
    const owner = await spawnTest(node);
    const { id, port, url } = await exec(node, owner.pid, async (a) => {
      const server = await createWebServer({ host: '127.0.0.1', port: 0, handler: (_q, r) => r.end('ok') });
      return { id: a.spawnMeta(server), port: server.port, url: server.url };
    });
    assert.ok(port > 0);
    assert.equal(url, `http://127.0.0.1:${port}`);
    assert.equal((await node.inspectMeta(id)).port, String(port));
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(`${url}/`, (res) => {
          let s = '';
          res.on('data', (d: Buffer) => (s += d.toString()));
          res.on('end', () => resolve(s));
        })
        .on('error', reject);
    });
    assert.equal(body, 'ok');
  });
});
