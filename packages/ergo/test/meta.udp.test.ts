// UDP meta processes with real sockets on port 0 and Node's dgram as the peer (issue 11; ERGO-API
// meta row UDP server; §5.18 t017): datagrams to a named process or the spawner, replies through
// the server's alias, oversized datagrams and a slow reader dropped with a count, never queued
// without bound.

import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';

import type { Alias, Node, PID } from '../src/index.js';
import { createUDPServer, MessageUDP, NetAddr, type UDPServerOptions } from '../src/meta/index.js';
import { deferred, exec, guardUnhandled, Hold, spawnTest, uniq, within, type Hooks } from './lifecycle_helpers.js';
import { suiteNode } from './suite_node.js';
import { eventually } from '@ergo-ts/test-support';

guardUnhandled();

/** Replies "<data>-pong" to every datagram, through the server alias. */
const pong: Hooks = {
  message: (a, _from, m) => {
    if (m instanceof MessageUDP)
      a.send(m.id!, new MessageUDP(undefined, m.addr, Buffer.concat([Buffer.from(m.data), Buffer.from('-pong')])));
  },
};

async function serveUDP(node: Node, owner: PID, options: UDPServerOptions = {}): Promise<{ id: Alias; port: number }> {
  const served = await exec(node, owner, async (a) => {
    const s = await createUDPServer({ host: '127.0.0.1', port: 0, ...options });
    return { id: a.spawnMeta(s), port: s.address().port };
  });
  // The socket is bound before the meta starts, and a datagram that arrives before its start is
  // dropped (counted as early: UDP cannot hold it back). The meta answers an inspect only after
  // its start, so once this answers it serves (on a loaded machine the scheduler may run the
  // start a turn later than the datagram arrives).
  await node.inspectMeta(served.id);
  return served;
}

async function client(): Promise<dgram.Socket> {
  const c = dgram.createSocket('udp4');
  c.bind(0, '127.0.0.1');
  await once(c, 'listening');
  return c;
}

function reply(c: dgram.Socket): Promise<string> {
  return within(
    once(c, 'message').then(([m]) => (m as Buffer).toString()),
    'a reply datagram',
  );
}

describe('meta UDP', () => {
  let node: Node;
  suiteNode((n) => (node = n));

  test('t017: a server with a named process and one without; replies reach the client', async () => {
    const name = uniq('udp_handler');
    const handler = await spawnTest(node, { name, hooks: pong });
    const owner = await spawnTest(node, { hooks: pong });
    const named = await serveUDP(node, owner.pid, { process: name });
    const own = await serveUDP(node, owner.pid);
    const c = await client();

    let r = reply(c);
    c.send('one', named.port, '127.0.0.1');
    const { message } = await handler.inbox.message(MessageUDP);
    assert.ok(message.id!.equals(named.id));
    assert.equal(Buffer.from(message.data).toString(), 'one');
    assert.ok(message.addr instanceof NetAddr);
    assert.equal(message.addr.port, c.address().port);
    assert.equal(message.addr.toString(), `127.0.0.1:${c.address().port}`);
    assert.equal(await r, 'one-pong');

    r = reply(c);
    c.send('two', own.port, '127.0.0.1');
    const { message: m2 } = await owner.inbox.message(MessageUDP);
    assert.ok(m2.id!.equals(own.id));
    assert.equal(await r, 'two-pong');
    assert.equal(handler.inbox.messages().filter((m) => m instanceof MessageUDP).length, 1);
    c.close();

    const info = await node.inspectMeta(named.id);
    assert.equal(info['bytes in'], '3');
    assert.equal(info['bytes out'], '8');
  });

  test('datagrams over bufferSize and datagrams for a reader that is behind are dropped and counted', async () => {
    const release = deferred<void>();
    const h = await spawnTest(node);
    const { id, port } = await serveUDP(node, h.pid, { bufferSize: 8, readQueueLimit: 4 });
    const c = await client();
    c.send(Buffer.alloc(9), port, '127.0.0.1');
    await eventually(
      async () => (await node.inspectMeta(id))['dropped too large'] === '1',
      'oversized datagram counted',
    );

    node.send(h.pid, new Hold(release.promise));
    for (let i = 0; i < 20; i++) c.send(`d${i}`, port, '127.0.0.1');
    await eventually(
      async () =>
        Number((await node.inspectMeta(id))['dropped busy']) + Number((await node.inspectMeta(id))['bytes in']) / 2 >=
        20,
      'all datagrams seen',
    );
    const info = await node.inspectMeta(id);
    const delivered = Number(info['bytes in']) / 2;
    assert.ok(delivered <= 4, `at most the limit waited in the mailbox (${delivered})`);
    assert.equal(Number(info['dropped busy']), 20 - delivered);
    release.resolve();
    c.close();
  });

  test('bad options and a busy port', async () => {
    await assert.rejects(createUDPServer({ port: -1 }), { code: 'ERR_INCORRECT' });
    await assert.rejects(createUDPServer({ bufferSize: 0 }), { code: 'ERR_INCORRECT' });
    const s = await createUDPServer({ host: '127.0.0.1' });
    await assert.rejects(createUDPServer({ host: '127.0.0.1', port: s.address().port }), { code: 'EADDRINUSE' });
    s.close();
  });
});
