// @ergo-ts/websocket (issue 11 "WebSocket"; EXTRAS §7 WebSocket; ERGO-API extra-library rows):
// a real node:http server on port 0 with the handler attached, the `ws` client on the other
// end. Text and binary both ways, connect/disconnect with close codes, frames sent right after
// the handshake, round-robin pool, the client connection meta against the server, refusals
// (origin, not spawned, wrong path, plain HTTP), and closing from the process side.

import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';

import { within as guard } from '@ergo-ts/test-support';
import {
  Actor,
  MessageDownAlias,
  TerminateReasonNormal,
  startNode,
  type Alias,
  type HandlerResult,
  type Node,
  type PID,
  type Ref,
} from 'ergo-ts';
import { WebMux, createWebServer, type WebServer } from 'ergo-ts/meta';
import { WebSocket } from 'ws';

import {
  MessageWebsocket,
  MessageWebsocketConnect,
  MessageWebsocketDisconnect,
  WebsocketHandler,
  WebsocketMessageType,
  createWebsocketConnection,
} from '../src/index.js';

/**
 * The shared guard with this file's bound: 30 s, as a shorter one could run out on a loaded
 * machine (e.g. for one of 50 handshakes opened at once).
 */
const within = <T>(p: Promise<T>, what: string): Promise<T> => guard(p, what, 30_000);

/** What a Peer actor received, in order; `next(cls)` awaits the first unconsumed instance. */
class Inbox {
  readonly items: unknown[] = [];
  #used = new Set<unknown>();
  #waiters: { cls: abstract new (...a: never[]) => unknown; resolve: (v: unknown) => void }[] = [];
  push(m: unknown): void {
    this.items.push(m);
    const i = this.#waiters.findIndex((w) => m instanceof w.cls);
    if (i !== -1) {
      this.#used.add(m);
      this.#waiters.splice(i, 1)[0]!.resolve(m);
    }
  }
  next<T>(cls: abstract new (...a: never[]) => T): Promise<T> {
    const found = this.items.find((m) => !this.#used.has(m) && m instanceof cls);
    if (found !== undefined) {
      this.#used.add(found);
      return Promise.resolve(found as T);
    }
    return within(
      new Promise<T>((resolve) => this.#waiters.push({ cls, resolve: resolve as (v: unknown) => void })),
      `a ${cls.name}`,
    );
  }
}

class Run {
  constructor(readonly fn: (a: Peer) => unknown) {}
}

/** Records every message; runs functions as the process on request. */
class Peer extends Actor {
  inbox!: Inbox;
  override init(inbox: Inbox): unknown {
    this.inbox = inbox;
    return undefined;
  }
  override handleMessage(_from: PID, message: unknown): HandlerResult {
    this.inbox.push(message);
    return undefined;
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request instanceof Run) {
      try {
        return { ok: request.fn(this) };
      } catch (e) {
        return { err: e };
      }
    }
    return undefined;
  }
}

interface PeerRef {
  pid: PID;
  inbox: Inbox;
  run<T>(fn: (a: Peer) => T): Promise<T>;
}

async function spawnPeer(node: Node, name?: string): Promise<PeerRef> {
  const inbox = new Inbox();
  const pid = name === undefined ? await node.spawn(Peer, {}, inbox) : await node.spawnRegister(name, Peer, {}, inbox);
  return {
    pid,
    inbox,
    run: async <T>(fn: (a: Peer) => T): Promise<T> => {
      const r = (await node.call(pid, new Run(fn))) as { ok?: T; err?: unknown };
      if ('err' in r) throw r.err;
      return r.ok as T;
    },
  };
}

/** A `ws` client that records what it receives. */
class Client {
  readonly got: { data: string | Buffer; binary: boolean }[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];
  closed: Promise<{ code: number; reason: string }>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.got.push({ data: binary ? data : data.toString('utf8'), binary });
      this.#waiters = this.#waiters.filter((w) => (this.got.length >= w.n ? (w.resolve(), false) : true));
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
    );
  }
  static open(url: string, options: { origin?: string } = {}): Promise<Client> {
    const ws = new WebSocket(url, options);
    const c = new Client(ws);
    return within(
      new Promise((resolve, reject) => {
        ws.once('open', () => resolve(c));
        ws.once('error', reject);
      }),
      'client open',
    );
  }
  received(n: number): Promise<void> {
    if (this.got.length >= n) return Promise.resolve();
    return within(new Promise<void>((resolve) => this.#waiters.push({ n, resolve })), `${n} client messages`);
  }
}

/** The handshake refusal status seen by a `ws` client. */
function refusal(url: string, options: { origin?: string } = {}): Promise<string> {
  return within(
    new Promise<string>((resolve) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => resolve('opened'));
      ws.once('error', (e) => resolve(e.message));
    }),
    'refusal',
  );
}

describe('@ergo-ts/websocket', () => {
  let node: Node;
  let host: PeerRef;
  let server: WebServer;
  let wsBase = '';
  const mux = new WebMux();

  before(async () => {
    node = await startNode(`ws${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
    host = await spawnPeer(node);
    server = await createWebServer({ host: '127.0.0.1', port: 0, handler: mux });
    await host.run((a) => a.spawnMeta(server));
    wsBase = server.url.replace('http:', 'ws:');
    const h = new WebsocketHandler();
    await host.run((a) => a.spawnMeta(h));
    h.attach(server, '/ws');
    mux.handle('/ws', h);
  });
  after(async () => {
    await node.stop();
  });

  test('text and binary both ways; connect and disconnect with the close code', async () => {
    const c = await Client.open(wsBase + '/ws?room=1');
    const conn = await host.inbox.next(MessageWebsocketConnect);
    assert.equal(conn.request?.url, '/ws?room=1');
    assert.equal(conn.remoteAddress, '127.0.0.1');

    c.ws.send('hello');
    c.ws.send(Buffer.from([0, 1, 2, 255]));
    const t = await host.inbox.next(MessageWebsocket);
    assert.equal(t.type, WebsocketMessageType.Text);
    assert.equal(t.body, 'hello');
    assert.ok(t.id?.equals(conn.id));
    const b = await host.inbox.next(MessageWebsocket);
    assert.equal(b.type, WebsocketMessageType.Binary);
    assert.deepEqual([...(b.body as Buffer)], [0, 1, 2, 255]);

    await host.run((a) => {
      a.send(conn.id, new MessageWebsocket('héllo back'));
      a.send(conn.id, new MessageWebsocket(Uint8Array.of(9, 8, 7)));
      a.send(conn.id, new MessageWebsocket('forced binary', WebsocketMessageType.Binary));
      a.send(conn.id, 'not a websocket message'); // logged and ignored
    });
    await c.received(3);
    assert.deepEqual(c.got[0], { data: 'héllo back', binary: false });
    assert.deepEqual(c.got[1], { data: Buffer.from([9, 8, 7]), binary: true });
    assert.deepEqual(c.got[2], { data: Buffer.from('forced binary'), binary: true });

    const insp = await host.run((a) => a.inspectMeta(conn.id));
    assert.equal(insp['messages_in'], '2');
    assert.equal(insp['messages_out'], '3');

    c.ws.close(1000, 'bye');
    const d = await host.inbox.next(MessageWebsocketDisconnect);
    assert.ok(d.id.equals(conn.id));
    assert.equal(d.code, 1000);
    assert.equal(d.reason, 'bye');
  });

  test('frames sent right after the handshake all arrive, in order', async () => {
    const ws = new WebSocket(wsBase + '/ws');
    ws.once('open', () => {
      for (let i = 0; i < 50; i++) ws.send(`m${i}`);
    });
    const c = new Client(ws);
    const conn = await host.inbox.next(MessageWebsocketConnect);
    const seen: string[] = [];
    for (let i = 0; i < 50; i++) {
      const m = await host.inbox.next(MessageWebsocket);
      assert.ok(m.id?.equals(conn.id));
      seen.push(m.body as string);
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 50 }, (_, i) => `m${i}`),
    );
    ws.close();
    await c.closed;
    await host.inbox.next(MessageWebsocketDisconnect);
  });

  test('closing from the process side: sendExitMeta (1001) and a Close message (1000)', async () => {
    const c1 = await Client.open(wsBase + '/ws');
    const conn1 = await host.inbox.next(MessageWebsocketConnect);
    await host.run((a) => a.sendExitMeta(conn1.id, TerminateReasonNormal));
    assert.equal((await within(c1.closed, 'close')).code, 1001);
    assert.equal((await host.inbox.next(MessageWebsocketDisconnect)).code, 1001);

    const c2 = await Client.open(wsBase + '/ws');
    const conn2 = await host.inbox.next(MessageWebsocketConnect);
    await host.run((a) => a.send(conn2.id, new MessageWebsocket('done here', WebsocketMessageType.Close)));
    assert.deepEqual(await within(c2.closed, 'close'), { code: 1000, reason: 'done here' });
    assert.equal((await host.inbox.next(MessageWebsocketDisconnect)).code, 1000);
  });

  test('connections go round-robin to a process pool', async () => {
    const one = await spawnPeer(node, 'ws_one');
    const two = await spawnPeer(node, 'ws_two');
    const h = new WebsocketHandler({ processPool: ['ws_one', 'ws_two'] });
    await host.run((a) => a.spawnMeta(h));
    h.attach(server, '/pool');
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await Client.open(wsBase + '/pool'));
    const a1 = await one.inbox.next(MessageWebsocketConnect);
    await one.inbox.next(MessageWebsocketConnect);
    const b1 = await two.inbox.next(MessageWebsocketConnect);
    await two.inbox.next(MessageWebsocketConnect);
    clients[0]!.ws.send('to one');
    clients[1]!.ws.send('to two');
    assert.ok((await one.inbox.next(MessageWebsocket)).id?.equals(a1.id));
    assert.ok((await two.inbox.next(MessageWebsocket)).id?.equals(b1.id));
    for (const c of clients) c.ws.close();
    await Promise.all(clients.map((c) => c.closed));
    await one.inbox.next(MessageWebsocketDisconnect);
    await two.inbox.next(MessageWebsocketDisconnect);
  });

  test('the client connection meta talks to the server both ways, text and binary', async () => {
    const reader = await spawnPeer(node);
    const client = await createWebsocketConnection({ url: wsBase + '/ws' });
    const clientId = await reader.run((a) => a.spawnMeta(client));
    const serverSide = await host.inbox.next(MessageWebsocketConnect);
    const clientSide = await reader.inbox.next(MessageWebsocketConnect);
    assert.ok(clientSide.id.equals(clientId));
    assert.equal(clientSide.request, null);

    await reader.run((a) => {
      a.send(clientId, new MessageWebsocket('from client'));
      a.send(clientId, new MessageWebsocket(Buffer.from('bin from client')));
    });
    const m1 = await host.inbox.next(MessageWebsocket);
    const m2 = await host.inbox.next(MessageWebsocket);
    assert.deepEqual([m1.type, m1.body], [WebsocketMessageType.Text, 'from client']);
    assert.deepEqual([m2.type, m2.text()], [WebsocketMessageType.Binary, 'bin from client']);

    await host.run((a) => {
      a.send(serverSide.id, new MessageWebsocket('from server'));
      a.send(serverSide.id, new MessageWebsocket(Uint8Array.of(1, 2)));
    });
    const r1 = await reader.inbox.next(MessageWebsocket);
    const r2 = await reader.inbox.next(MessageWebsocket);
    assert.ok(r1.id?.equals(clientId));
    assert.deepEqual([r1.type, r1.body], [WebsocketMessageType.Text, 'from server']);
    assert.deepEqual([r2.type, [...(r2.body as Buffer)]], [WebsocketMessageType.Binary, [1, 2]]);

    await reader.run((a) => a.sendExitMeta(clientId, TerminateReasonNormal));
    assert.equal((await reader.inbox.next(MessageWebsocketDisconnect)).code, 1001);
    assert.equal((await host.inbox.next(MessageWebsocketDisconnect)).code, 1001);
  });

  test('200 connections opened and closed leave no connection meta behind', async () => {
    const metas = (): Set<string> => new Set(node.processInfo(host.pid).metas.map(String));
    for (let round = 0; round < 4; round++) {
      const clients = await Promise.all(Array.from({ length: 50 }, () => Client.open(wsBase + '/ws')));
      const ids: Alias[] = [];
      for (let i = 0; i < 50; i++) ids.push((await host.inbox.next(MessageWebsocketConnect)).id);
      const open = metas();
      assert.ok(
        ids.every((id) => open.has(String(id))),
        'every connection is a meta of the host',
      );
      await host.run((a) => ids.forEach((id) => a.monitorAlias(id)));
      for (const c of clients) c.ws.close();
      for (let i = 0; i < 50; i++) await host.inbox.next(MessageWebsocketDisconnect);
      for (let i = 0; i < 50; i++) await host.inbox.next(MessageDownAlias);
      const left = metas();
      assert.deepEqual(
        ids.filter((id) => left.has(String(id))),
        [],
        'no connection meta left',
      );
    }
  });

  test('a message over maxPayload closes the connection with 1009', async () => {
    const h = new WebsocketHandler({ maxPayload: 1024 });
    await host.run((a) => a.spawnMeta(h));
    h.attach(server, '/small');
    const c = await Client.open(wsBase + '/small');
    await host.inbox.next(MessageWebsocketConnect);
    c.ws.send('x'.repeat(100));
    assert.equal((await host.inbox.next(MessageWebsocket)).body, 'x'.repeat(100));
    c.ws.send('y'.repeat(2000));
    assert.equal((await within(c.closed, 'close')).code, 1009);
    const d = await host.inbox.next(MessageWebsocketDisconnect);
    assert.equal(d.code, 1009);
    assert.equal(host.inbox.items.filter((m) => m instanceof MessageWebsocket && m.id?.equals(d.id)).length, 1);
  });

  test('refusals: origin 403, handler not spawned 503, unknown path 404, plain HTTP 426; bad client options', async () => {
    const picky = new WebsocketHandler({ checkOrigin: (origin) => origin === 'https://good.example' });
    await host.run((a) => a.spawnMeta(picky));
    picky.attach(server, '/picky');
    assert.match(await refusal(wsBase + '/picky', { origin: 'https://evil.example' }), /403/);
    const ok = await Client.open(wsBase + '/picky', { origin: 'https://good.example' });
    await host.inbox.next(MessageWebsocketConnect);
    ok.ws.close();
    await host.inbox.next(MessageWebsocketDisconnect);

    const unspawned = new WebsocketHandler();
    unspawned.attach(server, '/unspawned');
    assert.match(await refusal(wsBase + '/unspawned'), /503/);

    // a server with one handler on one path: other paths get 404
    const lone = await createWebServer({ host: '127.0.0.1', port: 0, handler: (_q, r) => r.end() });
    await host.run((a) => a.spawnMeta(lone));
    const lh = new WebsocketHandler();
    await host.run((a) => a.spawnMeta(lh));
    lh.attach(lone, '/only');
    assert.match(await refusal(lone.url.replace('http:', 'ws:') + '/elsewhere'), /404/);
    await host.run((a) => a.sendExitMeta(lone.id, TerminateReasonNormal));

    const plain = await fetch(server.url + '/ws');
    assert.equal(plain.status, 426);
    await plain.arrayBuffer();

    await assert.rejects(
      createWebsocketConnection({ url: 'http://x/' }),
      (e: { code?: string }) => e.code === 'ERR_INCORRECT',
    );
    await assert.rejects(createWebsocketConnection({ url: wsBase + '/picky' }), /403/);
  });
});
