// Survival scenarios of the WebSocket handler (issue 26 items 3 and 6), run by the ergo package's
// survival harness (packages/ergo/test/survival.ts: a node in a child OS process that must stay
// alive, answer calls and stop with exit 0). Each gets that child's node and resolves once the
// failure has happened; survival.websocket.test.ts asserts on what it returns.

import * as net from 'node:net';

import { eventually } from '@ergo-ts/test-support';
import { Actor, type Node, type PID, type Ref } from 'ergo-ts';
import { createWebServer, type WebServer } from 'ergo-ts/meta';
import { WebSocket } from 'ws';

import {
  MessageWebsocket,
  MessageWebsocketConnect,
  WebsocketHandler,
  WebsocketMessageType,
  type WebsocketHandlerOptions,
} from '../src/index.js';

/** Runs what a scenario asks in an actor (spawnMeta needs a process); keeps what it receives. */
class Host extends Actor {
  readonly seen: unknown[] = [];
  override handleMessage(_from: PID, message: unknown): void {
    this.seen.push(message);
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return (request as (h: Host) => unknown)(this) ?? null;
  }
}

async function serve(
  node: Node,
  options: WebsocketHandlerOptions,
  path?: string,
): Promise<{ web: WebServer; sockets: net.Socket[]; pid: PID }> {
  const pid = await node.spawn(Host, {});
  const web = await createWebServer({ host: '127.0.0.1', port: 0, handler: (_req, res) => res.end() });
  const ws = new WebsocketHandler(options);
  await node.call(pid, (h: Host) => {
    h.spawnMeta(web);
    h.spawnMeta(ws);
  });
  ws.attach(web, path);
  // The server-side sockets, to see them close (a 'close' listener handles no error).
  const sockets: net.Socket[] = [];
  web.server.on('connection', (s: net.Socket) => sockets.push(s));
  return { web, sockets, pid };
}

/**
 * A raw client sends an upgrade request, reads the refusal, then resets the connection (RST);
 * resolves once the server's side of it closed.
 */
async function upgradeThenReset(web: WebServer, sockets: net.Socket[], path: string): Promise<string> {
  const client = net.connect({ host: '127.0.0.1', port: web.port });
  client.on('error', () => undefined);
  await new Promise<void>((r) => client.once('connect', () => r()));
  client.write(
    `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  const answer = await new Promise<string>((r) => client.once('data', (d: Buffer) => r(d.toString('latin1'))));
  const server = sockets[sockets.length - 1]!;
  const closed = new Promise<void>((r) => (server.destroyed ? r() : server.once('close', () => r())));
  client.resetAndDestroy();
  await closed;
  return answer.slice(0, answer.indexOf('\r\n'));
}

/** Item 3: an upgrade refused by checkOrigin (403), then the client resets. */
export const refusedOriginReset = async ({ node }: { node: Node }): Promise<unknown> => {
  const { web, sockets } = await serve(node, { checkOrigin: () => false });
  return { status: await upgradeThenReset(web, sockets, '/') };
};

/** Item 3: an upgrade for a path nobody serves (404), then the client resets. */
export const refusedPathReset = async ({ node }: { node: Node }): Promise<unknown> => {
  const { web, sockets } = await serve(node, {}, '/ws');
  return { status: await upgradeThenReset(web, sockets, '/elsewhere') };
};

/**
 * Item 6: a checkOrigin that throws for a client without an Origin header (`new URL(undefined)`):
 * that upgrade is refused with 403 and logged; a client with an Origin still connects.
 */
export const checkOriginThrows = async ({ node }: { node: Node }): Promise<unknown> => {
  const { web } = await serve(node, { checkOrigin: (origin) => new URL(origin!).hostname === 'example.com' });
  const url = `ws://127.0.0.1:${web.port}/`;
  const refused = await new Promise<string>((resolve) => {
    const c = new WebSocket(url);
    c.on('error', (e) => resolve(e.message));
    c.on('open', () => resolve('opened'));
  });
  const accepted = await new Promise<string>((resolve) => {
    const c = new WebSocket(url, { origin: 'http://example.com' });
    c.on('error', (e) => resolve(e.message));
    c.on('open', () => {
      resolve('opened');
      c.close();
    });
  });
  return { refused, accepted };
};

/**
 * A Ping over 125 bytes is dropped (logged) and a Close with a reason over 123 bytes closes with
 * 1000 without it: the client sees a normal close, not the 1001 of a meta that panicked.
 */
export const closeReasonTooLong = async ({ node }: { node: Node }): Promise<unknown> => {
  const { web, pid } = await serve(node, {});
  const client = new WebSocket(`ws://127.0.0.1:${web.port}/`);
  const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
  await new Promise<void>((r) => client.once('open', () => r()));
  const conn = await eventually(
    async () =>
      (await node.call(pid, (h: Host) => h.seen.find((m) => m instanceof MessageWebsocketConnect))) as
        MessageWebsocketConnect | undefined,
    'the connection to reach its process',
    { timeoutMs: 30_000 },
  );
  const id = conn.id;
  await node.call(pid, (h: Host) => {
    // Both over their protocol limits (125 bytes of ping payload, 123 of close reason).
    h.send(id, new MessageWebsocket(Buffer.alloc(200), WebsocketMessageType.Ping));
    h.send(id, new MessageWebsocket('x'.repeat(200), WebsocketMessageType.Close));
  });
  return { code: await closed };
};
